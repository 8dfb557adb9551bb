"""hookrelay's signing and the Standard Webhooks reference library (standardwebhooks) agree."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from standardwebhooks import Webhook

from hookrelay.signing.standard import Verifier, generate_secret, sign

BODY = json.dumps({"type": "customer.created", "timestamp": "2026-11-23T18:00:00Z", "data": {"n": 1}})


def test_the_reference_library_verifies_what_hookrelay_signs() -> None:
    secret = generate_secret()
    headers = sign(secret, "msg_interop", BODY.encode())
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_hookrelay_verifies_what_the_reference_library_signs() -> None:
    secret = generate_secret()
    now = int(time.time())
    signature = Webhook(secret).sign("msg_interop", datetime.fromtimestamp(now, UTC), BODY)
    headers = {"webhook-id": "msg_interop", "webhook-timestamp": str(now), "webhook-signature": signature}
    verified = Verifier(secret).verify(headers, BODY.encode())
    assert (verified.webhook_id, verified.timestamp) == ("msg_interop", now)
