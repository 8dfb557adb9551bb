"""A partner on the local stack, made and fed only through the provisioner's REST API, with its ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from hookrelay import naming
from hookrelay.aws.sqs import lookup_queue_url
from hookrelay_local.stack import LocalStack
from tests.support.ledger import Ledger

SHORT_RETRIES = {"schedule_seconds": [1, 2], "jitter": 0}  # three attempts within about two seconds


@dataclass
class StackPartner:
    stack: LocalStack
    partner_id: str
    secret: str
    queue_url: str
    dead_letter_queue_url: str
    ledger: Ledger

    @property
    def api(self) -> str:
        return f"{self.stack.api_url}/partners/{self.partner_id}"

    def publish(self, count: int, topic: str = "transfer.created") -> list[str]:
        """Publish ``count`` events ({"n": 0..count-1}) over the API; return their webhook ids."""
        ids = []
        for n in range(count):
            answer = requests.post(
                f"{self.api}/events", json={"topic": topic, "payload": {"n": n}}, timeout=10
            )
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["webhook_id"])
        return self.ledger.add(ids)

    def send_raw(self, bodies: list[str]) -> list[str]:
        """Put raw bodies straight on the partner queue (as a buggy producer would); track them."""
        sqs = self.stack.client("sqs")
        for body in bodies:
            sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        return self.ledger.add(bodies)

    def deliveries(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.api}/deliveries?limit=100", timeout=10)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def status(self) -> dict[str, Any]:
        return dict(requests.get(self.api, timeout=10).json())


def create_partner(
    stack: LocalStack, partner_id: str, url: str, retry_policy: dict[str, Any] | None = None, **options: Any
) -> StackPartner:
    """Create a partner over the API (short retries by default) and start its ledger."""
    body = {"partner_id": partner_id, "url": url, "retry_policy": retry_policy or SHORT_RETRIES, **options}
    created = requests.post(f"{stack.api_url}/partners", data=json.dumps(body), timeout=30)
    assert created.status_code == 201, created.text
    sqs = stack.client("sqs")
    stage = stack.options.stage
    queue = lookup_queue_url(naming.partner_queue(stage, partner_id), sqs)
    dlq_url = lookup_queue_url(naming.partner_dead_letter_queue(stage, partner_id), sqs)
    ledger = Ledger([queue], [dlq_url], read_timeout=float(options.get("read_timeout", 15.0)))
    return StackPartner(stack, partner_id, created.json()["secret"], queue, dlq_url, ledger)
