"""Malformed webhook-timestamp values raise the one verification error, never a bare ValueError."""

from __future__ import annotations

import pytest

from hookrelay.signing.standard import WebhookVerificationError, generate_secret, sign, verify

ARABIC_INDIC_NOW = "\u0661\u0667\u0669\u0665\u0664\u0665\u0666\u0668\u0660\u0660"


@pytest.mark.parametrize("timestamp", ["\u00b2", ARABIC_INDIC_NOW, "-1", "1e9"])
def test_non_ascii_or_non_integer_timestamps_are_refused(timestamp: str) -> None:
    # "²" passes str.isdigit() but int() rejects it; Arabic-Indic digits pass both: neither is a Unix time.
    secret = generate_secret()
    headers = {**sign(secret, "msg_ts", b"{}"), "webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError, match="not a Unix time in seconds"):
        verify(secret, headers, b"{}")
