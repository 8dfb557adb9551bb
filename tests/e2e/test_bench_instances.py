"""The handler bench's "2 x 5" shape: Lambda instances as processes (bench.instances, bench.bench_handler)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from bench.bench_handler import _quiet_logging, process_bare_run, process_instances_run
from bench.instances import InstancePool, Run, Share, instance_pool
from hookrelay_local.partner_server import PartnerServer
from tests.support.handler_stack import build_partner_stack

pytestmark = pytest.mark.e2e
CPU_PER_CALL = 0.002  # CPU seconds each call of burn_and_record spends, on its own thread


def burn_and_record(directory: str) -> Callable[[int], None]:
    """An instance's job: each call spends CPU_PER_CALL of CPU, then writes its item in its process's file."""
    path = Path(directory, str(os.getpid()))
    path.parent.mkdir(exist_ok=True)

    def call(i: int) -> None:
        until = time.thread_time() + CPU_PER_CALL  # this thread's own CPU: the process's sums its threads'
        while time.thread_time() < until:
            pass
        with path.open("a") as f:
            f.write(f"{i}\n")

    return call


def fail_in_the_first(directory: str) -> Callable[[int], None]:
    """An instance's job that fails to prepare in whichever process gets here first."""
    try:
        Path(directory, "taken").touch(exist_ok=False)
    except FileExistsError:
        return lambda _i: None
    raise ValueError("this instance could not build its deps")


@pytest.fixture(scope="module")
def pool() -> Iterator[InstancePool]:
    with instance_pool(2) as started:
        yield started


def test_the_pool_shares_the_items_between_its_processes_each_item_once(
    pool: InstancePool, tmp_path: Path
) -> None:
    # GIVEN two instance processes, and a job whose calls burn CPU and record their item in the process
    # WHEN they share 40 items on 2 threads each
    run = pool.run(burn_and_record, (str(tmp_path),), threads=2, total=40)
    # THEN every item was done exactly once, in two processes other than this one, and the run says so
    files = list(tmp_path.iterdir())
    items = Counter(int(line) for f in files for line in f.read_text().split())
    assert items == Counter(range(40))
    pids = {int(f.name) for f in files}
    assert len(pids) == 2
    assert os.getpid() not in pids
    assert {s.pid for s in run.shares} == pids
    assert run.done == 40
    assert sorted(s.done for s in run.shares) == sorted(items_in(f) for f in files)
    # AND its CPU is the instances' own, summed: at least what each call spent, none of it in this process
    assert run.cpu_per_item >= CPU_PER_CALL


def items_in(file: Path) -> int:
    return len(file.read_text().split())


def test_an_instance_that_fails_to_prepare_fails_the_run_and_leaves_no_instance_waiting(
    pool: InstancePool, tmp_path: Path
) -> None:
    # GIVEN a job that one of the two instances cannot prepare (the other then waits for it to start)
    # WHEN it runs
    with pytest.raises(RuntimeError) as failed:
        pool.run(fail_in_the_first, (str(tmp_path),), threads=1, total=4)
    # THEN the run fails with that instance's traceback
    assert "ValueError: this instance could not build its deps" in str(failed.value)
    # AND the pool runs the next job with both instances
    run = pool.run(burn_and_record, (str(tmp_path / "next"),), threads=1, total=4)
    assert run.done == 4
    assert len(run.shares) == 2


def test_a_run_is_timed_from_the_first_start_to_the_last_finish_and_its_cpu_is_summed() -> None:
    # GIVEN two shares that overlap
    run = Run((Share(10.0, 12.0, 0.5, 30, 1), Share(10.5, 14.0, 0.7, 10, 2)))
    # THEN the run lasted from 10.0 to 14.0, did 40 items (10 a second) at 30 ms of CPU each
    assert run.wall == 4.0
    assert run.done == 40
    assert run.rate == 10.0
    assert run.cpu_per_item == pytest.approx(0.03)


def test_the_two_by_five_shape_delivers_every_webhook_once_from_two_instance_processes(
    moto_url: str,
    monkeypatch: pytest.MonkeyPatch,
    partner_server: Callable[..., PartnerServer],
) -> None:
    # GIVEN a partner's secret and settings on moto's server, a receiver, and two instance processes that
    # call moto through their own (lean) clients, as the bench starts them
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    receiver = partner_server()
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_url)
    secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_url)
    stack = build_partner_stack(sqs, secrets, receiver.url, partner_id="twobyfive", capture_lines=False)
    with instance_pool(2, initializer=_quiet_logging) as instances:
        # WHEN the handler shape delivers 6 batches, then the bare loop posts 30 times, split the same way
        handler = process_instances_run(instances, stack, posts=5, batches=6)
        bare = process_bare_run(instances, receiver.url, threads=5, total=30)
    # THEN the handler's 60 webhooks (and each instance's 1-webhook warm-up batch) arrived once each, signed
    headers = [{k.lower(): v for k, v in r.headers.items()} for r in receiver.received]
    signed = [h for h in headers if "webhook-signature" in h]
    ids = Counter(h["webhook-id"] for h in signed)
    assert len(ids) == 62
    assert set(ids.values()) == {1}
    assert handler.done == 60
    # AND two processes handled them, neither of them this one
    assert len({s.pid for s in handler.shares} - {os.getpid()}) == 2
    # AND the bare loop's 30 POSTs arrived too, unsigned
    assert len(headers) - len(signed) == 30
    assert bare.done == 30
