"""`make demo`'s health scene (issue 16): a partner goes dark, is paused, is told, comes back, is resumed,
and nothing is lost.

- partner ``dark`` pauses after a few failed attempts in a row (its own thresholds: the stage's 400 and
  24 h would take a day), on a retry schedule long enough that nothing is dead-lettered first;
- its endpoint resets every connection; the results recorder counts the failures and pauses it (its
  mapping disabled, its webhooks kept in its queue);
- the notices the recorder publishes to the stage's alarm topic are read from a queue subscribed to it
  and printed as alarm-to-slack would post them (Block Kit, rendered as text here: no Slack locally);
- the endpoint comes back, ``POST /partners/dark/enable`` resumes it, every webhook is delivered and the
  recovery is told.

Messages a partner's poller received just as its mapping was disabled stay invisible for the queue's
visibility timeout (about a minute here), as on AWS: the scene waits for them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from hookrelay import naming
from hookrelay.alarms.health_message import health_message
from hookrelay.health_notice import HealthNotice, NoticeKind
from hookrelay_local.demo_parts import Partner, wait
from hookrelay_local.partner_server import Received, Reply
from hookrelay_local.stack import LocalStack

NAME = "dark"
HEALTH_EVENTS = 20
PAUSE_AFTER_FAILURES = 10
RETRIES = [2, 4, 8, 16, 32, 64, 128]  # longer than the scene's dark spell: nothing is dead-lettered
SPY_QUEUE = "demo-alarm-topic-spy"


class DarkPartner(Partner):
    """A partner server that is down (resets every connection) until :meth:`come_back`; counts like the
    demo's other partners."""

    def __init__(self) -> None:
        self.dark = True
        self.refused = 0
        super().__init__(NAME, Reply(status=200))

    def answer(self, request: Received) -> Reply:
        with self.lock:
            if self.dark:
                self.refused += 1
                return Reply(reset=True)
        return super().answer(request)

    def come_back(self) -> None:
        with self.lock:
            self.dark = False


class NoticeSpy:
    """A queue subscribed to the stage's alarm topic: what alarm-to-slack would get."""

    def __init__(self, stack: LocalStack) -> None:
        self.sqs, sns = stack.client("sqs"), stack.client("sns")
        topic = sns.create_topic(Name=naming.alarm_topic(stack.options.stage))["TopicArn"]
        self.url = self.sqs.create_queue(QueueName=SPY_QUEUE)["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"])
        self.seen: list[HealthNotice] = []

    def notices(self) -> list[HealthNotice]:
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return list(self.seen)
            for message in got:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                text = json.loads(message["Body"]).get("Message", "")
                if NAME in text:
                    self.seen.append(HealthNotice.model_validate_json(text))

    def kinds(self) -> list[NoticeKind]:
        return [notice.kind for notice in self.notices()]


def slack_text(notice: HealthNotice) -> str:
    """The Slack message alarm-to-slack would post, as plain lines (header, sections, fields)."""
    payload = health_message(notice)
    lines = []
    for block in payload["attachments"][0]["blocks"]:
        if block["type"] in ("header", "section") and "text" in block:
            text = block["text"]["text"].replace("```", "").replace("&amp;", "&")
            lines.append(text.replace("*", "") if text.startswith("*") else text)
        for field in block.get("fields", []):
            title, _, value = field["text"].partition("\n")
            lines.append(f"{title.strip('*')}: {value.split('|')[-1].rstrip('>')}")
    return "\n".join(f"  | {line}" for part in lines for line in part.splitlines())


def _queued(stack: LocalStack) -> int:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=naming.partner_queue(stack.options.stage, NAME))["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    names.append("ApproximateNumberOfMessagesDelayed")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def run_health_scene(
    stack: LocalStack, say: Callable[[str], Any], events: int = HEALTH_EVENTS
) -> DarkPartner:
    """Play the scene on a running stack; ``say`` prints. Returns the partner (for the summary)."""
    api, partner, spy = stack.api_url, DarkPartner(), NoticeSpy(stack)
    body = {
        "partner_id": NAME,
        "url": partner.server.url,
        "max_concurrency": 2,
        "post_concurrency": 10,
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
        "retry_policy": {"schedule_seconds": RETRIES, "jitter": 0},
        "pause_after_failures": PAUSE_AFTER_FAILURES,
        "pause_after_hours": 0,
    }
    requests.post(f"{api}/partners", json=body, timeout=60).raise_for_status()
    say(f"health: partner {NAME} goes dark (every connection reset); {events} events published ...")
    session = requests.Session()
    for i in range(events):
        sent = time.time()
        answer = session.post(
            f"{api}/partners/{NAME}/events", json={"topic": "invoice.paid", "payload": {"n": i}}, timeout=30
        )
        answer.raise_for_status()
        partner.published[answer.json()["webhook_id"]] = sent

    def status() -> dict[str, Any]:
        answer = session.get(f"{api}/partners/{NAME}", timeout=30)
        answer.raise_for_status()
        state: dict[str, Any] = answer.json()
        return state

    wait(lambda: status()["partner"]["status"] == "paused", 120, f"{NAME} to be paused")
    pause = status()["partner"]["pause"]
    say(
        f"health: {NAME} paused after {pause['consecutive_failures']} failed attempts in a row "
        f"({pause['reason']}); its mapping is disabled"
    )
    wait(lambda: NoticeKind.PAUSED in spy.kinds(), 30, "the paused notice")
    for notice in spy.notices():
        say(f"health: Slack notice ({notice.kind.value}):\n{slack_text(notice)}")
    wait(lambda: _queued(stack) == events, 60, f"{NAME}'s queue to hold every webhook")
    say(f"health: all {events} webhooks kept in {NAME}'s queue; delivered so far: {partner.delivered()}")
    partner.come_back()
    requests.post(f"{api}/partners/{NAME}/enable", timeout=60).raise_for_status()
    say(f"health: endpoint back; POST /partners/{NAME}/enable; waiting for every webhook ...")
    wait(lambda: partner.delivered() == events, 240, f"{NAME}'s webhooks after the resume")
    wait(lambda: NoticeKind.RECOVERED in spy.kinds(), 60, "the recovered notice")
    recovered = next(n for n in spy.notices() if n.kind is NoticeKind.RECOVERED)
    say(f"health: Slack notice (recovered):\n{slack_text(recovered)}")
    say(f"health: {NAME}: {partner.delivered()} of {events} delivered after the resume, none lost")
    return partner
