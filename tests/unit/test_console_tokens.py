"""Signed tokens of the console: sessions, CSRF tokens bound to a session, portal links (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookrelay.provisioning.access import BadToken, ConsoleKeys

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
KEYS = ConsoleKeys("operator-token-0123456789abcdef")


def test_a_portal_token_names_its_partner_until_it_expires() -> None:
    # GIVEN a token for acme valid for an hour
    token = KEYS.portal_token("acme", NOW + timedelta(hours=1))
    # WHEN it is read before and at its expiry
    # THEN it names acme before, and is refused as expired at the expiry
    assert KEYS.portal_partner(token, NOW + timedelta(minutes=59)) == "acme"
    with pytest.raises(BadToken, match="expired"):
        KEYS.portal_partner(token, NOW + timedelta(hours=1))


def test_a_token_with_other_claims_under_the_same_signature_is_refused() -> None:
    # GIVEN acme's token, and the claims of a token for globex
    acme = KEYS.portal_token("acme", NOW + timedelta(hours=1))
    globex_claims = KEYS.portal_token("globex", NOW + timedelta(hours=1)).split(".")[0]
    # WHEN globex's claims are joined to acme's signature
    # THEN the token is invalid
    with pytest.raises(BadToken, match="invalid"):
        KEYS.portal_partner(f"{globex_claims}.{acme.split('.')[1]}", NOW)


def test_a_token_of_another_key_or_purpose_is_refused() -> None:
    # GIVEN a portal token made with another operator token, and a session of the right key
    other = ConsoleKeys("another-token-0123456789abcdef").portal_token("acme", NOW + timedelta(hours=1))
    session = KEYS.session(NOW, hours=1)
    # THEN neither is a portal token; and a portal token is not a session
    for token in (other, session):
        with pytest.raises(BadToken):
            KEYS.portal_partner(token, NOW)
    with pytest.raises(BadToken):
        KEYS.verify("session", KEYS.portal_token("acme", NOW + timedelta(hours=1)), NOW)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "!!!.???", "e30.", "bm90anNvbg.AAAA"])
def test_malformed_tokens_are_refused_with_one_error(token: str) -> None:
    with pytest.raises(BadToken, match="invalid token"):
        KEYS.verify("portal", token, NOW)


def test_a_session_expires_after_its_hours() -> None:
    session = KEYS.session(NOW, hours=8)
    assert KEYS.verify("session", session, NOW + timedelta(hours=7, minutes=59))["n"]
    with pytest.raises(BadToken, match="expired"):
        KEYS.verify("session", session, NOW + timedelta(hours=8))


def test_the_csrf_token_is_bound_to_its_session() -> None:
    # GIVEN two sessions
    mine = KEYS.verify("session", KEYS.session(NOW, hours=1), NOW)
    theirs = KEYS.verify("session", KEYS.session(NOW, hours=1), NOW)
    # THEN each session's CSRF token passes for it only; an empty one never passes
    assert KEYS.csrf_matches(mine, KEYS.csrf(mine))
    assert not KEYS.csrf_matches(mine, KEYS.csrf(theirs))
    assert not KEYS.csrf_matches(mine, "")


def test_the_operator_token_is_compared_whole() -> None:
    assert KEYS.token_matches("operator-token-0123456789abcdef")
    assert not KEYS.token_matches("operator-token-0123456789abcde")
    assert not KEYS.token_matches("")
