"""hookrelay.aws.wire's choices, without a network: which client, which endpoint, which limits."""

from __future__ import annotations

from typing import Any

import pytest

from hookrelay.aws import clients, json_protocol, wire


@pytest.fixture(autouse=True)
def _fresh() -> None:
    wire.reset_clients()


def test_the_lean_timeouts_and_attempts_are_botocores_client_config() -> None:
    # GIVEN the config every botocore client of the core is made with
    config = clients.CLIENT_CONFIG

    # THEN the lean caller waits and tries as long as they do
    assert config.connect_timeout == json_protocol.CONNECT_TIMEOUT_S
    assert config.read_timeout == json_protocol.READ_TIMEOUT_S
    retries = dict(config.retries or {})  # botocore rewrites max_attempts (retries) as total_max_attempts
    total = retries.get("total_max_attempts") or retries["max_attempts"] + 1
    assert (retries["mode"], total) == ("standard", json_protocol.MAX_ATTEMPTS)
    assert config.max_pool_connections == json_protocol.POOL_SIZE


def test_by_default_the_clients_are_lean_and_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no switch set
    monkeypatch.delenv(wire.MODE_VARIABLE, raising=False)

    # WHEN the handler asks for its clients twice
    sqs, secrets = wire.client("sqs"), wire.client("secretsmanager")

    # THEN they are the lean ones, one per service per process, on the regional endpoints
    assert isinstance(sqs, wire.SqsWire)
    assert isinstance(secrets, wire.SecretsWire)
    assert wire.client("sqs") is sqs
    assert sqs.meta.endpoint_url == "https://sqs.us-east-1.amazonaws.com"
    assert secrets.meta.endpoint_url == "https://secretsmanager.us-east-1.amazonaws.com"


def test_the_switch_gives_botocores_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the switch set to botocore (what the functional tests under mock_aws need)
    monkeypatch.setenv(wire.MODE_VARIABLE, "botocore")

    # WHEN a client is asked for
    sqs = wire.client("sqs")

    # THEN it is the core's cached botocore client
    assert sqs is clients.client("sqs")
    assert not isinstance(sqs, json_protocol.WireClient)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, "http://127.0.0.1:5000"),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4566"},
            "http://127.0.0.1:4566",
        ),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            "https://sqs.us-east-1.amazonaws.com",
        ),
        ({"AWS_DEFAULT_REGION": "cn-north-1"}, "https://sqs.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_the_endpoint_is_chosen_as_botocore_chooses_it(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    # GIVEN endpoint variables (moto's server, LocalStack, AWS itself)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # WHEN the SQS client is made
    # THEN it calls the endpoint botocore would
    assert wire.client("sqs").meta.endpoint_url == expected


def test_a_secrets_manager_endpoint_of_its_own_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a Secrets Manager endpoint apart from the global one
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5001")

    # THEN Secrets Manager goes there, SQS to the global one
    assert wire.client("secretsmanager").meta.endpoint_url == "http://127.0.0.1:5001"
    assert wire.client("sqs").meta.endpoint_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("attempt", "throttled", "retry_after", "expected"),
    [
        (1, False, None, 0.05),
        (3, False, None, 0.2),
        (1, True, None, 1.0),
        (9, True, None, 20.0),  # capped
        (1, False, "3000", 3.0),  # x-amz-retry-after (ms) raises the delay...
        (1, False, "60000", 5.05),  # ...by at most 5 s
        (1, False, "soon", 0.05),  # an unreadable one is ignored
    ],
)
def test_the_backoff_is_botocores_standard_mode(
    attempt: int, throttled: bool, retry_after: str | None, expected: float
) -> None:
    # GIVEN a client whose jitter is fixed at its maximum
    client = wire.SqsWire("http://127.0.0.1:9", "us-east-1", rand=lambda: 1.0)

    # THEN its delay before the next attempt is botocore's
    assert client._backoff(attempt, throttled, retry_after) == pytest.approx(expected)


def test_under_mock_aws_the_clients_are_botocores_so_moto_answers_them(moto_aws: None, sqs: Any) -> None:
    # GIVEN moto's in-process mock (the moto_aws fixture sets the switch: mock_aws intercepts botocore only)
    queue_url = sqs.create_queue(QueueName="switched")["QueueUrl"]

    # WHEN the handler's kind of client sends a message
    client = wire.client("sqs")
    client.send_message(QueueUrl=queue_url, MessageBody="hello")

    # THEN it was botocore's, and the mocked queue has the message
    assert not isinstance(client, json_protocol.WireClient)
    assert sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"] == "hello"
