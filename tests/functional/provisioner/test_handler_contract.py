"""The provisioner's contract with the handler, end to end on moto and a real loopback server.

publish -> partner queue -> the handler core, configured from the created function's environment
and reading the secret from Secrets Manager -> a signed POST -> the attempt's marked log line, in the
function's log group -> the subscription event CloudWatch Logs makes of it -> the recorder -> the attempt log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hookrelay import naming
from hookrelay.attempts import lines
from hookrelay.attempts.log import AttemptLog, list_deliveries, record_log_attempts
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.deps import build_deps
from hookrelay.delivery.report import ATTEMPT_LOGGER
from hookrelay.models import Outcome
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.publish import PublishRequest
from hookrelay.settings import HandlerSettings
from hookrelay.signing.standard import verify
from hookrelay_local.partner_server import PartnerServer
from tests.support.handler_stack import AttemptLines
from tests.support.sqs import drain, sqs_event

from .conftest import STAGE, aws


def test_a_published_event_is_delivered_signed_and_logged(
    ctx: Provisioner, make_partner: Any, partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN a partner created for a real HTTP server on loopback, and one event published to it
    server = partner_server()
    secret = make_partner("acme", url=server.url).secret.get_secret_value()
    ctx.publisher.publish("acme", PublishRequest(topic="invoice.paid", payload={"n": 1}, id="order-1"))
    function = aws("lambda").get_function(FunctionName=naming.partner_function(STAGE, "acme"))
    settings = HandlerSettings.from_environment(function["Configuration"]["Environment"]["Variables"])
    queue_url = aws("sqs").get_queue_url(QueueName=naming.partner_queue(STAGE, "acme"))["QueueUrl"]
    (message,) = drain(aws("sqs"), queue_url)
    # WHEN the handler core runs that message with the function's settings
    deps = build_deps(settings, sqs=aws("sqs"), secretsmanager=aws("secretsmanager"))
    written = AttemptLines()  # the JSON lines the function writes, as its log group gets them
    logging.getLogger(ATTEMPT_LOGGER).addHandler(written)
    try:
        assert handle_batch(sqs_event([message["Body"]]), deps) == {"batchItemFailures": []}
    finally:
        logging.getLogger(ATTEMPT_LOGGER).removeHandler(written)
    # THEN the partner got one POST that verifies with the secret create returned
    (received,) = server.requests_snapshot()
    assert verify(secret, received.headers, received.body).webhook_id == "order-1"
    # AND the attempt, recorded from the subscription event of the function's log group, is the
    # partner's latest delivery
    group = "/aws/lambda/" + function["Configuration"]["FunctionName"]
    events = [{"id": str(i), "timestamp": 1, "message": line} for i, line in enumerate(written.lines)]
    batch = lines.LogsBatch.model_validate(
        {"messageType": lines.DATA_MESSAGE, "logGroup": group, "logEvents": events}
    )
    log = AttemptLog(STAGE, clients=ctx.clients)
    assert record_log_attempts(lines.encode(batch), log) == 1
    (latest,) = list_deliveries(log, "acme").items
    assert (latest.webhook_id, latest.outcome, latest.status_code) == ("order-1", Outcome.DELIVERED, 200)
