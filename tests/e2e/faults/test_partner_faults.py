"""Partner faults on the local stack: whatever the endpoint does, every webhook ends delivered, queued for a
retry, or dead-lettered with its reason. Never lost. Each case: one partner, created and fed over the API."""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from hookrelay_local.partner_server import PartnerServer, Received, Reply, always
from hookrelay_local.stack import LocalStack
from tests.support.lambda_runtime import wait_for
from tests.support.ledger import Count
from tests.support.ports import closed_port
from tests.support.stack_api import create_partner

pytestmark = pytest.mark.e2e
EVENTS = 6
HUGE = b'{"pad":"' + b"x" * (8 * 1024 * 1024) + b'"}'


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture (see conftest)."""


def n_of(request: Received) -> int:
    return int(json.loads(request.body)["data"]["n"])


def by_attempt(*replies: Reply) -> Callable[[Received], Reply]:
    """Answer each webhook's attempt k with ``replies[k-1]`` (the last one from then on)."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def answer(request: Received) -> Reply:
        with lock:
            seen[request.headers["webhook-id"]] += 1
            k = seen[request.headers["webhook-id"]]
        return replies[min(k, len(replies)) - 1]

    return answer


def test_500s_exhaust_the_retries_into_the_dead_letter_queue_while_healthy_webhooks_arrive(
    stack: LocalStack,
) -> None:
    # GIVEN a partner that answers 500 to every attempt of even-numbered events and 200 to the others
    def behaviour(request: Received) -> Reply:
        return Reply(status=500, body=b"boom") if n_of(request) % 2 == 0 else Reply()

    with PartnerServer() as server:
        partner = create_partner(stack, "f-500", server.url)
        server.behaviour = partner.ledger.partner(behaviour)
        # WHEN six events are published
        ids = partner.publish(EVENTS)
        # THEN three are delivered and three dead-lettered after the three attempts of the schedule
        assert partner.ledger.settle(Count(delivered=3, dead_lettered=3)) == Count(
            delivered=3, dead_lettered=3
        )
        assert partner.ledger.reasons() == {"retries exhausted after 3 attempts; last: HTTP 500": 3}
        assert sorted(partner.ledger.attempts[i] for i in ids) == [1, 1, 1, 3, 3, 3]


def test_a_short_retry_schedule_keeps_its_gaps_between_attempts(stack: LocalStack) -> None:
    # GIVEN a partner that always answers 500, with retries 1, 2 and 4 s after the first attempt
    seen: list[float] = []

    def behaviour(request: Received) -> Reply:
        seen.append(request.at)
        return Reply(status=500, body=b"boom")

    with PartnerServer() as server:
        partner = create_partner(
            stack, "f-gaps", server.url, retry_policy={"schedule_seconds": [1, 2, 4], "jitter": 0}
        )
        server.behaviour = partner.ledger.partner(behaviour)
        # WHEN one event is published
        partner.publish(1)
        # THEN its four attempts are the schedule's gaps (1, 1, 2 s) apart, each within 0.5 s: none bunch
        assert partner.ledger.settle(Count(dead_lettered=1)) == Count(dead_lettered=1)
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert len(gaps) == 3
    assert all(abs(gap - want) <= 0.5 for gap, want in zip(gaps, (1, 1, 2), strict=True)), gaps


def test_a_read_timeout_is_retried_and_the_next_attempt_delivers(stack: LocalStack) -> None:
    # GIVEN a partner (read timeout 0.5 s) whose first answer to each webhook takes 1.5 s
    with PartnerServer() as server:
        partner = create_partner(stack, "f-timeout", server.url, read_timeout=0.5)
        server.behaviour = partner.ledger.partner(by_attempt(Reply(delay=1.5), Reply()))
        # WHEN six events are published
        ids = partner.publish(EVENTS)
        # THEN all six are delivered on their second attempt
        assert partner.ledger.settle(Count(delivered=EVENTS)) == Count(delivered=EVENTS)
        assert [partner.ledger.attempts[i] for i in ids] == [2] * EVENTS
        wait_for(lambda: len(partner.deliveries()) == 2 * EVENTS)
        kinds = Counter((d["attempt"], d["outcome"], d.get("error_kind")) for d in partner.deliveries())
        assert kinds == {(1, "retry_scheduled", "timeout"): EVENTS, (2, "delivered", None): EVENTS}


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port held bound, never listening, for the whole test: it refuses every connection."""
    with closed_port() as port:
        yield port


def test_connection_refused_leaves_every_webhook_queued_for_its_next_retry(
    stack: LocalStack, refusing_port: int
) -> None:
    # GIVEN a partner whose port refuses connections, and a schedule whose second retry is 10 minutes out
    closed = f"http://127.0.0.1:{refusing_port}/webhooks"
    partner = create_partner(
        stack, "f-refused", closed, retry_policy={"schedule_seconds": [1, 600], "jitter": 0}
    )
    # WHEN six events are published
    ids = partner.publish(EVENTS)

    # THEN after two refused attempts each waits on the partner queue for its third, none lost
    def attempts_made() -> list[int]:
        parked = partner.ledger.on_queues()
        return [parked[i][0].webhook["delivery"]["attempt"] for i in ids if i in parked]  # type: ignore[index]

    wait_for(lambda: attempts_made() == [2] * EVENTS, timeout=30)
    assert partner.ledger.settle(Count(queued=EVENTS)) == Count(queued=EVENTS)
    errors = {
        p[0].webhook["delivery"]["last_result"]["error_kind"] for p in partner.ledger.on_queues().values()
    }  # type: ignore[index]
    assert errors == {"connection"}


def test_a_connection_reset_before_the_status_line_is_retried_one_after_it_counts_as_the_answer(
    stack: LocalStack,
) -> None:
    # GIVEN a partner that resets even events' first connection before answering, and cuts odd events'
    # 200 answers off mid-body with a reset
    cut = Reply(body=b'{"ok":true,"padding":"' + b"x" * 4000 + b'"}', cut_after=200)
    resets = by_attempt(Reply(reset=True), Reply())

    def behaviour(request: Received) -> Reply:
        return resets(request) if n_of(request) % 2 == 0 else cut

    with PartnerServer() as server:
        partner = create_partner(stack, "f-reset", server.url)
        server.behaviour = partner.ledger.partner(behaviour)
        # WHEN six events are published
        ids = partner.publish(EVENTS)
        # THEN all are delivered: reset ones on the retry, cut-off 200s at once (the partner answered 200)
        assert partner.ledger.settle(Count(delivered=EVENTS)) == Count(delivered=EVENTS)
        assert [partner.ledger.attempts[i] for i in ids] == [2, 1] * (EVENTS // 2)


def test_a_server_that_accepts_and_never_answers_ends_in_the_dead_letter_queue(stack: LocalStack) -> None:
    # GIVEN a partner that reads each request and never answers (read timeout 0.5 s)
    with PartnerServer() as server:
        partner = create_partner(stack, "f-hang", server.url, read_timeout=0.5)
        server.behaviour = partner.ledger.partner(always(Reply(hang=True)))
        # WHEN six events are published
        ids = partner.publish(EVENTS)
        # THEN each is tried three times and dead-lettered with the timeout as its reason
        assert partner.ledger.settle(Count(dead_lettered=EVENTS)) == Count(dead_lettered=EVENTS)
        assert [partner.ledger.attempts[i] for i in ids] == [3] * EVENTS
        reasons = partner.ledger.reasons()
        assert sum(reasons.values()) == EVENTS
        assert all(r.startswith("retries exhausted after 3 attempts; last: ReadTimeout") for r in reasons)


def test_a_huge_response_body_is_read_only_up_to_the_excerpt(stack: LocalStack) -> None:
    # GIVEN a partner answering 8 MiB bodies: 200 to even events, 500 to odd ones
    def behaviour(request: Received) -> Reply:
        return Reply(body=HUGE) if n_of(request) % 2 == 0 else Reply(status=500, body=HUGE)

    with PartnerServer() as server:
        partner = create_partner(stack, "f-huge", server.url)
        server.behaviour = partner.ledger.partner(behaviour)
        # WHEN six events are published
        partner.publish(EVENTS)
        # THEN the 200s are delivered, the 500s dead-lettered after three attempts
        assert partner.ledger.settle(Count(delivered=3, dead_lettered=3)) == Count(
            delivered=3, dead_lettered=3
        )
        assert partner.ledger.reasons() == {"retries exhausted after 3 attempts; last: HTTP 500": 3}
        # AND the attempt log keeps only a 2 KiB excerpt of each answer
        wait_for(lambda: len(partner.deliveries()) == 3 + 3 * 3)
        assert {len(d["response_excerpt"]) for d in partner.deliveries()} == {2048}


def test_redirects_are_never_followed_and_count_as_failures(stack: LocalStack) -> None:
    # GIVEN a partner redirecting even events to another (reachable) loopback server and odd events to
    # the cloud metadata address
    with PartnerServer() as target, PartnerServer() as server:

        def behaviour(request: Received) -> Reply:
            where = target.url if n_of(request) % 2 == 0 else "http://169.254.169.254/latest/meta-data/"
            return Reply(status=302, headers={"Location": where}, body=b"")

        partner = create_partner(stack, "f-redirect", server.url)
        server.behaviour = partner.ledger.partner(behaviour)
        # WHEN six events are published
        partner.publish(EVENTS)
        # THEN every 302 is a failed attempt: all six dead-lettered after three attempts
        assert partner.ledger.settle(Count(dead_lettered=EVENTS)) == Count(dead_lettered=EVENTS)
        assert partner.ledger.reasons() == {"retries exhausted after 3 attempts; last: HTTP 302": EVENTS}
        # AND no redirect was followed
        assert target.count == 0
        assert {d.get("error_kind") for d in partner.deliveries()} == {"redirect"}


def test_410_gone_dead_letters_at_once_and_marks_the_partner_gone(stack: LocalStack) -> None:
    # GIVEN a partner whose endpoint answers 410 Gone (not paused for it: docs/partner-health.md)
    with PartnerServer() as server:
        partner = create_partner(stack, "f-gone", server.url, gone_pauses=False)
        server.behaviour = partner.ledger.partner(always(Reply(status=410)))
        # WHEN six events are published
        ids = partner.publish(EVENTS)
        # THEN each is dead-lettered after its one attempt, with the reason
        assert partner.ledger.settle(Count(dead_lettered=EVENTS)) == Count(dead_lettered=EVENTS)
        assert [partner.ledger.attempts[i] for i in ids] == [1] * EVENTS
        assert partner.ledger.reasons() == {
            "gone: the endpoint answered 410 Gone; the partner wants disabling": EVENTS
        }
        # AND the partner is marked gone
        wait_for(lambda: partner.status()["partner"]["gone_at"] is not None)


def test_429_retry_after_is_honoured_then_delivered(stack: LocalStack) -> None:
    # GIVEN a partner answering each webhook's first attempt 429 with Retry-After: 3 (the schedule says 1 s)
    with PartnerServer() as server:
        partner = create_partner(stack, "f-429", server.url)
        throttled = Reply(status=429, headers={"Retry-After": "3"})
        server.behaviour = partner.ledger.partner(by_attempt(throttled, Reply()))
        # WHEN six events are published
        ids = partner.publish(EVENTS)
        # THEN all six are delivered on their second attempt
        assert partner.ledger.settle(Count(delivered=EVENTS)) == Count(delivered=EVENTS)
        assert [partner.ledger.attempts[i] for i in ids] == [2] * EVENTS
        # AND each retry was scheduled no earlier than the partner asked
        wait_for(lambda: len(partner.deliveries()) == 2 * EVENTS)
        retries = [d for d in partner.deliveries() if d["outcome"] == "retry_scheduled"]
        gaps = {
            datetime.fromisoformat(d["next_attempt_at"]) - datetime.fromisoformat(d["at"])
            >= timedelta(seconds=3)
            for d in retries
        }
        assert (len(retries), gaps) == (EVENTS, {True})
