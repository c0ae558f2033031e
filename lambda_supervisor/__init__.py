"""The code that runs inside every SCAR Lambda invocation and Batch job.

It downloads the S3 object that triggered it, runs the user's script, and uploads what the
script wrote. It imports nothing from the operator: it ships alone inside function images.
"""
