"""The isolation benchmark's platform: the local stack on moto in its own process, and 10 partners.

``LocalStack`` starts moto's server in-process by default; here it is given one already running in
another process (bench.receivers.moto_process), as AWS is a network service and not our CPU. In-process,
moto's few milliseconds of Python per call share one GIL with the Lambda runtime and the publisher,
and under this load that, not the architecture, sets the latency (see docs/isolation-benchmark.md).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import requests

from bench.latency_receiver import ReceiverControl
from hookrelay import naming
from hookrelay_local.stack import LocalStack, StackOptions


@contextmanager
def stack_on(aws_url: str, options: StackOptions) -> Iterator[LocalStack]:
    """The local stack (API, Lambda runtime) on the moto server at ``aws_url``."""
    with LocalStack(replace(options, aws_endpoint=aws_url)) as stack:
        yield stack


def quiet_logging() -> None:
    """Format every log line as in Lambda, but write it nowhere. Configured here first, so the apps'
    own configure_logging calls (JSON to stdout) change nothing."""
    from hookrelay.observability import configure_logging

    configure_logging("bench", "INFO")
    for handler in logging.getLogger().handlers:
        handler.stream = open(os.devnull, "w")  # type: ignore[attr-defined]  # noqa: SIM115


def create_partners(
    stack: LocalStack, receiver: ReceiverControl, partners: Sequence[str], reserved: int, posts: int
) -> None:
    """Create each partner over the API (its URL: its own path on the receiver); wait until polled."""
    for partner in partners:
        answer = requests.post(
            f"{stack.api_url}/partners",
            json={
                "partner_id": partner,
                "url": receiver.url(partner),
                "reserved_concurrency": reserved,
                "post_concurrency": posts,
                "connect_timeout": 2,
                "read_timeout": 10,
                "retry_policy": {"schedule_seconds": [1, 2], "jitter": 0},
            },
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
    names = {naming.partner_function(stack.options.stage, p) for p in partners}
    assert stack.runtime is not None
    deadline = time.monotonic() + 30
    while not names <= stack.runtime.polling():
        assert time.monotonic() < deadline, "the local runtime did not start polling every partner"
        time.sleep(0.2)
