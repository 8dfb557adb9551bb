"""POSTs from the invoking thread (hookrelay.delivery.posting): once a partner's connections are open,
a batch's POSTs are sent at once from the thread handling the batch and each answer is read as it comes,
within the partner's post concurrency and read timeout; where no connection is open, the delivery
threads post as before.

Against moto SQS/Secrets Manager and real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from hookrelay import tracing
from hookrelay.delivery.batch import handle_batch
from hookrelay.delivery.open_connection import Sent
from hookrelay.delivery.posting import SEND_AT_ONCE_BYTES
from hookrelay.delivery.transport import PinnedTransport
from hookrelay.models import ErrorKind, Outcome
from hookrelay.signing.standard import HEADER_ID
from hookrelay_local.partner_server import PartnerServer, Received, Reply, always
from tests.support.handler_stack import PartnerStack, build_partner_stack
from tests.support.sqs import sqs_event

Posts = list[tuple[str, str, int]]  # (how: "sent" from an open connection or "posted", webhook id, thread)


class RecordingTransport(PinnedTransport):
    """The real pinned transport; notes how and on which thread each webhook went out."""

    def __init__(self, allowed: Any, pool_size: int, posts: Posts) -> None:
        super().__init__(allowed, pool_size=pool_size)
        self.posts = posts

    def send_now(self, url: str, body: bytes, headers: dict[str, str], timeout: Any) -> Sent | None:
        sent = super().send_now(url, body, headers, timeout)
        if sent is not None:
            self.posts.append(("sent", headers[HEADER_ID], threading.get_ident()))
        return sent

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: Any) -> Any:
        self.posts.append(("posted", headers[HEADER_ID], threading.get_ident()))
        return super().post(url, body, headers, timeout)


@pytest.fixture
def posting_stack(
    sqs: Any, secretsmanager: Any, partner_server: Callable[..., PartnerServer]
) -> Callable[..., tuple[PartnerStack, PartnerServer, Posts]]:
    """(a partner's stack posting through a RecordingTransport, its server, the POSTs noted). The server
    answers webhooks whose id starts with ``warm`` 0.2 s later than ``behaviour`` says, so that a first
    batch of them, all in flight together, opens as many connections as it has webhooks."""

    def make(
        behaviour: Callable[[Received], Reply] | None = None, post_concurrency: int = 5, **settings: Any
    ) -> tuple[PartnerStack, PartnerServer, Posts]:
        posts: Posts = []
        answer = behaviour or always(Reply())

        def warm_slowly(request: Received) -> Reply:
            reply = answer(request)
            return (
                replace(reply, delay=0.2) if request.headers.get(HEADER_ID, "").startswith("warm") else reply
            )

        server = partner_server(warm_slowly)
        stack = build_partner_stack(
            sqs, secretsmanager, server.url, post_concurrency=post_concurrency, **settings
        )
        stack.deps.transport = RecordingTransport(stack.deps.transport.allowed, post_concurrency, posts)
        return stack, server, posts

    return make


def batch(stack: PartnerStack, prefix: str, count: int) -> dict[str, Any]:
    return sqs_event([stack.message(id=f"{prefix}_{i}").to_sqs_body() for i in range(count)])


def failures(response: dict[str, list[dict[str, str]]]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def warmed(
    posting_stack: Callable[..., tuple[PartnerStack, PartnerServer, Posts]],
    behaviour: Callable[[Received], Reply] | None = None,
    post_concurrency: int = 5,
    **settings: Any,
) -> tuple[PartnerStack, PartnerServer, Posts]:
    """``posting_stack(...)`` with the partner's connections open: a first batch of as many webhooks as
    its post concurrency handled (``warm_*``), and the POSTs noted from then on only."""
    stack, server, posts = posting_stack(behaviour, post_concurrency=post_concurrency, **settings)
    handle_batch(batch(stack, "warm", post_concurrency), stack.deps)
    posts.clear()
    return stack, server, posts


def records(stack: PartnerStack, prefix: str) -> dict[str, dict[str, Any]]:
    """The attempt records of the webhooks whose id starts with ``prefix``, by webhook id."""
    return {r["webhook_id"]: r for r in stack.results() if r["webhook_id"].startswith(prefix)}


def test_a_first_batch_opens_the_connections_on_the_delivery_threads_and_the_next_is_sent_from_this_thread(
    posting_stack: Any,
) -> None:
    # GIVEN a partner posting 5 at a time, whose handler has no connection open yet
    stack, server, posts = posting_stack(post_concurrency=5)
    here = threading.get_ident()
    # WHEN a first batch of five is handled
    assert failures(handle_batch(batch(stack, "warm", 5), stack.deps)) == []
    # THEN its POSTs went out on the delivery threads, each opening its connection
    assert {how for how, _, _ in posts} == {"posted"}
    assert here not in {thread for _, _, thread in posts}
    # WHEN a second batch of ten is handled
    posts.clear()
    assert failures(handle_batch(batch(stack, "second", 10), stack.deps)) == []
    # THEN every POST was sent from this thread on a connection already open, five at most at once
    assert sorted(i for _, i, _ in posts) == sorted(f"second_{i}" for i in range(10))
    assert {(how, thread) for how, _, thread in posts} == {("sent", here)}
    assert server.max_in_flight <= 5
    # AND the connections went back to the pool after each answer: a third batch is sent on them too
    posts.clear()
    assert failures(handle_batch(batch(stack, "third", 5), stack.deps)) == []
    assert {(how, thread) for how, _, thread in posts} == {("sent", here)}
    # AND all twenty were delivered and recorded
    assert server.count == 20
    records = stack.results()
    assert len(records) == 20
    assert {r["outcome"] for r in records} == {Outcome.DELIVERED.value}


def test_no_more_posts_are_in_flight_than_the_partners_post_concurrency(posting_stack: Any) -> None:
    # GIVEN a partner that posts 3 at a time and answers each POST after 50 ms, its connections open
    stack, server, posts = warmed(posting_stack, always(Reply(delay=0.05)), post_concurrency=3)
    server.max_in_flight = 0
    # WHEN a batch of ten is handled
    assert failures(handle_batch(batch(stack, "b", 10), stack.deps)) == []
    # THEN all ten were sent from this thread, never more than three at the partner at once
    assert [how for how, _, _ in posts] == ["sent"] * 10
    assert server.max_in_flight == 3
    assert server.count == 13


def test_an_answer_slower_than_the_read_timeout_is_a_timeout_and_the_others_are_delivered(
    posting_stack: Any,
) -> None:
    # GIVEN a partner with a 0.5 s read timeout, its connections open, that never answers one webhook
    def behaviour(request: Received) -> Reply:
        return Reply(hang=True) if request.headers.get(HEADER_ID) == "b_1" else Reply()

    stack, _, posts = warmed(posting_stack, behaviour, post_concurrency=3, read_timeout=0.5)
    # WHEN a batch of three is handled
    response = handle_batch(batch(stack, "b", 3), stack.deps)
    # THEN all three were sent from this thread; the silent one timed out and is retried, not lost
    assert [how for how, _, _ in posts] == ["sent"] * 3
    assert failures(response) == []
    by_id = records(stack, "b_")
    assert by_id["b_1"]["outcome"] == Outcome.RETRY_SCHEDULED.value
    assert by_id["b_1"]["error_kind"] == ErrorKind.TIMEOUT.value
    assert by_id["b_1"]["error"].startswith("ReadTimeout")
    assert {by_id[i]["outcome"] for i in ("b_0", "b_2")} == {Outcome.DELIVERED.value}
    [retry] = [m for m in stack.sqs.sends_to(stack.queue_url) if "b_1" in m["MessageBody"]]
    assert retry["DelaySeconds"] > 0
    # AND the silent one's connection was closed: the next batch opens a new one and is delivered
    assert failures(handle_batch(batch(stack, "c", 3), stack.deps)) == []
    assert {r["outcome"] for r in records(stack, "c_").values()} == {Outcome.DELIVERED.value}


def test_a_connection_reset_before_the_answer_is_a_connection_error_retried(posting_stack: Any) -> None:
    # GIVEN a partner, its connections open, that resets the connection of one webhook instead of answering
    def behaviour(request: Received) -> Reply:
        return Reply(reset=True) if request.headers.get(HEADER_ID) == "b_0" else Reply()

    stack, _, posts = warmed(posting_stack, behaviour, post_concurrency=2)
    # WHEN a batch of two is handled
    assert failures(handle_batch(batch(stack, "b", 2), stack.deps)) == []
    # THEN both were sent from this thread; the reset one is a connection error, scheduled for a retry
    assert [how for how, _, _ in posts] == ["sent"] * 2
    by_id = records(stack, "b_")
    assert (by_id["b_0"]["outcome"], by_id["b_0"]["error_kind"]) == (
        Outcome.RETRY_SCHEDULED.value,
        ErrorKind.CONNECTION.value,
    )
    assert by_id["b_1"]["outcome"] == Outcome.DELIVERED.value


def test_a_large_body_is_posted_from_a_delivery_thread_and_the_small_ones_are_sent_from_this_thread(
    posting_stack: Any,
) -> None:
    # GIVEN a partner posting 3 at a time, its connections open, and a batch with one body over 12 KiB
    stack, server, posts = warmed(posting_stack, post_concurrency=3)
    bodies = [stack.message(id=f"b_{i}").to_sqs_body() for i in range(4)]
    bodies[2] = stack.message(id="b_2", payload={"blob": "x" * (SEND_AT_ONCE_BYTES + 1)}).to_sqs_body()
    # WHEN the batch is handled
    assert failures(handle_batch(sqs_event(bodies), stack.deps)) == []
    # THEN the large one went out on a delivery thread (a partner slow to read it holds up no other
    # POST), the three others from this thread; never more than three at once, and all arrived
    how = {webhook: (kind, thread == threading.get_ident()) for kind, webhook, thread in posts}
    assert how == {
        "b_0": ("sent", True),
        "b_1": ("sent", True),
        "b_2": ("posted", False),
        "b_3": ("sent", True),
    }
    assert server.max_in_flight <= 3
    assert server.count == 7


def test_an_answer_cut_off_mid_body_counts_as_the_answer_and_its_connection_is_not_reused(
    posting_stack: Any,
) -> None:
    # GIVEN a partner, its connections open, that cuts one webhook's 200 answer off mid-body with a reset
    cut = Reply(body=b'{"ok":true,"padding":"' + b"x" * 4000 + b'"}', cut_after=120)

    def behaviour(request: Received) -> Reply:
        return cut if request.headers.get(HEADER_ID) == "b_0" else Reply()

    stack, _, posts = warmed(posting_stack, behaviour, post_concurrency=2)
    # WHEN a batch of two is handled
    assert failures(handle_batch(batch(stack, "b", 2), stack.deps)) == []
    # THEN both were sent from this thread and both delivered: the status line was the answer, and the
    # cut body is named in the excerpt as the threads' path names it
    assert [how for how, _, _ in posts] == ["sent"] * 2
    by_id = records(stack, "b_")
    assert {r["outcome"] for r in by_id.values()} == {Outcome.DELIVERED.value}
    assert by_id["b_0"]["response_excerpt"] == "(response body unreadable: ConnectionError)"
    # AND the next batch is delivered (the cut connection was closed, not given to another POST)
    assert failures(handle_batch(batch(stack, "c", 2), stack.deps)) == []
    assert {r["outcome"] for r in records(stack, "c_").values()} == {Outcome.DELIVERED.value}


def test_a_compressed_answer_is_decoded_for_its_excerpt(posting_stack: Any) -> None:
    # GIVEN a partner, its connections open, that gzips its answers though asked for identity
    body = b'{"ok":true,"note":"compressed"}'
    gzipped = always(Reply(body=gzip.compress(body), headers={"Content-Encoding": "gzip"}))
    stack, _, posts = warmed(posting_stack, gzipped, post_concurrency=2)
    # WHEN a batch is handled
    assert failures(handle_batch(batch(stack, "b", 2), stack.deps)) == []
    # THEN the excerpt is the answer's text, as on the delivery threads' path
    assert [how for how, _, _ in posts] == ["sent"] * 2
    excerpts = {r["response_excerpt"] for r in stack.results()}
    assert excerpts == {body.decode()}


def test_a_bug_while_sending_one_post_fails_that_record_alone(
    posting_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a partner with its connections open, and a transport that raises something no network
    # failure raises while sending one webhook from this thread
    stack, server, _ = warmed(posting_stack, post_concurrency=3)
    transport = stack.deps.transport
    real_send_now = transport.send_now

    def send_now(url: str, body: bytes, headers: dict[str, str], timeout: Any) -> Sent | None:
        if headers[HEADER_ID] == "b_1":
            raise ValueError("transport bug")
        return real_send_now(url, body, headers, timeout)

    monkeypatch.setattr(transport, "send_now", send_now)
    event = batch(stack, "b", 3)
    # WHEN the batch is handled
    response = handle_batch(event, stack.deps)
    # THEN that record alone is reported failed (SQS shows it again); the other two are delivered
    assert failures(response) == [event["Records"][1]["messageId"]]
    assert set(records(stack, "b_")) == {"b_0", "b_2"}
    assert server.count == 3 + 2


def test_a_partner_that_closes_its_connections_is_posted_from_the_delivery_threads(
    posting_stack: Any,
) -> None:
    # GIVEN a partner that closes the connection after every answer, and a first batch posted
    stack, server, posts = warmed(
        posting_stack, always(Reply(headers={"Connection": "close"})), post_concurrency=5
    )
    # WHEN the next batch is handled
    assert failures(handle_batch(batch(stack, "b", 5), stack.deps)) == []
    # THEN no connection was open to send on: the delivery threads posted every one, and all arrived
    assert [how for how, _, _ in posts] == ["posted"] * 5
    assert threading.get_ident() not in {thread for _, _, thread in posts}
    assert server.count == 10


def test_a_slow_answer_does_not_hold_back_the_time_of_the_others(posting_stack: Any) -> None:
    # GIVEN a partner, its connections open, answering one webhook after 2 s and the others at once
    def behaviour(request: Received) -> Reply:
        return Reply(delay=2.0) if request.headers.get(HEADER_ID) == "b_0" else Reply()

    stack, _, posts = warmed(posting_stack, behaviour, post_concurrency=4, read_timeout=5.0)
    # WHEN a batch of four is handled
    assert failures(handle_batch(batch(stack, "b", 4), stack.deps)) == []
    # THEN each attempt's duration is its own: the slow one took its two seconds, the others were read
    # as they came, not after it (read after it, each would show at least the slow one's time)
    assert [how for how, _, _ in posts] == ["sent"] * 4
    took = {webhook: r["duration_ms"] for webhook, r in records(stack, "b_").items()}
    assert took["b_0"] >= 2000
    assert max(took[i] for i in ("b_1", "b_2", "b_3")) < took["b_0"] / 2


def test_a_sampled_invocation_posts_through_urllib3s_pool_which_x_ray_traces(
    posting_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a partner with its connections open, and an invocation X-Ray samples, urllib3 patched
    stack, server, posts = warmed(posting_stack, post_concurrency=3)
    monkeypatch.setattr(tracing, "sampled", lambda: True)
    monkeypatch.setattr(tracing, "traced_libraries", lambda: frozenset({"urllib3"}))
    # WHEN a batch is handled
    assert failures(handle_batch(batch(stack, "b", 3), stack.deps)) == []
    # THEN its POSTs went through the pool's urlopen on the delivery threads (where the patch records them)
    assert [how for how, _, _ in posts] == ["posted"] * 3
    assert threading.get_ident() not in {thread for _, _, thread in posts}
    assert server.count == 6
