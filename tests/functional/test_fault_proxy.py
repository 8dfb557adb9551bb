"""The fault proxy in front of moto's server: each fault as botocore sees it, and what moto then holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

from hookrelay_local.embedded_aws import endpoint_url, queue_messages, start_moto_server
from hookrelay_local.fault_plan import Fault, FaultPlan, FaultRule
from hookrelay_local.fault_proxy import FaultProxy

ONE_TRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
TWO_TRIES = Config(retries={"total_max_attempts": 2, "mode": "standard"})


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = start_moto_server(0)
    yield endpoint_url(server)
    server.stop()


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    running = FaultProxy(moto_url).start()
    yield running
    running.stop()


def every(match: str, fault: Fault) -> FaultPlan:
    return FaultPlan(rules=[FaultRule(match=match, shares={fault: 1.0})], slow_seconds=0.5)


def client(service: str, url: str, config: Config = ONE_TRY) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def test_a_send_message_reset_after_moto_applied_it_is_on_the_queue_while_the_caller_sees_a_reset(
    proxy: FaultProxy, moto_url: str
) -> None:
    # GIVEN a queue, and a proxy resetting every SendMessage after moto applied it
    queue = client("sqs", moto_url).create_queue(QueueName="reset-after")["QueueUrl"]
    proxy.injector.replace(every("sqs.SendMessage", Fault.RESET_AFTER))
    # WHEN a message is sent through the proxy (no retries)
    with pytest.raises(ConnectionClosedError):
        client("sqs", proxy.url).send_message(QueueUrl=queue, MessageBody="applied, answer lost")
    # THEN the caller saw a connection error, yet the message is on the queue, and the fault was counted
    assert [m["body"] for m in queue_messages(queue)] == ["applied, answer lost"]
    assert proxy.injector.report()["injected"] == {"reset_after sqs.SendMessage": 1}


def test_a_send_message_reset_before_it_reaches_moto_is_not_on_the_queue(
    proxy: FaultProxy, moto_url: str
) -> None:
    # GIVEN a queue, and a proxy resetting every SendMessage before forwarding it
    queue = client("sqs", moto_url).create_queue(QueueName="reset-before")["QueueUrl"]
    proxy.injector.replace(every("sqs.SendMessage", Fault.RESET_BEFORE))
    # WHEN a message is sent through the proxy (no retries)
    with pytest.raises(ConnectionClosedError):
        client("sqs", proxy.url).send_message(QueueUrl=queue, MessageBody="never arrives")
    # THEN the queue is empty
    assert queue_messages(queue) == []


THROTTLED: dict[str, tuple[Callable[[Any], object], str, int]] = {
    "sqs": (lambda c: c.get_queue_url(QueueName="any"), "RequestThrottled", 400),
    "dynamodb": (
        lambda c: c.get_item(TableName="t", Key={"k": {"S": "a"}}),
        "ProvisionedThroughputExceededException",
        400,
    ),
    "lambda": (lambda c: c.list_functions(), "TooManyRequestsException", 429),
    "s3": (lambda c: c.list_objects_v2(Bucket="b"), "SlowDown", 503),
    "iam": (lambda c: c.list_roles(), "Throttling", 400),
    "secretsmanager": (lambda c: c.get_secret_value(SecretId="s"), "ThrottlingException", 400),
    "cloudwatch": (lambda c: c.describe_alarms(), "ThrottlingException", 400),
}


@pytest.mark.parametrize("service", sorted(THROTTLED))
def test_a_throttle_comes_back_in_the_services_format_and_botocore_retries_it_as_throttling(
    proxy: FaultProxy, service: str
) -> None:
    # GIVEN a proxy throttling every call
    proxy.injector.replace(every("*", Fault.THROTTLE))
    call, code, status = THROTTLED[service]
    # WHEN a client in botocore's standard retry mode (two tries) calls through it
    with pytest.raises(ClientError) as raised:
        call(client(service, proxy.url, TWO_TRIES))
    # THEN botocore parsed the service's throttling error, classified it as throttling, and retried it once
    response = raised.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    context = RetryContext(attempt_number=1, parsed_response=response)
    assert ThrottledRetryableChecker().is_retryable(context) is True
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.injector.report()["by_kind"] == {"throttle": 2}


def test_a_500_comes_back_in_the_services_format_and_is_retried(proxy: FaultProxy) -> None:
    # GIVEN a proxy answering 500 to every DynamoDB call
    proxy.injector.replace(every("dynamodb.*", Fault.ERROR500))
    # WHEN a client in standard retry mode (two tries) reads an item
    with pytest.raises(ClientError) as raised:
        client("dynamodb", proxy.url, TWO_TRIES).get_item(TableName="t", Key={"k": {"S": "a"}})
    # THEN it saw DynamoDB's InternalFailure 500 after one retry
    response = raised.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InternalFailure",
        500,
    )
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.injector.report()["injected"] == {"error500 dynamodb.GetItem": 2}


def test_a_slow_answer_arrives_late_and_whole(proxy: FaultProxy, moto_url: str) -> None:
    # GIVEN a queue, and a proxy answering every CreateQueue 0.5 s late
    proxy.injector.replace(every("sqs.CreateQueue", Fault.SLOW))
    # WHEN a queue is created through the proxy
    started = time.monotonic()
    url = client("sqs", proxy.url).create_queue(QueueName="slow")["QueueUrl"]
    # THEN the answer is moto's, at least half a second late
    assert time.monotonic() - started >= 0.5
    assert url.endswith("/slow")
    assert proxy.injector.report()["injected"] == {"slow sqs.CreateQueue": 1}


def test_rest_calls_are_named_by_botocores_model(proxy: FaultProxy) -> None:
    # GIVEN a proxy that throttles every call (so none reaches moto)
    proxy.injector.replace(every("*", Fault.THROTTLE))
    lam = client("lambda", proxy.url)
    # WHEN Lambda's REST calls go through it
    for call in (
        lambda: lam.get_function(FunctionName="f"),
        lambda: lam.create_event_source_mapping(EventSourceArn="arn:aws:sqs:us-east-1:1:q", FunctionName="f"),
        lambda: lam.list_event_source_mappings(),
        lambda: lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=2),
    ):
        with pytest.raises(ClientError):
            call()
    # THEN each is counted under its API name
    assert set(proxy.injector.report()["injected"]) == {
        "throttle lambda.GetFunction",
        "throttle lambda.CreateEventSourceMapping",
        "throttle lambda.ListEventSourceMappings",
        "throttle lambda.PutFunctionConcurrency",
    }
