"""Chained POSTs (hookrelay.delivery.chain): a partner whose last batch answered fast has its next batch
posted one after another on one delivery thread; once a POST is slow, the POSTs not yet started fan out
on the other delivery threads, and the partner is unchained.

Against moto SQS/Secrets Manager and a real HTTP server on 127.0.0.1, with a transport that records
the thread of every POST (tests/functional/test_handler_phases.py's RecordingTransport).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay.delivery import phased
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.chain import Chain
from hookrelay.signing.standard import HEADER_ID
from hookrelay_local.partner_server import PartnerServer, Received, Reply, always
from tests.functional.test_handler_phases import Events, RecordingTransport
from tests.support.handler_stack import PartnerStack, build_partner_stack
from tests.support.sqs import sqs_event


def partner(sqs: Any, secretsmanager: Any, server: PartnerServer) -> tuple[PartnerStack, Events]:
    events: Events = []
    stack = build_partner_stack(sqs, secretsmanager, server.url, post_concurrency=10)
    stack.deps.transport = RecordingTransport(stack.deps.transport.allowed, events)
    stack.deps.transport.pool_size = 10
    return stack, events


def batch(stack: PartnerStack, prefix: str, n: int = 10) -> dict[str, Any]:
    return sqs_event([stack.message(id=f"{prefix}{i}").to_sqs_body() for i in range(n)])


def post_threads(events: Events, prefix: str) -> list[int]:
    return [thread for phase, webhook, thread in events if phase == "post" and webhook.startswith(prefix)]


def test_after_a_fast_batch_the_next_batch_is_posted_in_turn_on_one_delivery_thread(
    sqs: Any,
    secretsmanager: Any,
    partner_server: Callable[..., PartnerServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a partner answering at once, whose first batch was posted (all at once) and answered fast
    # (fast: within 1 s here, so that a loaded machine cannot make it slow)
    monkeypatch.setattr(phased, "FAST_SECONDS", 1.0)
    monkeypatch.setattr(phased, "BUDGET_SECONDS", 10.0)
    stack, events = partner(sqs, secretsmanager, partner_server(always(Reply())))
    assert handle_batch(batch(stack, "msg_a"), stack.deps) == {"batchItemFailures": []}
    assert stack.deps.chained
    # WHEN the next batch is handled
    assert handle_batch(batch(stack, "msg_b"), stack.deps) == {"batchItemFailures": []}
    # THEN its ten POSTs ran one after another, in the batch's order, all on one delivery thread
    posted = [webhook for phase, webhook, _ in events if phase == "post" and webhook.startswith("msg_b")]
    assert posted == [f"msg_b{i}" for i in range(10)]
    threads = set(post_threads(events, "msg_b"))
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    # AND every webhook was delivered and recorded
    assert sorted(r["webhook_id"] for r in stack.results() if r["webhook_id"].startswith("msg_b")) == sorted(
        posted
    )


def test_a_slow_post_in_a_chain_fans_the_rest_out_and_unchains_the_partner(
    sqs: Any, secretsmanager: Any, partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN a chained partner (its last batch answered fast) that now holds its first webhook's answer
    # until it has seen three more requests arrive (or 5 s)
    others = threading.Semaphore(0)
    seen_while_held: list[int] = []

    def behaviour(request: Received) -> Reply:
        if request.headers.get(HEADER_ID.title(), request.headers.get(HEADER_ID)) == "msg_s0":
            seen_while_held.append(sum(others.acquire(timeout=5) for _ in range(3)))
        else:
            others.release()
        return Reply()

    stack, events = partner(sqs, secretsmanager, partner_server(behaviour))
    stack.deps.chained = True
    # WHEN a batch of ten is handled
    assert handle_batch(batch(stack, "msg_s"), stack.deps) == {"batchItemFailures": []}
    # THEN the other POSTs went out while the first was still waiting for its answer (not after it)
    assert seen_while_held == [3]
    # AND on other delivery threads than the chain's; every webhook was delivered once
    assert len(set(post_threads(events, "msg_s"))) > 1
    assert sorted(r["webhook_id"] for r in stack.results()) == sorted(f"msg_s{i}" for i in range(10))
    # AND the partner is unchained: its next batch is posted all at once
    assert not stack.deps.chained


def test_a_chain_split_gives_back_exactly_the_calls_not_started() -> None:
    # GIVEN a chain of four calls whose second blocks until released
    release, started = threading.Event(), threading.Event()

    def blocking() -> str:
        started.set()
        release.wait(5)
        return "slow"

    chain = Chain([lambda: "a", blocking, lambda: "c", lambda: "d"], fast_seconds=0.001)
    runner = threading.Thread(target=chain.run)
    runner.start()
    assert started.wait(5)
    # WHEN the invoking thread sees the call in flight is slow
    rest = chain.split_if_slow()
    release.set()
    chain.wait()
    runner.join(5)
    # THEN the calls not started are given back, the one in flight finished on the chain, none ran twice
    assert rest == [2, 3]
    assert chain.results == ["a", "slow", None, None]


def test_a_chain_of_fast_calls_that_outruns_its_budget_fans_out_the_rest() -> None:
    # GIVEN a chain of six calls, each fast (a millisecond, under the 1 s fast limit), with a 5 ms budget
    def call(n: int) -> Callable[[], int]:
        return lambda: (threading.Event().wait(0.001), n)[1]

    chain = Chain([call(n) for n in range(6)], fast_seconds=1.0, budget_seconds=0.005)
    ran_on_chain: list[int] = []
    runner = threading.Thread(target=chain.run)
    runner.start()
    # WHEN the invoking thread watches it
    rest = chain.split_if_slow()
    chain.wait()
    runner.join(5)
    ran_on_chain = [i for i, r in enumerate(chain.results) if r is not None]
    # THEN once the budget was spent the calls not started were given back, and none ran twice
    assert rest
    assert sorted(ran_on_chain + rest) == list(range(6))
    assert rest == list(range(len(ran_on_chain), 6))
