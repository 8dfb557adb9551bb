"""hookrelay receiver: what a partner deploys to accept hookrelay webhooks safely.

``POST <HOOKRELAY_RECEIVER_PATH>`` verifies, deduplicates and queues a webhook (hookrelay.receiving.receive);
``inbox`` consumes that queue and hands each webhook to ``process_webhook``: replace it with your own.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Chalice, Response

from hookrelay.errors import HookrelayError
from hookrelay.observability import configure_logging, invocation
from hookrelay.receiving.inbox import Processor, consume, log_webhook
from hookrelay.receiving.receive import IncomingRequest, Receiver, build_receiver, receive, receiver_settings

settings = receiver_settings()
app = Chalice(app_name="hookrelay-receiver")
logger = logging.getLogger("hookrelay.receiver")

# Your processing: a function taking one hookrelay.receiving.inbox.ReceivedWebhook; raise to retry it.
process_webhook: Processor = log_webhook

_built: dict[str, Receiver] = {}


def receiver() -> Receiver:
    """Built on the first request, reused while the container lives."""
    if "receiver" not in _built:
        configure_logging("receiver", settings.log_level)
        _built["receiver"] = build_receiver(settings)
    return _built["receiver"]


def use_receiver(built: Receiver) -> None:
    """Serve with an explicitly built receiver (tests, the local stack: clients on another endpoint)."""
    _built["receiver"] = built


def _error(status: int, code: str, message: str) -> Response:
    return Response(body={"error": code, "message": message}, status_code=status)


@app.route(settings.receiver_path, methods=["POST"], content_types=["*/*"])
def webhook() -> Response:
    request = app.current_request
    with invocation(app.lambda_context):
        return _webhook(request)


def _webhook(request: Any) -> Response:
    try:
        accepted = receive(IncomingRequest.from_parts(request.headers, request.raw_body), receiver())
    except HookrelayError as exc:
        if exc.status_code >= 500:  # the sender is not authenticated yet: no names of our resources
            logger.error("webhook not accepted", extra={"error": exc.code, "reason": exc.message})
            return _error(exc.status_code, exc.code, "temporarily unavailable; retry later")
        return _error(exc.status_code, exc.code, exc.message)
    except Exception:
        logger.exception("unexpected error receiving a webhook")
        return _error(500, "internal_error", "internal error")
    return Response(body=accepted.response_body(), status_code=200)


@app.on_sqs_message(queue=settings.receiver_queue_name, batch_size=10)
def inbox(event: Any) -> dict[str, Any]:
    configure_logging("receiver", settings.log_level)
    with invocation(event.context):
        return consume(
            event.to_dict(),
            process_webhook,
            partial_batch=settings.receiver_partial_batch,
            sqs=_built["receiver"].sqs if "receiver" in _built else None,  # the local stack's, else default
        )
