"""AWS, thinly: lazy cached boto3 clients (``clients``), the one botocore-error-to-domain-error
mapping (``errors``), SQS sends and queue lookups (``sqs``) and the Lambda SQS event as pydantic
models (``sqs_event``); ``wire``, the lean caller of SQS and Secrets Manager (their JSON protocol over
urllib3, SigV4-signed as botocore signs: ``sigv4``) that the delivery handler uses instead of botocore's
clients.

Owns nothing stateful beyond the client cache. May import the kernel only (errors, models, naming,
settings, observability, caching, retry, ssrf) and boto3/botocore.
"""
