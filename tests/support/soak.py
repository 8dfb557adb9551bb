"""The soak: thousands of webhooks across many partners while a share of the product's AWS calls fail.

- AWS: moto's server and the fault proxy in a process of their own
  (:func:`hookrelay_local.fault_proxy.faulty_aws_process`). The product's clients (the provisioner, the
  partner handlers, the results recorder: everything that reads ``AWS_ENDPOINT_URL``) go through the
  proxy; the local Lambda runtime's pollers (ReceiveMessage, DeleteMessageBatch, discovery: AWS's own
  part, the event source mapping) and the stack's setup talk to moto directly (:class:`FaultyStack`,
  which also gives the delivery handler clients of its own on the proxy).
- Faults start once every partner is created and polled: ``fault_share`` of the product's calls fail
  (throttle, 500, reset before, reset after moto applied it: a quarter each), ``slow_share`` more answer
  half a second late. Seeded: the k-th call of each operation meets the same fate in every run.
- Partners (one partner server each): the first answers 410 Gone; the others cycle through healthy,
  slow (``slow_reply`` s), failing with 503 for ``recover_after`` s then healthy, and healthy.
- Webhooks carry our own ids (the API's idempotency key): a publish answered 5xx or cut off is sent
  again with the same id, as a producer would.
- The count: :class:`tests.support.ledger.Ledger` over every partner queue and DLQ, read through the
  proxy's control path (moto is in the other process); duplicates are acknowledged redeliveries of the
  same webhook id. Every log line of the run goes through a handler that looks for ``whsec_``.

``python -m tests.support.soak`` (``make soak``) runs the long form, prints one summary line and writes
everything it measured to build/soak.json.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from hookrelay import naming
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay_local.fault_plan import Fault, FaultPlan, FaultRule
from hookrelay_local.fault_proxy import FaultyAws, faulty_aws_process
from hookrelay_local.partner_server import Behaviour, PartnerServer, Reply, always
from hookrelay_local.stack import LocalStack, StackOptions
from tests.support.faulty_stack import FaultyStack
from tests.support.ledger import Count, Ledger, parked
from tests.support.log_scan import SecretScan, scanning_logs

SOAK_RETRIES = {"schedule_seconds": [1, 2, 4], "jitter": 0}  # four attempts within seven seconds
REPORT = Path("build/soak.json")
KINDS = ("healthy", "slow", "recovering", "healthy")


@dataclass(frozen=True)
class SoakOptions:
    webhooks: int = 5_000
    partners: int = 20
    fault_share: float = 0.10
    slow_share: float = 0.02
    seed: int = 19
    publishers: int = 4
    recover_after: float = 8.0
    slow_reply: float = 0.2
    settle_timeout: float = 600.0
    faults_on_runtime: bool = False  # the Lambda runtime's pollers (AWS's part) through the proxy too

    def plan(self) -> FaultPlan:
        failing = (Fault.THROTTLE, Fault.ERROR500, Fault.RESET_BEFORE, Fault.RESET_AFTER)
        shares = {**dict.fromkeys(failing, self.fault_share / len(failing)), Fault.SLOW: self.slow_share}
        return FaultPlan(rules=[FaultRule(match="*", shares=shares)], seed=self.seed, slow_seconds=0.5)


@dataclass
class SoakResult:
    webhooks: int
    count: Count
    duplicates: int
    reasons: Counter[str]
    faults: dict[str, object]
    strays: set[str]  # acknowledged webhook ids that were never published
    lost: list[str]  # published ids neither acknowledged nor on a queue or dead-letter queue
    log_lines: int
    leaks: list[str]
    api_retries: int
    seconds: float

    @property
    def injected(self) -> int:
        total = self.faults["total"]
        assert isinstance(total, int)
        return total

    def details(self) -> dict[str, object]:
        """Everything measured (``make soak`` writes it to build/soak.json)."""
        return {
            "summary": self.summary(),
            "count": asdict(self.count),
            "reasons": dict(self.reasons),
            "faults": self.faults,
            "api_retries": self.api_retries,
            "log_lines": self.log_lines,
            "leaks": self.leaks,
            "strays": self.strays,
            "lost": self.lost,
            "seconds": round(self.seconds, 1),
        }

    def summary(self) -> str:
        c = self.count
        return (
            f"soak: {self.webhooks} webhooks, {self.injected} AWS faults injected, delivered {c.delivered}, "
            f"dead-lettered {c.dead_lettered}, lost {c.lost}, duplicates {self.duplicates}"
        )


def behaviour(kind: str, options: SoakOptions, started: float) -> Behaviour:
    if kind == "gone":
        return always(Reply(status=410))
    if kind == "slow":
        return always(Reply(delay=options.slow_reply))
    if kind == "recovering":
        return lambda _: Reply(status=503) if time.monotonic() < started + options.recover_after else Reply()
    return always(Reply())


@dataclass
class Soak:
    options: SoakOptions
    aws: FaultyAws
    stack: LocalStack
    ledger: Ledger = field(init=False)
    partners: list[str] = field(default_factory=list)
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ledger = Ledger([], [], read_timeout=2.0, peeker=self._peek, interval=1.0)

    def _peek(self, url: str) -> list:  # type: ignore[type-arg]
        return parked(url, self.aws.queue(url))

    def create(self, index: int, server: PartnerServer) -> None:
        partner = f"soak-{index:02d}"
        body = {
            "partner_id": partner,
            "url": server.url,
            "retry_policy": SOAK_RETRIES,
            "post_concurrency": 10,
            "connect_timeout": 1,
            "read_timeout": 2,
            "gone_pauses": False,  # the 410 partner keeps being tried: the soak counts its dead letters
        }
        created = requests.post(f"{self.stack.api_url}/partners", json=body, timeout=60)
        assert created.status_code == 201, created.text
        sqs, stage = self.stack.client("sqs"), self.stack.options.stage
        self.ledger.queues.append(lookup_queue_url(naming.partner_queue(stage, partner), sqs))
        self.ledger.dead_letter_queues.append(
            lookup_queue_url(naming.partner_dead_letter_queue(stage, partner), sqs)
        )
        self.partners.append(partner)

    def wait_until_polled(self) -> None:
        names = {naming.partner_function(self.stack.options.stage, p) for p in self.partners}
        assert self.stack.runtime is not None
        deadline = time.monotonic() + 60
        while not names <= self.stack.runtime.polling():
            assert time.monotonic() < deadline, "the local runtime did not start polling every partner"
            time.sleep(0.2)

    def publish(self, n: int) -> str:
        """Publish webhook ``n`` to its partner, again with the same id until the API accepts it."""
        webhook_id = f"soak-{self.options.seed}-{n:06d}"
        partner = self.partners[n % len(self.partners)]
        body = {"topic": "transfer.created", "payload": {"n": n}, "id": webhook_id}
        for _ in range(30):
            try:
                answer = requests.post(
                    f"{self.stack.api_url}/partners/{partner}/events", json=body, timeout=30
                )
                if answer.status_code == 202:
                    return webhook_id
                assert answer.status_code >= 500, answer.text
            except requests.ConnectionError:
                pass
            with self._lock:
                self.retries += 1
            time.sleep(0.2)
        raise AssertionError(f"webhook {webhook_id} was never accepted")


def run_soak(options: SoakOptions) -> SoakResult:
    """The soak, start to end (a few seconds of setup; then publishing; then until nothing moves)."""
    with ExitStack() as stack, scanning_logs() as scan:
        aws = stack.enter_context(faulty_aws_process())
        stack_options = StackOptions(
            api_port=0,
            receiver_port=0,
            stage="soak",
            aws_endpoint=aws.proxy if options.faults_on_runtime else aws.aws,
        )
        running = stack.enter_context(FaultyStack(stack_options, product_endpoint=aws.proxy))
        soak = Soak(options, aws, running)
        servers = [stack.enter_context(PartnerServer(record=False)) for _ in range(options.partners)]
        for index, server in enumerate(servers):
            soak.create(index, server)
        soak.wait_until_polled()
        started = time.monotonic()
        for index, server in enumerate(servers):
            kind = "gone" if index == 0 else KINDS[(index - 1) % len(KINDS)]
            server.behaviour = soak.ledger.partner(behaviour(kind, options, started))
        aws.set_plan(options.plan())
        with ThreadPoolExecutor(options.publishers) as pool:
            soak.ledger.add(pool.map(soak.publish, range(options.webhooks)))
        count = soak.ledger.quiet(timeout=options.settle_timeout)
        faults = aws.report()
        aws.set_plan(FaultPlan())
        return _result(soak, count, faults, scan, time.monotonic() - started)


def _result(
    soak: Soak, count: Count, faults: dict[str, object], scan: SecretScan, seconds: float
) -> SoakResult:
    ledger = soak.ledger
    with ledger._lock:
        acknowledged = Counter({k: n for k, n in ledger.acknowledged.items() if n})
    published = set(ledger.published)
    parked = {**ledger.on_queues(), **ledger.dead_letters()}
    lost = [k for k in ledger.published if not acknowledged[k] and k not in parked]
    return SoakResult(
        webhooks=len(ledger.published),
        count=count,
        duplicates=sum(n - 1 for k, n in acknowledged.items() if k in published),
        reasons=ledger.reasons(),
        faults=faults,
        strays=set(acknowledged) - published,
        lost=lost,
        log_lines=scan.lines,
        leaks=list(scan.leaks),
        api_retries=soak.retries,
        seconds=seconds,
    )


def main() -> int:
    from hookrelay.observability import configure_logging

    configure_logging("soak", "INFO")  # the apps' own calls change nothing after this one
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)  # JSON lines go to the secret scan only, not the terminal
    result = run_soak(SoakOptions())
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(result.details(), indent=1, default=sorted))
    print(result.summary())
    return 0 if result.count.lost == 0 and not result.leaks and not result.strays else 1


if __name__ == "__main__":
    sys.exit(main())
