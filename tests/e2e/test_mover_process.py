"""A real ``sqs-mv`` process against moto's server on loopback, stopped mid-move by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from hookrelay_local.embedded_aws import endpoint_url, start_moto_server
from tests.support.mover import fill, numbers

pytestmark = pytest.mark.e2e
TOTAL = 200
SQS_MV = Path(sys.executable).with_name("sqs-mv")


@pytest.fixture
def server() -> Iterator[str]:
    moto = start_moto_server()
    yield endpoint_url(moto)
    moto.stop()


def start_move(url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": url}
    argv = [str(SQS_MV), "source", "dest", "--concurrency", "1", "--no-progress", *extra]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_moving(sqs: Any, dest: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        attributes = sqs.get_queue_attributes(QueueUrl=dest, AttributeNames=["ApproximateNumberOfMessages"])
        if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= 30:
            return
        time.sleep(0.02)
    pytest.fail("the move never got going (or finished before it could be stopped)")


def wait_until_visible_again(sqs: Any, queue_url: str, timeout: float = 30) -> None:
    """Wait until nothing on the queue is in flight (hidden by a receive), however long moto takes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = ["ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        if int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) == 0:
            return
        time.sleep(0.1)
    pytest.fail("messages stayed in flight past their visibility timeout")


@pytest.fixture
def filled(server: str) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", endpoint_url=server)
    source = sqs.create_queue(QueueName="source")["QueueUrl"]
    dest = sqs.create_queue(QueueName="dest")["QueueUrl"]
    fill(sqs, source, TOTAL)
    return sqs, source, dest


def test_sigkill_mid_move_loses_nothing_and_duplicates_at_most_one_batch(
    server: str, filled: tuple[Any, str, str]
) -> None:
    # GIVEN 200 messages being moved by a real sqs-mv process (messages it holds hide for 2 s)
    sqs, source, dest = filled
    process = start_move(server, "--visibility-timeout", "2")
    wait_until_moving(sqs, dest, process)
    # WHEN it is killed outright, with no chance to clean up
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    wait_until_visible_again(sqs, source)  # what it held comes back after its 2 s
    # THEN every message is in the source or the dest, and at most one batch (10) is in both
    everywhere = Counter(numbers(sqs, source) + numbers(sqs, dest))
    assert set(everywhere) == set(range(TOTAL))
    assert sum(everywhere.values()) - TOTAL <= 10


def test_ctrl_c_finishes_the_batch_in_flight_exactly_once(server: str, filled: tuple[Any, str, str]) -> None:
    # GIVEN 200 messages being moved by a real sqs-mv process
    sqs, source, dest = filled
    process = start_move(server, "--json")
    wait_until_moving(sqs, dest, process)
    # WHEN it gets Ctrl-C (SIGINT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    # THEN it exits 130 after its batch, and every message is in exactly one queue, at once
    assert process.returncode == 130, err
    assert "stopping after the batch in flight" in err
    assert sorted(numbers(sqs, source) + numbers(sqs, dest)) == list(range(TOTAL))
