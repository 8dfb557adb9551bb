"""classify: an exchange's raw outcome -> the attempt's result, with no network (phase 3 of a batch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from hookrelay.delivery.attempt import Exchanged, PreparedRequest, Verdict, classify
from hookrelay.errors import UnsafeDestination
from hookrelay.models import ErrorKind
from hookrelay.ssrf import DnsFailure

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REQUEST = PreparedRequest(attempt=3, at=NOW, body=b"{}", headers={})


def test_an_answer_keeps_its_status_timing_and_an_excerpt_cut_to_the_cap() -> None:
    # GIVEN a 2xx answer whose body (as read: cap + 1 bytes) is longer than the cap
    answer = Exchanged(duration_ms=12, status=204, body="é".encode() + b"x" * 10)
    # WHEN it is classified with a cap of 4 bytes
    result = classify(REQUEST, answer, 4)
    # THEN it is a success of attempt 3 at the request's time, with 4 bytes decoded
    assert (result.verdict, result.attempt, result.at, result.duration_ms) == (Verdict.SUCCESS, 3, NOW, 12)
    assert (result.status_code, result.response_excerpt, result.error) == (204, "éxx", None)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(429, "30", timedelta(seconds=30)), (503, "7", timedelta(seconds=7)), (500, None, None)],
)
def test_a_retry_after_is_parsed_on_429_and_503(
    status: int, retry_after: str | None, expected: timedelta | None
) -> None:
    answer = Exchanged(duration_ms=1, status=status, body=b"busy", retry_after=retry_after)
    result = classify(REQUEST, answer, 100)
    assert (result.verdict, result.error_kind, result.error) == (
        Verdict.RETRY,
        ErrorKind.HTTP_STATUS,
        f"HTTP {status}",
    )
    assert result.retry_after == expected


def test_a_body_cut_short_keeps_the_partners_status() -> None:
    answer = Exchanged(duration_ms=1, status=200, body_error=ProtocolError("connection broken"))
    result = classify(REQUEST, answer, 100)
    assert (result.verdict, result.response_excerpt) == (
        Verdict.SUCCESS,
        "(response body unreadable: ConnectionError)",
    )


@pytest.mark.parametrize(
    ("failure", "verdict", "kind", "error"),
    [
        (UnsafeDestination("10.0.0.1 is not public"), Verdict.PERMANENT, ErrorKind.UNSAFE_DESTINATION, None),
        (DnsFailure("no such host"), Verdict.RETRY, ErrorKind.DNS, "no such host"),
        (ReadTimeoutError(None, "/", "read timed out"), Verdict.RETRY, ErrorKind.TIMEOUT, None),
        (ProtocolError("reset"), Verdict.RETRY, ErrorKind.CONNECTION, "ConnectionError: reset"),
    ],
    ids=["refused-destination", "dns", "read-timeout", "connection"],
)
def test_a_request_that_was_not_answered_is_classified_by_its_failure(
    failure: Exception, verdict: Verdict, kind: ErrorKind, error: str | None
) -> None:
    result = classify(REQUEST, Exchanged(duration_ms=5, failure=failure), 100)
    assert (result.verdict, result.error_kind, result.status_code) == (verdict, kind, None)
    if error is not None:
        assert result.error == error
    assert result.error is not None


def test_anything_else_is_not_an_exchange_outcome_and_raises() -> None:
    # (the batch then fails that record alone)
    with pytest.raises(RuntimeError, match="not an exchange outcome"):
        classify(REQUEST, Exchanged(duration_ms=1, failure=ValueError("bug")), 100)
