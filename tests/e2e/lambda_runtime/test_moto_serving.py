"""What the embedded AWS's server costs per request and per fleet (``hookrelay_local.moto_serving``).

moto's dispatcher listed its package directory (and stat'ed each of ~180 entries) for every request;
the embedded AWS lists it once. Long-lived server processes tune their collector: start-up heap frozen,
full collections 10 times rarer; the benches' stack undoes it when done.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import moto
import pytest

from hookrelay_local.moto_serving import FULL_COLLECTION_EVERY, collector_tuned
from tests.support.lambda_runtime import LocalAws

MOTO_PACKAGE = Path(moto.__file__).parent


@pytest.fixture
def moto_package_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``os.listdir`` of moto's package directory made while the test runs (any thread)."""
    listed: list[str] = []
    listdir = os.listdir

    def counting(path: str | os.PathLike[str] = ".") -> list[str]:
        if Path(path) == MOTO_PACKAGE:
            listed.append(str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counting)
    return listed


def test_serving_requests_does_not_list_motos_package(
    local_aws: LocalAws, moto_package_listings: list[str]
) -> None:
    # GIVEN the embedded AWS serving a queue, each call below made once (moto loads a service's model,
    # listing its directories, the first time it serves the service)
    url = local_aws.sqs.create_queue(QueueName="serving-cost")["QueueUrl"]

    def calls() -> None:
        local_aws.sqs.send_message(QueueUrl=url, MessageBody="x")
        local_aws.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        local_aws.lambda_.list_event_source_mappings()

    calls()
    moto_package_listings.clear()
    # WHEN it serves them again (each dispatched by the service its host names)
    calls()
    # THEN moto's package directory was not listed for any of them (moto lists it once a request)
    assert moto_package_listings == []


def test_a_tuned_collector_freezes_the_heap_and_runs_full_collections_less_often() -> None:
    # GIVEN this process's collector as CPython sets it
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    # WHEN tuned for a while, as bench-scale's stack process is
    with collector_tuned():
        # THEN what is alive is frozen and full collections wait for 100 collections of generation 1
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], FULL_COLLECTION_EVERY)
    # AND afterwards everything is as it was
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
