"""The local runtime's cost does not grow with the partners: API calls per discovery tick, gone partners.

Counts, not wall time: every Lambda API call the runtime's discovery client makes is counted through
botocore's ``before-call`` event.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.poller import MappingConfig
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from tests.support.lambda_runtime import LocalAws, Partner, create_partner, wait_for

pytestmark = pytest.mark.e2e

STUB = "stub.handle"


def count_lambda_calls(runtime: LocalLambdaRuntime) -> Counter[str]:
    """A live count of the Lambda operations the runtime calls from now on."""
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    runtime.lambda_client.meta.events.register("before-call.lambda", record)
    return calls


def partners(local_aws: LocalAws, count: int, prefix: str) -> list[Partner]:
    return [
        create_partner(local_aws, f"{prefix}{i}", "http://127.0.0.1:9/x", handler=STUB) for i in range(count)
    ]


def calls_over_ticks(runtime: LocalLambdaRuntime, ticks: int) -> Counter[str]:
    calls = count_lambda_calls(runtime)
    for _ in range(ticks):
        runtime.discover()
    return calls


@pytest.mark.parametrize("count", [2, 12])
def test_discovery_calls_per_tick_do_not_grow_with_the_partners(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], count: int
) -> None:
    # GIVEN a runtime polling `count` idle partners (discovery driven by hand, one sweep every 5 ticks)
    partners(local_aws, count, "idle")
    runtime = start_runtime(invokers={STUB: lambda *_: None}, discovery_interval_s=3600)
    assert len(runtime.active_mappings()) == count

    # WHEN ten discovery ticks run and nothing changed
    calls = calls_over_ticks(runtime, 10)

    # THEN each tick made one listing of the mappings and two re-reads of reserved concurrency (functions
    # in turn), and every fifth one listing of the functions: the same calls whatever the partners
    assert calls == Counter({"ListEventSourceMappings": 10, "ListFunctions": 2, "GetFunctionConcurrency": 20})


def test_only_a_changed_function_is_read_again(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN a runtime polling five idle partners (no re-reads in turn: the sweep's own reads are counted)
    first, *_others = partners(local_aws, 5, "calm")
    runtime = start_runtime(invokers={STUB: lambda *_: None}, discovery_interval_s=3600, rereads_per_tick=0)

    # WHEN one function's timeout changes and five ticks run (one function sweep)
    local_aws.lambda_.update_function_configuration(FunctionName=first.function_name, Timeout=7)
    calls = calls_over_ticks(runtime, 5)

    # THEN only that function's reserved concurrency was read again, and its new timeout applies
    assert calls == Counter({"ListEventSourceMappings": 5, "ListFunctions": 1, "GetFunctionConcurrency": 1})
    assert runtime.active_functions()[first.function_name].timeout == 7


def test_a_deleted_mapping_is_no_longer_polled(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN a runtime polling two partners
    gone, kept = partners(local_aws, 2, "del")
    runtime = start_runtime(invokers={STUB: lambda *_: None})
    wait_for(lambda: runtime.polling() == {gone.function_name, kept.function_name})

    # WHEN one partner's mapping is deleted
    local_aws.lambda_.delete_event_source_mapping(UUID=gone.mapping_uuid)

    # THEN its poller stops (its last long poll ends), the other keeps polling
    wait_for(lambda: runtime.polling() == {kept.function_name})
    assert set(runtime.active_mappings()) == {kept.mapping_uuid}


def test_a_deleted_queue_stops_its_poller_with_one_log_line(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a runtime polling two partners, with a mapping left behind when its queue is deleted
    gone, kept = partners(local_aws, 2, "q")
    caplog.set_level(logging.INFO)
    runtime = start_runtime(invokers={STUB: lambda *_: None})
    wait_for(lambda: runtime.polling() == {gone.function_name, kept.function_name})

    # WHEN the queue is deleted and the runtime runs many more ticks (its mapping still listed)
    local_aws.sqs.delete_queue(QueueUrl=gone.queue_url)
    wait_for(lambda: runtime.polling() == {kept.function_name})
    for _ in range(20):
        runtime.discover()

    # THEN it is not polled again, and the runtime said so once, with no retry warnings
    assert runtime.polling() == {kept.function_name}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["queue does not exist: polling stopped"]


def count_entries_read(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """A live count of the listing entries discovery turns into configurations (mappings, functions)."""
    read: Counter[str] = Counter()
    for kind, config in (("mappings", MappingConfig), ("functions", FunctionConfig)):
        original = config.from_api

        def counted(cls: Any, *args: Any, _original: Any = original, _kind: str = kind) -> Any:
            read[_kind] += 1
            return _original(*args)

        monkeypatch.setattr(config, "from_api", classmethod(counted))
    return read


def test_an_idle_tick_reads_no_listing_entry_again(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a runtime polling twelve idle partners (discovery driven by hand)
    partners(local_aws, 12, "still")
    runtime = start_runtime(invokers={STUB: lambda *_: None}, discovery_interval_s=3600)
    calls_over_ticks(runtime, 5)  # both listings as they stand now have been read once
    polled = runtime.active_mappings()

    # WHEN ten more ticks run (two of them list the functions) and nothing changed
    read = count_entries_read(monkeypatch)
    calls = calls_over_ticks(runtime, 10)

    # THEN the listings were called as usual, but not one mapping or function entry was read again
    assert calls["ListEventSourceMappings"] == 10
    assert calls["ListFunctions"] == 2
    assert read == Counter()
    assert runtime.active_mappings() == polled


def test_a_tick_after_a_change_reads_the_listing_again(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a runtime polling three idle partners, its listing read
    first, *_others = partners(local_aws, 3, "moved")
    runtime = start_runtime(invokers={STUB: lambda *_: None}, discovery_interval_s=3600)
    runtime.discover()
    read = count_entries_read(monkeypatch)

    # WHEN one mapping's batch size changes and one tick runs
    local_aws.lambda_.update_event_source_mapping(UUID=first.mapping_uuid, BatchSize=3)
    runtime.discover()

    # THEN that tick read every mapping entry again (and the changed mapping's function), and the
    # change applies
    assert read == Counter({"mappings": 3, "functions": 1})
    assert runtime.active_mappings()[first.mapping_uuid].batch_size == 3
