"""The embedded AWS: moto's server on loopback, with five behaviours of moto's mended (the fifth, FIFO
groups handed out ahead of their earlier messages, in :mod:`hookrelay_local.moto_fifo`), and what its
server costs per request trimmed (:mod:`hookrelay_local.moto_serving`: no directory listing per request).

- moto runs SQS event source mappings itself, inside ``SendMessage``: without Docker it "invokes" the
  function (the code never runs) and deletes the messages as if they were processed. hookrelay's local
  Lambda runtime is the poller, so :func:`keep_moto_from_consuming` leaves the mappings stored (they
  are listed, described and updated as on AWS) but never acted on by moto.
- moto's long poll wakes and re-scans its queue once a second, whatever happens: a message whose
  ``DelaySeconds`` or visibility timeout ends is received up to a second late (SQS hands it to a waiting
  long poll at once; a 1, 2, 4 s retry schedule measured 2, 2, 3 s gaps), and 1,000 idle long polls are
  1,000 wake-ups and scans a second that slow every other request moto serves. Mended
  (:func:`_wake_long_polls_when_due`): a waiting long poll wakes when a message is sent to its queue or
  has its visibility changed, when the queue's next delayed or in-flight message is due, or when the
  poll's ``WaitTimeSeconds`` ends, whichever is first: an idle long poll of 20 s wakes twice, not 20
  times (``long_polls.waits(queue_name)`` counts the wake-ups).
- A mapping made (or updated) against an alias keeps pointing at the alias, as on AWS: moto stores the
  version the alias points at that moment (``<function>:1``), so a mapping on ``:live`` would never
  follow the alias to a new version.
- Version numbers are never reused, as on AWS: moto numbers a new version ``len(versions) + 1``, so after
  pruning old versions it would publish a number that already exists.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import ItemsView
from typing import Any

from hookrelay_local.moto_fifo import keep_fifo_groups_in_order
from hookrelay_local.moto_serving import cache_moto_modules

_patched = threading.Lock()
_publishing = threading.Lock()
_applied = False


class _StoredNotRun(dict[str, Any]):
    """A queue's mapping table that moto's SendMessage iterates over and finds empty."""

    def items(self) -> ItemsView[str, Any]:
        return {}.items()


def keep_moto_from_consuming() -> None:
    """Patch moto (in this process) so event source mappings never consume queue messages."""
    global _applied
    with _patched:
        if _applied:
            return
        from moto.sqs import models

        original_init = models.Queue.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self.lambda_event_source_mappings = _StoredNotRun()

        models.Queue.__init__ = init  # type: ignore[method-assign]
        keep_fifo_groups_in_order()  # before the wake-ups: what it puts back wakes the queue's long polls
        _wake_long_polls_when_due(models)
        _keep_alias_in_mappings()
        _number_versions_like_aws()
        cache_moto_modules()
        _applied = True


class LongPolls:
    """How many times moto's long polls in this process have waited, by queue name (each wait ends in
    one wake-up and one rescan of the queue)."""

    def __init__(self) -> None:
        self._waits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def waited(self, queue_name: str) -> None:
        with self._lock:
            self._waits[queue_name] += 1

    def waits(self, queue_name: str) -> int:
        with self._lock:
            return self._waits[queue_name]


long_polls = LongPolls()
_poll = threading.local()  # .ends: when this thread's long poll ends (unix seconds), None if none
DUE_MARGIN_S = 0.05  # messages received together (hidden until within ms of each other) return together
END_MARGIN_S = 0.02  # a poll wakes just past its end, so moto's ``now > polling_end`` holds


def _wake_long_polls_when_due(models: Any) -> None:
    """A long poll waits for a send or a visibility change on its queue, the queue's next hidden
    message's due time, or its own end; not moto's one second (see the module docstring)."""
    original_wait = models.Queue.wait_for_messages
    original_receive = models.SQSBackend.receive_message
    original_change = models.SQSBackend.change_message_visibility

    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *a: Any, **k: Any
    ) -> Any:
        _poll.ends = models.unix_time() + wait_seconds_timeout if wait_seconds_timeout else None
        try:
            received = original_receive(self, queue_name, count, wait_seconds_timeout, *a, **k)
        finally:
            _poll.ends = None
        queue = self.queues.get(queue_name) if received else None  # (deleted meanwhile: nobody waits)
        if queue is not None and queue.fifo_queue:  # moto_fifo may have put messages back: visible again
            _notify(queue)
        return received

    def wait_for_messages(self: Any, timeout: float) -> None:
        ends = getattr(_poll, "ends", None)
        wait = timeout if ends is None else max(0.0, ends - models.unix_time()) + END_MARGIN_S
        now = models.unix_time_millis()
        due = [
            at
            for message in list(self._messages)
            for at in (message.delayed_until, message.visible_at)
            if at > now
        ]
        if due:
            wait = min(wait, (min(due) - now) / 1000 + DUE_MARGIN_S)
        long_polls.waited(self.name)
        if ends is None:
            original_wait(self, wait)
            return
        with self._messages_lock:  # one wait: any notify (a send, a visibility change) rescans at once
            if not self.messages:
                self._messages_lock.wait(wait)

    def change_message_visibility(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> None:
        original_change(self, queue_name, *args, **kwargs)
        queue = self.queues.get(queue_name)  # visible again, or due sooner: a waiting long poll rescans
        if queue is not None:
            _notify(queue)

    models.Queue.wait_for_messages = wait_for_messages
    models.SQSBackend.receive_message = receive_message
    models.SQSBackend.change_message_visibility = change_message_visibility


def _notify(queue: Any) -> None:
    with queue._messages_lock:
        queue._messages_lock.notify_all()


def _alias_arn(backend: Any, function_name: str) -> str | None:
    """The alias ARN a mapping's FunctionName names (``name:alias`` or an alias ARN), else None."""
    name, _, qualifier = function_name.rsplit(":function:", 1)[-1].partition(":")
    if not qualifier or qualifier.isdigit() or qualifier == "$LATEST":
        return None
    return f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{name}:{qualifier}"


def _keep_alias_in_mappings() -> None:
    from moto.awslambda.models import LambdaBackend

    create, update = LambdaBackend.create_event_source_mapping, LambdaBackend.update_event_source_mapping

    def create_keeping_alias(self: Any, spec: dict[str, Any]) -> Any:
        given = spec.get("FunctionName", "")
        mapping = create(self, spec)
        mapping.function_arn = _alias_arn(self, given) or mapping.function_arn
        return mapping

    def update_keeping_alias(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        mapping = update(self, uuid, spec)
        if mapping is not None and "FunctionName" in spec:
            mapping.function_arn = _alias_arn(self, spec["FunctionName"]) or mapping.function_arn
        return mapping

    LambdaBackend.create_event_source_mapping = create_keeping_alias  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = update_keeping_alias  # type: ignore[method-assign]


def start_moto_server(port: int = 0, host: str = "127.0.0.1") -> Any:
    """Start moto's threaded server on loopback; return it (``.stop()``, ``endpoint_url(server)``)."""
    keep_moto_from_consuming()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def endpoint_url(server: Any) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def queue_messages(queue_url: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every message on a queue of the moto running in THIS process (visible, delayed or in flight), as
    ``{"body", "attributes" (string message attributes), "in_flight"}``, without receiving any (a receive
    would raise ``ApproximateReceiveCount`` and could itself redrive what it looks at)."""
    from urllib.parse import urlsplit

    from moto.sqs.models import sqs_backends

    account, name = urlsplit(queue_url).path.strip("/").split("/")[-2:]
    queue = sqs_backends[account][region].queues[name]
    return [
        {
            "body": m.body,
            "attributes": {k: v.get("StringValue", "") for k, v in m.message_attributes.items()},
            "in_flight": not m.visible,
        }
        for m in list(queue._messages)
    ]


def _number_versions_like_aws() -> None:
    import copy

    from moto.awslambda import models

    def publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
        with _publishing:  # moto's server is threaded: two publishes of one function get two numbers
            return publish_locked(self, name_or_arn, description)

    def publish_locked(self: Any, name_or_arn: str, description: str) -> Any:
        function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        stored = self._functions.get(function.function_name)
        if not stored or not stored["latest"]:
            return None
        published = stored["versions"]
        if published and not function.code_or_config_updated:
            return published[-1]  # nothing changed: AWS answers the newest version
        function.code_or_config_updated = False
        fn = copy.copy(stored["latest"])
        fn.set_version(max((int(v.version) for v in published), default=0) + 1)
        if description:
            fn.description = description
        published.append(fn)
        self._arns[fn.function_arn] = fn
        return fn

    models.LambdaStorage.publish_version = publish_version  # type: ignore[method-assign]
