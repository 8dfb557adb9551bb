"""The local Lambda runtime: runs the SQS-triggered functions stored in the embedded AWS.

``runtime`` discovers mappings and functions, ``poller`` emulates Lambda's SQS poller for one mapping
(batches, visibility, partial batch failures, concurrency), ``invokers`` runs a function's handler
in-process, ``events`` builds the SQS event Lambda would, ``stats`` counts. Never deployed.
"""
