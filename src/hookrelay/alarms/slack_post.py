"""Posting a message to a Slack incoming webhook, with bounded retries.

429 and 5xx answers, timeouts and connection errors are retried with exponential backoff (full
jitter); a ``Retry-After`` is honoured: the next attempt is never earlier than Slack asked. The whole
thing is bounded by attempts, by a time budget and by the invocation's deadline (``until``); past
any, or when waiting as asked would exceed them, it raises DependencyUnavailable so the invocation
fails and SNS/Lambda retry it. Other 4xx answers raise :class:`SlackRejected` at once (retrying the
same payload cannot help). The webhook URL is a secret: it is never logged nor put in an error.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hookrelay.errors import DependencyUnavailable
from hookrelay.models import utcnow
from hookrelay.retry import parse_retry_after

logger = logging.getLogger(__name__)


class SlackPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=5, ge=1, le=20)
    base_delay_seconds: float = Field(default=1.0, ge=0, le=60)
    max_delay_seconds: float = Field(default=8.0, ge=0, le=300)
    budget_seconds: float = Field(default=30.0, gt=0, le=600)
    connect_timeout: float = Field(default=3.0, gt=0, le=30)
    read_timeout: float = Field(default=10.0, gt=0, le=60)


class SlackRejected(DependencyUnavailable):
    """Slack refused the payload itself (a 4xx other than 429): retrying it unchanged cannot help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Slack rejected the message: HTTP {status} {body}")
        self.status = status
        self.body = body


def build_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the webhook goes straight to Slack
    return session


def post_message(
    webhook_url: SecretStr,
    payload: dict[str, Any],
    *,
    policy: SlackPolicy | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
    until: float | None = None,
) -> int:
    """Post ``payload``; return the number of attempts it took. Raises DependencyUnavailable.

    ``until`` (on ``clock``) ends the budget earlier: the invocation's deadline. No attempt starts
    past it, and an attempt's connect and read timeouts are cut to the time left.
    """
    policy = policy or SlackPolicy()
    http = session or build_session()
    deadline = clock() + policy.budget_seconds
    deadline = deadline if until is None else min(deadline, until)
    last = "no attempt made"
    made = 0
    for attempt in range(1, policy.max_attempts + 1):
        left = deadline - clock()
        if left <= 0:
            last = f"out of time ({last})" if made else "out of time"
            break
        made = attempt
        retry_after: float | None = None
        connect = min(policy.connect_timeout, left / 2)
        try:
            response = http.post(
                webhook_url.get_secret_value(),
                json=payload,
                timeout=(connect, min(policy.read_timeout, left - connect)),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            last = type(exc).__name__
        else:
            body = response.text[:200].strip()
            if 200 <= response.status_code < 300:
                return attempt
            if response.status_code != 429 and response.status_code < 500:
                raise SlackRejected(response.status_code, body)
            last = f"HTTP {response.status_code} {body}".strip()
            delay = parse_retry_after(response.headers.get("Retry-After"), utcnow())
            retry_after = delay.total_seconds() if delay is not None else None
        if attempt == policy.max_attempts:
            break
        backoff = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (attempt - 1)) * rand()
        wait = max(backoff, retry_after or 0.0)
        if clock() + wait > deadline:
            logger.warning(
                "slack retry would exceed the time budget",
                extra={"attempt": attempt, "wait_seconds": wait, "last_error": last},
            )
            break
        logger.info(
            "slack post failed, retrying", extra={"attempt": attempt, "wait_seconds": wait, "error": last}
        )
        sleep(wait)
    raise DependencyUnavailable(f"Slack did not accept the message after {made} attempt(s): {last}")
