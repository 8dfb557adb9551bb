"""What the runtime notices without a change to the function or its mapping: a reserved-concurrency-only
change (re-read in turn) and a mapping made against an alias (it runs the version the alias names)."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime
from tests.support.lambda_runtime import ROLE_ARN, LocalAws, create_partner, wait_for

pytestmark = pytest.mark.e2e

STUB = "stub.handle"


def count_lambda_calls(runtime: LocalLambdaRuntime) -> Counter[str]:
    calls: Counter[str] = Counter()
    runtime.lambda_client.meta.events.register(
        "before-call.lambda", lambda model, **_: calls.update([model.name])
    )
    return calls


def test_a_reserved_concurrency_only_change_is_seen_when_its_turn_comes(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN a runtime polling four idle partners, none with reserved concurrency, re-reading 2 a tick
    partners = [create_partner(local_aws, f"conc{i}", "http://127.0.0.1:9/x", handler=STUB) for i in range(4)]
    runtime = start_runtime(invokers={STUB: lambda *_: None}, discovery_interval_s=3600, rereads_per_tick=2)
    assert runtime.active_functions()[partners[3].function_name].reserved_concurrency is None

    # WHEN only the last one's reserved concurrency is put (no change to the function or its mapping)
    # and two ticks run (4 functions / 2 a tick)
    local_aws.lambda_.put_function_concurrency(
        FunctionName=partners[3].function_name, ReservedConcurrentExecutions=1
    )
    calls = count_lambda_calls(runtime)
    runtime.discover()
    runtime.discover()

    # THEN its poller runs with it, at two concurrency reads a tick and nothing else per partner
    assert runtime.active_functions()[partners[3].function_name].reserved_concurrency == 1
    assert calls == Counter({"ListEventSourceMappings": 2, "GetFunctionConcurrency": 4})


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stub.py", "def handle(event, context):\n    return None\n")
    return buffer.getvalue()


def _set_environment(local_aws: LocalAws, name: str, value: str) -> str:
    """Change $LATEST's environment and publish it; return the new version."""
    local_aws.lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"V": value}}
    )
    return str(local_aws.lambda_.publish_version(FunctionName=name)["Version"])


def test_a_mapping_on_an_alias_runs_the_version_the_alias_names(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN a function whose alias `live` names version 1 (V=one) while $LATEST says V=latest, and a
    # mapping made against the alias's ARN; a runtime (discovery by hand, no re-reads in turn)
    queue_url = local_aws.sqs.create_queue(QueueName="aliased")["QueueUrl"]
    local_aws.lambda_.create_function(
        FunctionName="aliased-handler",
        Runtime="python3.11",
        Role=ROLE_ARN,
        Handler=STUB,
        Code={"ZipFile": _code()},
        Environment={"Variables": {"V": "zero"}},
    )
    first = _set_environment(local_aws, "aliased-handler", "one")
    alias = local_aws.lambda_.create_alias(FunctionName="aliased-handler", Name="live", FunctionVersion=first)
    local_aws.lambda_.update_function_configuration(
        FunctionName="aliased-handler", Environment={"Variables": {"V": "latest"}}
    )
    mapping = local_aws.lambda_.create_event_source_mapping(
        EventSourceArn="arn:aws:sqs:us-east-1:123456789012:aliased", FunctionName=alias["AliasArn"]
    )
    seen: list[str] = []

    def stub(event: dict[str, Any], function: FunctionConfig) -> None:
        seen.append(function.environment["V"])

    runtime = start_runtime(invokers={STUB: stub}, discovery_interval_s=3600, rereads_per_tick=0)

    # WHEN a message arrives
    local_aws.sqs.send_message(QueueUrl=queue_url, MessageBody="a")

    # THEN the mapping keeps the alias's ARN and the function runs with version 1's environment
    assert mapping["FunctionArn"] == alias["AliasArn"]
    wait_for(lambda: seen == ["one"])

    # WHEN a rollout publishes version 2 (V=two) and moves the alias, and two function sweeps run
    second = _set_environment(local_aws, "aliased-handler", "two")
    local_aws.lambda_.update_alias(FunctionName="aliased-handler", Name="live", FunctionVersion=second)
    for _ in range(10):
        runtime.discover()
    local_aws.sqs.send_message(QueueUrl=queue_url, MessageBody="b")

    # THEN the next message runs with version 2's environment
    wait_for(lambda: seen == ["one", "two"])
    assert runtime.active_functions()["aliased-handler"].environment == {"V": "two"}


def _aliased_partner(local_aws: LocalAws, name: str) -> None:
    """A function published as version 1, alias `live` on it ($LATEST unchanged since), mapped by alias."""
    local_aws.sqs.create_queue(QueueName=name)
    local_aws.lambda_.create_function(
        FunctionName=f"{name}-handler",
        Runtime="python3.11",
        Role=ROLE_ARN,
        Handler=STUB,
        Code={"ZipFile": _code()},
    )
    version = local_aws.lambda_.publish_version(FunctionName=f"{name}-handler")["Version"]
    alias = local_aws.lambda_.create_alias(
        FunctionName=f"{name}-handler", Name="live", FunctionVersion=version
    )
    local_aws.lambda_.create_event_source_mapping(
        EventSourceArn=f"arn:aws:sqs:us-east-1:123456789012:{name}", FunctionName=alias["AliasArn"]
    )


def test_a_new_alias_whose_latest_is_its_release_is_not_read_again_by_the_first_sweep(
    local_aws: LocalAws, start_runtime: Callable[..., LocalLambdaRuntime]
) -> None:
    # GIVEN three partners mapped by alias, each alias on the release $LATEST still holds, and a runtime
    # that has read them (discovery by hand, no re-reads in turn)
    for i in range(3):
        _aliased_partner(local_aws, f"fresh{i}")
    runtime = start_runtime(invokers={STUB: lambda *_: None}, discovery_interval_s=3600, rereads_per_tick=0)
    assert len(runtime.active_functions()) == 3

    # WHEN five ticks run: the first function sweep lists them
    calls = count_lambda_calls(runtime)
    for _ in range(5):
        runtime.discover()

    # THEN nothing was read again per partner: the listings only
    assert calls == Counter({"ListEventSourceMappings": 5, "ListFunctions": 1})
