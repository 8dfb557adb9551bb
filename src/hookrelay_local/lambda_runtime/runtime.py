"""The local Lambda runtime: runs the SQS-triggered functions stored in the embedded AWS (moto).

moto stores functions and event source mappings but never runs them (see embedded_aws). This runtime
reads them through the Lambda API every ``discovery_interval_s`` at a cost that does not grow with
the partners (see discovery): a new enabled SQS mapping gets a
:class:`~hookrelay_local.lambda_runtime.poller.MappingPoller` at once; a disabled or deleted one is
stopped (its batches in flight finish); a changed mapping applies on the next tick, a changed function
(code, environment, timeout) after the next function sweep, a concurrency-only change when its
turn to be re-read comes (``rereads_per_tick``); an alias-qualified mapping runs the alias's version.
A mapping whose queue is gone (QueueDoesNotExist) is stopped with one log line and tried again only
when the mapping changes or after ``gone_retry_s``. Functions run in-process through an invoker
chosen by their ``Handler`` (see invokers). All pollers share one SQS client whose pool fits them all,
and receive through one lean receiver (see receive). What a function logs reaches its log group's
subscriptions (CloudWatch Logs to Lambda, emulated: see log_subscriptions), unless
``log_subscriptions=False``.

    runtime = LocalLambdaRuntime("http://127.0.0.1:5000").start()
    ...
    runtime.counters()   # {function name: FunctionCounters}
    runtime.stop()

Command line (``__main__``; runs until SIGINT or SIGTERM):

    python -m hookrelay_local.lambda_runtime --endpoint-url http://127.0.0.1:5000 [--region us-east-1]
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from hookrelay.aws import clients as aws
from hookrelay.aws.wire import SecretsWire
from hookrelay_local.lambda_runtime.discovery import Discovery, Wanted
from hookrelay_local.lambda_runtime.invokers import FunctionConfig, Invoker, default_invokers
from hookrelay_local.lambda_runtime.listing import listing_lambda_client
from hookrelay_local.lambda_runtime.log_subscriptions import LogSubscriptions
from hookrelay_local.lambda_runtime.poller import MappingConfig, MappingPoller, PollerOptions
from hookrelay_local.lambda_runtime.receive import LeanReceiver
from hookrelay_local.lambda_runtime.stats import FunctionCounters, InvocationReport, RuntimeStats

logger = logging.getLogger(__name__)

POLL_POOL_CONNECTIONS = 10_000  # connections are opened on demand: this is a ceiling, not a cost


_session_lock = threading.Lock()
_session: list[boto3.session.Session] = []


def local_credentials() -> Credentials:
    """The keys every local client signs with (moto accepts any; tests' fakes are used if set)."""
    return Credentials(
        os.environ.get("AWS_ACCESS_KEY_ID") or "testing", os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing"
    )


def local_client(service: str, endpoint_url: str, region: str, pool: int | None = None) -> Any:
    """A client for the embedded AWS (moto accepts any credentials; tests' fakes are used if set).

    One shared boto3 session: it loads each service model once (a fresh session costs ~0.2 s a client).
    ``pool`` sets the client's connection pool size (default: the house's 50).
    """
    config = aws.CLIENT_CONFIG if pool is None else aws.CLIENT_CONFIG.merge(Config(max_pool_connections=pool))
    credentials = local_credentials()
    with _session_lock:
        if not _session:
            _session.append(boto3.session.Session())
        return _session[0].client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            config=config,
        )


class LocalLambdaRuntime:
    """Discovers SQS event source mappings and runs one poller per enabled mapping."""

    def __init__(
        self,
        endpoint_url: str,
        region: str = "us-east-1",
        *,
        invokers: Mapping[str, Invoker] | None = None,
        on_invocation: Callable[[InvocationReport], None] | None = None,
        discovery_interval_s: float = 1.0,
        options: PollerOptions | None = None,
        function_sweep_every: int = 5,
        gone_retry_s: float = 60.0,
        rereads_per_tick: int = 2,
        log_subscriptions: bool = True,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        # Every poller holds one long poll open, its batches delete and the handlers send, all through the
        # lean caller the handlers use in Lambda (aws.wire): one pool big enough for all of them, so
        # connections are reused and never discarded as overflow.
        self.receiver = LeanReceiver(endpoint_url, region, local_credentials(), POLL_POOL_CONNECTIONS)
        self._sqs = self.receiver.sqs
        secrets = SecretsWire(endpoint_url, region, local_credentials())
        self.invokers: dict[str, Invoker] = {
            **default_invokers(self.receiver.sqs, secrets, local_client("dynamodb", endpoint_url, region)),
            **(invokers or {}),
        }
        self.on_invocation = on_invocation
        self.discovery_interval_s = discovery_interval_s
        self.options = options or PollerOptions(region=region)
        self.stats = RuntimeStats()
        self._pollers: dict[str, MappingPoller] = {}
        self._retired: list[MappingPoller] = []
        credentials = local_credentials()
        lambda_ = listing_lambda_client(endpoint_url, region, credentials.access_key, credentials.secret_key)
        self.subscriptions: LogSubscriptions | None = None
        running: Mapping[str, Invoker] = self.invokers  # what the pollers call
        if log_subscriptions:  # each invocation's lines to its log group's subscriptions (the recorder)
            logs = local_client("logs", endpoint_url, region)
            self.subscriptions = LogSubscriptions(logs, lambda_, self._sqs, self.invokers)
            running = {h: self.subscriptions.wrap(i) for h, i in self.invokers.items()}
        self._discovery = Discovery(lambda_, running, function_sweep_every, rereads_per_tick)
        self.gone_retry_s = gone_retry_s
        self._gone: dict[str, tuple[MappingConfig, float]] = {}  # queue gone: mapping, when
        self._gone_said: set[str] = set()
        self._applied: Wanted | None = None  # what the last tick applied (discovery's object)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._discover_forever, name="lambda-discovery", daemon=True)

    # -- public API ----------------------------------------------------------------------------------

    def start(self) -> LocalLambdaRuntime:
        if self.subscriptions is not None:
            self.subscriptions.start()
        self.discover()
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop polling, wait (up to ``timeout_s``) for batches in flight; True if all finished."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._lock:
            pollers = [*self._pollers.values(), *self._retired]
            self._pollers.clear()
            self._retired.clear()
        for poller in pollers:
            poller.stop()
        deadline = time.monotonic() + timeout_s
        finished = all([poller.join(deadline) for poller in pollers])
        if not finished:
            logger.warning("stopped with batches still in flight; their messages stay on the queue")
        if self.subscriptions is not None:  # after the batches: their last lines are delivered too
            self.subscriptions.stop(timeout_s)
        return finished

    @property
    def lambda_client(self) -> Any:
        """The Lambda client discovery reads through (a bench or test may count its calls)."""
        return self._discovery.lambda_

    @property
    def sqs_client(self) -> Any:
        """The SQS caller every poller receives and deletes through and the handlers send through
        (``receiver.calls`` counts the receives)."""
        return self._sqs

    def counters(self) -> dict[str, FunctionCounters]:
        """Counters per function name (a snapshot)."""
        return self.stats.snapshot()

    def totals(self) -> FunctionCounters:
        return self.stats.totals()

    def polling(self) -> set[str]:
        """Names of the functions whose queues are being polled, or whose last batches still run."""
        with self._lock:
            pollers = [*self._pollers.values(), *self._retired]
        return {p.function.name for p in pollers if not p.done}

    def active_mappings(self) -> dict[str, MappingConfig]:
        """The mappings being polled now, by UUID."""
        with self._lock:
            return {uuid: poller.mapping for uuid, poller in self._pollers.items()}

    def active_functions(self) -> dict[str, FunctionConfig]:
        """The configuration the next batch of each polled function runs with, by function name."""
        with self._lock:
            return {poller.function.name: poller.function for poller in self._pollers.values()}

    # -- discovery -----------------------------------------------------------------------------------

    def _discover_forever(self) -> None:
        while not self._stopping.wait(self.discovery_interval_s):
            self.discover()

    def discover(self) -> None:
        """One round: start, update and stop pollers to match the Lambda API (O(1) calls, see discovery)."""
        try:
            wanted = self._discovery.wanted()
        except Exception as exc:
            logger.warning("cannot list event source mappings", extra={"error": repr(exc)})
            return
        with self._lock:
            if self._stopping.is_set():
                return
            self._apply(wanted)

    def _apply(self, wanted: Wanted) -> None:
        idle = wanted is self._applied and not self._gone  # (a parked mapping is tried again in time)
        if idle and not any(p.queue_gone for p in self._pollers.values()):
            self._retired = [p for p in self._retired if not p.done]  # an idle tick: nothing changed
            return
        self._applied = wanted
        for uuid in [u for u in self._pollers if u not in wanted or self._pollers[u].queue_gone]:
            retired = self._pollers.pop(uuid)
            retired.stop()
            self._retired.append(retired)
            if retired.queue_gone:
                self._gone[uuid] = (retired.mapping, time.monotonic())
                if uuid not in self._gone_said:  # one line, however often it is tried again
                    self._gone_said.add(uuid)
                    logger.warning(
                        "queue does not exist: polling stopped",
                        extra={"function": retired.function.name, "queue_arn": retired.mapping.queue_arn},
                    )
            else:
                logger.info(
                    "mapping disabled or deleted: polling stopped", extra={"function": retired.function.name}
                )
        for uuid in [u for u in self._gone if u not in wanted]:
            del self._gone[uuid]
        self._gone_said &= set(wanted)
        for uuid, (mapping, function, invoker) in wanted.items():
            poller = self._pollers.get(uuid)
            if poller is None and not self._parked(uuid, mapping):
                self._pollers[uuid] = MappingPoller(
                    mapping,
                    function,
                    invoker,
                    self._sqs,
                    self.receiver,
                    self.stats,
                    self.options,
                    self.on_invocation,
                ).start()
                logger.info("polling", extra={"function": function.name, "queue_arn": mapping.queue_arn})
            elif poller is not None and (poller.mapping, poller.function) != (mapping, function):
                poller.update(mapping, function, invoker)
                logger.info("mapping or function changed", extra={"function": function.name})
        self._retired = [p for p in self._retired if not p.done]

    def _parked(self, uuid: str, mapping: MappingConfig) -> bool:
        """A mapping whose queue is gone is tried again only when it changes, or after a while."""
        gone = self._gone.get(uuid)
        if gone is None:
            return False
        if gone[0] == mapping and time.monotonic() - gone[1] < self.gone_retry_s:
            return True
        del self._gone[uuid]
        return False
