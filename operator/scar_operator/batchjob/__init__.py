"""ScarBatchJob: every object uploaded to an input becomes one AWS Batch job.

spec.py       the kind's typed spec (its CRD is generated from it)
desired.py    the desired AWS state: compute environment, queue, job definition, dispatcher, roles
resources.py  the managed AWS resources in dependency order
controller.py one reconcile or teardown pass: parse, plan, apply, report
"""
