"""Attempt lines to the recorder: the stage's recorder function and each partner's subscription filter.

A partner's handler writes each attempt record as one marked JSON log line
(:mod:`hookrelay.attempts.lines`); CloudWatch Logs hands the marked lines of its log group to the stage's
recorder (the provisioner app's ``record_attempt_lines``, :func:`recorder_function`) through the
subscription filter :data:`~hookrelay.attempts.lines.FILTER_NAME`. What is made here:

- per partner, :func:`ensure_attempt_filter` right after its log group (create), and once for a partner
  made before the filter existed (the rollout's per-partner step, marked ``attempt_filter_at`` on its item
  so a later rollout makes no call). Deleting the log group deletes its filters.
- per stage, :func:`ensure_recorder_wiring` (after the recorder exists: the local bootstrap, and
  ``make deploy`` after `chalice deploy` of the provisioner): ONE resource-policy statement letting
  ``logs.amazonaws.com`` invoke the recorder for any of the stage's partner log groups (a wildcard
  SourceArn, never one statement per partner: a function's policy holds 20 KB), and the recorder's async
  invoke config: Lambda's two retries, then the event (the batch of lines) to the results DLQ, so lines
  the recorder could not write wait there, watched by the results DLQ alarm.

Quotas (docs/scale.md): two subscription filters per log group (hookrelay uses one); PutSubscriptionFilter
5 requests per second per account and region (adjustable), hence a filter is put once per partner.
"""

from __future__ import annotations

import json

from hookrelay import naming
from hookrelay.attempts.lines import FILTER_NAME, FILTER_PATTERN, LOG_GROUP_PREFIX
from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.errors import DependencyUnavailable
from hookrelay.provisioning.resources.queues import find_queue_url, queue_arn

RECORDER = "record_attempt_lines"  # the provisioner app's function (app.record_attempt_lines)
PROVISIONER_APP_NAME = "hookrelay-provisioner"  # provisioner/.chalice/config.json's app_name
PERMISSION_ID = "hookrelay-partner-log-groups"
MAX_RETRIES = 2  # Lambda's most for an asynchronous invocation (a subscription invokes asynchronously)
MAX_EVENT_AGE_SECONDS = 6 * 3600  # Lambda's most: lines are kept trying for as long as Lambda allows


def recorder_function(stage: str) -> str:
    """The recorder's function name: the one `chalice deploy` gives ``app.record_attempt_lines`` of the
    provisioner app (``<app_name>-<stage>-<name>``); the local bootstrap makes it under the same name."""
    return f"{PROVISIONER_APP_NAME}-{stage}-{RECORDER}"


def recorder_handler() -> str:
    return f"app.{RECORDER}"


def find_recorder_arn(stage: str, clients: Clients) -> str:
    """The recorder's ARN (one GetFunction; the provisioner caches it); DependencyUnavailable if missing."""
    name = recorder_function(stage)
    try:
        return str(clients.lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):
            raise DependencyUnavailable(
                f"the attempt recorder {name} does not exist: deploy the provisioner app (make deploy)"
            ) from exc
        raise aws_error(f"find the attempt recorder {name}", exc) from exc


def ensure_attempt_filter(log_group: str, recorder_arn: str, clients: Clients) -> None:
    """Put (create or replace: idempotent) the attempt-lines subscription filter on ``log_group``."""
    try:
        clients.logs.put_subscription_filter(
            logGroupName=log_group,
            filterName=FILTER_NAME,
            filterPattern=FILTER_PATTERN,
            destinationArn=recorder_arn,
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"subscribe the recorder to {log_group}", exc) from exc


def partner_log_groups_arn(stage: str, recorder_arn: str) -> str:
    """Every partner log group of the stage (``/aws/lambda/hookrelay-<stage>-*``), in the recorder's
    account and region, as a subscription's SourceArn names it (``...:log-group:<name>:*``)."""
    _, partition, _, region, account, _ = recorder_arn.split(":", 5)
    groups = f"{LOG_GROUP_PREFIX}{naming.prefix(stage)}-*"
    return f"arn:{partition}:logs:{region}:{account}:log-group:{groups}:*"


def ensure_recorder_wiring(stage: str, clients: Clients) -> str:
    """Let CloudWatch Logs invoke the recorder for the stage's partner log groups, and send what it
    cannot record (after Lambda's retries) to the results DLQ; return the recorder's ARN. Idempotent."""
    arn = find_recorder_arn(stage, clients)
    account = arn.split(":")[4]
    if not _has_statement(arn, clients):
        _add_permission(stage, arn, account, clients)
    dlq = find_queue_url(naming.results_dead_letter_queue(stage), clients)
    if dlq is None:
        missing = naming.results_dead_letter_queue(stage)
        raise DependencyUnavailable(f"the results DLQ {missing} does not exist: run ensure_shared first")
    try:
        clients.lambda_.put_function_event_invoke_config(  # create or replace
            FunctionName=arn,
            MaximumRetryAttempts=MAX_RETRIES,
            MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS,
            DestinationConfig={"OnFailure": {"Destination": queue_arn(dlq, clients)}},
        )
    except AWS_ERRORS as exc:
        raise aws_error(f"set the on-failure destination of {arn}", exc) from exc
    return arn


def _has_statement(function_arn: str, clients: Clients) -> bool:
    """Whether the function's resource policy has hookrelay's statement (GetPolicy: not the control plane)."""
    try:
        policy = json.loads(clients.lambda_.get_policy(FunctionName=function_arn)["Policy"])
    except AWS_ERRORS as exc:
        if has_code(exc, "ResourceNotFoundException"):  # no policy yet
            return False
        raise aws_error(f"read the resource policy of {function_arn}", exc) from exc
    return any(statement.get("Sid") == PERMISSION_ID for statement in policy.get("Statement", []))


def _add_permission(stage: str, arn: str, account: str, clients: Clients) -> None:
    try:
        clients.lambda_.add_permission(
            FunctionName=arn,
            StatementId=PERMISSION_ID,
            Action="lambda:InvokeFunction",
            Principal="logs.amazonaws.com",
            SourceArn=partner_log_groups_arn(stage, arn),
            SourceAccount=account,
        )
    except AWS_ERRORS as exc:
        if not has_code(exc, "ResourceConflictException"):  # the statement is there already
            raise aws_error(f"let CloudWatch Logs invoke {arn}", exc) from exc
