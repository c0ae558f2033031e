"""ScarFunction: one AWS Lambda function running a container image with the supervisor inside.

desired.py    the desired AWS state, plain data built by pure functions from the spec (models.py)
resources.py  the managed AWS resources in dependency order: bucket, log group, role, function, URL, triggers
controller.py one reconcile or teardown pass: parse, plan, apply, report
"""
