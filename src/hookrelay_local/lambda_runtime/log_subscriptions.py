"""CloudWatch Logs subscriptions to Lambda, emulated for the functions the local runtime runs.

On AWS, what a function logs goes to its log group ``/aws/lambda/<function>``, and a subscription filter
on that group hands the matching lines to a destination function, invoked asynchronously with the
``awslogs`` event (:func:`hookrelay.attempts.lines.encode`). hookrelay's handlers write their attempt
records that way (issue 15), so the local stack needs it too. moto stores subscription filters (and checks
that a Lambda destination exists) but would deliver only on ``PutLogEvents``, by invoking the function
with Docker; nothing here calls ``PutLogEvents``, so nothing reaches moto's invoke or Docker.

- **Capture.** :meth:`LogSubscriptions.wrap` wraps each invoker: while a function runs, the lines it logs
  (every ``logging`` record of the invocation's context, the delivery threads' included: the handler
  runs them in a copy of its context) are formatted as the handler's JSON formatter writes them and kept
  for its log group, if that group has a subscription.
- **Filters, read rarely.** A log group's filters are read (one ``DescribeSubscriptionFilters``) when the
  runtime first runs a function's version (a function discovered, or its code or configuration changed:
  the provisioner subscribes a partner's log group before its function exists or its code moves), never
  per tick or per invocation. Patterns: see :mod:`.log_filters` (one unsupported is said once and
  delivers nothing).
- **Delivery.** Every ``flush_interval_s`` (0.5 s), or as soon as ``max_lines`` (100) wait, the lines of
  each subscription are sent as one event to the destination function's local invoker (chosen by its
  ``Handler``, as the pollers choose). As Lambda does for an asynchronous invocation, an error is retried
  ``MaximumRetryAttempts`` times (the function's event invoke config; 2 without one), then the event goes
  to its ``OnFailure`` destination (an SQS queue) as Lambda's invocation record, or is dropped (logged).
  Retries wait ``retry_delays_s`` (Lambda waits about 1 and 2 minutes; locally 0.5 and 1 s).
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookrelay.attempts.lines import DATA_MESSAGE, LOG_GROUP_PREFIX, LogEvent, LogsBatch, encode
from hookrelay.aws.errors import AWS_ERRORS, error_code, has_code
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay.observability import JsonFormatter
from hookrelay_local.lambda_runtime.invokers import FunctionConfig, Invoker
from hookrelay_local.lambda_runtime.log_filters import Subscription, UnsupportedPattern

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 2  # Lambda's retries of an asynchronous invocation without an event invoke config
_capturing: contextvars.ContextVar[str | None] = contextvars.ContextVar("hookrelay_log_group", default=None)


@dataclass
class _Destination:
    function: FunctionConfig
    invoker: Invoker
    retries: int = DEFAULT_RETRIES
    on_failure: str | None = None  # an SQS queue's ARN


@dataclass
class SubscriptionCounters:
    lines: int = 0  # lines delivered (in an invocation that succeeded)
    invocations: int = 0  # destination invocations, retries included
    failed: int = 0  # events that failed every attempt
    dead_lettered: int = 0  # of those, kept in the on-failure destination


@dataclass
class _Pending:
    subscription: Subscription
    events: list[LogEvent] = field(default_factory=list)


class _Capture(logging.Handler):
    def __init__(self, owner: LogSubscriptions) -> None:
        super().__init__(level=logging.NOTSET)
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        group = _capturing.get()
        if group is not None:
            self.owner.offer(group, record)


class LogSubscriptions:
    """Captures the lines of the functions the runtime runs and delivers them to their subscriptions."""

    def __init__(
        self,
        logs: Any,
        lambda_: Any,
        sqs: Any,
        invokers: Mapping[str, Invoker],
        *,
        flush_interval_s: float = 0.5,
        max_lines: int = 100,
        retry_delays_s: tuple[float, ...] = (0.5, 1.0),
        service: str = "handler",
    ) -> None:
        self._logs, self._lambda, self._sqs, self._invokers = logs, lambda_, sqs, invokers
        self.flush_interval_s = flush_interval_s  # a subscription's lines wait at most this long
        self.max_lines = max_lines  # ... or until this many wait
        self.retry_delays_s = retry_delays_s  # between a failed invocation and its retry
        self._formatter = JsonFormatter(service)
        self._capture = _Capture(self)
        self._lock = threading.Lock()
        self._filters: dict[str, tuple[Subscription, ...]] = {}  # by log group
        self._read: dict[str, str] = {}  # function name -> the version its group's filters were read for
        self._pending: dict[tuple[str, str], _Pending] = {}  # by (log group, filter name)
        self._destinations: dict[str, _Destination | None] = {}
        self._said: set[str] = set()
        self._next_id = 0
        self._streams: dict[str, str] = {}
        self.counters = SubscriptionCounters()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="log-subscription")
        self._thread = threading.Thread(target=self._flush_forever, name="log-subscriptions", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LogSubscriptions:
        logging.getLogger().addHandler(self._capture)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop capturing, deliver what waits (its retries included, bounded by the pool's shutdown)."""
        logging.getLogger().removeHandler(self._capture)
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.flush()
        self._pool.shutdown(wait=True)

    # -- capture -------------------------------------------------------------------------------------

    def wrap(self, invoker: Invoker) -> Invoker:
        """``invoker``, whose invocations' lines are captured for the function's log group."""

        def invoke(event: dict[str, Any], function: FunctionConfig) -> Any:
            group = self._group_of(function)
            token = _capturing.set(group)
            try:
                return invoker(event, function)
            finally:
                _capturing.reset(token)

        return invoke

    def _group_of(self, function: FunctionConfig) -> str | None:
        """The function's log group if it has a subscription (its filters read once per version)."""
        group = f"{LOG_GROUP_PREFIX}{function.name}"
        with self._lock:
            known = self._read.get(function.name) == function.version
        if not known:
            filters = self._read_filters(group)
            with self._lock:
                self._filters[group] = filters
                self._read[function.name] = function.version
        return group if self._filters.get(group) else None

    def _read_filters(self, group: str) -> tuple[Subscription, ...]:
        try:
            entries = self._logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        except AWS_ERRORS as exc:
            if not has_code(exc, "ResourceNotFoundException"):
                logger.warning(
                    "cannot read subscription filters", extra={"log_group": group, "error": repr(exc)}
                )
            return ()
        found: list[Subscription] = []
        for entry in entries:
            try:
                subscription = Subscription.from_api(entry)
            except UnsupportedPattern as exc:
                self._say_once(f"{group}|{entry.get('filterName')}", str(exc), log_group=group)
                continue
            if ":lambda:" not in subscription.destination_arn:
                self._say_once(
                    f"{group}|{subscription.name}",
                    "subscription destination is not a Lambda function: not emulated",
                    log_group=group,
                )
                continue
            found.append(subscription)
        return tuple(found)

    def offer(self, group: str, record: logging.LogRecord) -> None:
        """A line logged during an invocation of ``group``'s function: kept for each filter it matches."""
        subscriptions = self._filters.get(group, ())
        if not subscriptions:
            return
        line = self._formatter.format(record)
        matched = [s for s in subscriptions if s.pattern.matches(line)]
        full = False
        with self._lock:
            for subscription in matched:
                self._next_id += 1
                event = LogEvent(
                    id=f"{self._next_id:056d}", timestamp=int(record.created * 1000), message=line
                )
                pending = self._pending.setdefault((group, subscription.name), _Pending(subscription))
                pending.events.append(event)
                full = full or len(pending.events) >= self.max_lines
        if full:
            self._wake.set()

    # -- delivery ------------------------------------------------------------------------------------

    def _flush_forever(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Hand every waiting line to its destination (in events of at most ``max_lines``)."""
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for batch in pending:
            events = batch.events
            for start in range(0, len(events), self.max_lines):
                chunk = events[start : start + self.max_lines]
                if self._pool_open():
                    self._pool.submit(self._deliver, batch.subscription, chunk)
                else:
                    self._deliver(batch.subscription, chunk)

    def _pool_open(self) -> bool:
        return not self._stopping.is_set() or self._thread.is_alive()

    def _deliver(self, subscription: Subscription, events: list[LogEvent]) -> None:
        destination = self._destination(subscription.destination_arn)
        if destination is None:
            return
        batch = LogsBatch(
            message_type=DATA_MESSAGE,
            owner=subscription.destination_arn.split(":")[4],
            log_group=subscription.log_group,
            log_stream=self._stream(subscription.log_group),
            subscription_filters=[subscription.name],
            log_events=events,
        )
        event = encode(batch)
        error: BaseException | None = None
        for attempt in range(destination.retries + 1):
            with self._lock:
                self.counters.invocations += 1
            try:
                destination.invoker(event, destination.function)
            except Exception as exc:
                error = exc
                logger.warning(
                    "subscription destination failed",
                    extra={"function": destination.function.name, "attempt": attempt + 1, "error": repr(exc)},
                )
                if attempt < destination.retries:
                    time.sleep(self.retry_delays_s[min(attempt, len(self.retry_delays_s) - 1)])
                continue
            with self._lock:
                self.counters.lines += len(events)
            return
        self._failed(destination, event, error, destination.retries + 1)

    def _failed(
        self, destination: _Destination, event: dict[str, Any], error: BaseException | None, tries: int
    ) -> None:
        with self._lock:
            self.counters.failed += 1
        if destination.on_failure is None or ":sqs:" not in destination.on_failure:
            logger.error(
                "subscription event dropped after its retries",
                extra={"function": destination.function.name, "on_failure": destination.on_failure},
            )
            return
        record = {  # Lambda's record of an asynchronous invocation that failed
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{destination.function.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": tries,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
        }
        _arn, _aws, _sqs, _region, account, name = destination.on_failure.split(":", 5)
        try:
            url = lookup_queue_url(name, self._sqs, owner=account)
            self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        except Exception as exc:
            logger.error(
                "cannot send to the on-failure destination", extra={"queue": name, "error": repr(exc)}
            )
            return
        with self._lock:
            self.counters.dead_lettered += 1

    def _destination(self, arn: str) -> _Destination | None:
        """The destination function, its local invoker and its async settings (read once)."""
        if arn in self._destinations:
            return self._destinations[arn]
        found: _Destination | None = None
        try:
            function = FunctionConfig.from_api(
                self._lambda.get_function_configuration(FunctionName=arn), None
            )
            invoker = self._invokers.get(function.handler)
            if invoker is None:
                self._say_once(
                    arn, "no local invoker for the subscription's destination", handler=function.handler
                )
            else:
                found = _Destination(function, invoker, *self._async_config(arn))
        except AWS_ERRORS as exc:
            self._say_once(arn, "cannot read the subscription's destination", error=error_code(exc))
        self._destinations[arn] = found
        return found

    def _async_config(self, arn: str) -> tuple[int, str | None]:
        try:
            config = self._lambda.get_function_event_invoke_config(FunctionName=arn)
        except AWS_ERRORS as exc:
            if has_code(exc, "ResourceNotFoundException"):
                return DEFAULT_RETRIES, None
            raise
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES))
        return retries, config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")

    def _stream(self, group: str) -> str:
        with self._lock:
            if group not in self._streams:
                self._streams[group] = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
            return self._streams[group]

    def _say_once(self, key: str, message: str, **extra: Any) -> None:
        if key not in self._said:
            self._said.add(key)
            logger.warning(message, extra={"subscription": key, **extra})
