"""The lean AWS caller (hookrelay.aws.wire) answers, fails and retries as botocore's client does.

Against a real moto server on loopback (the same AWS API botocore speaks to), and a tiny loopback HTTP
server playing AWS when AWS must misbehave (503s, throttling, a connection refused).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError

from hookrelay.aws.errors import aws_error
from hookrelay.aws.wire import SecretsWire, SqsWire
from hookrelay.errors import NotFound

REGION = "us-east-1"
PER_CALL = ("ResponseMetadata",)


@pytest.fixture
def boto_sqs(moto_url: str) -> Any:
    return boto3.client("sqs", region_name=REGION, endpoint_url=moto_url)


@pytest.fixture
def queue_url(boto_sqs: Any, request: pytest.FixtureRequest) -> str:
    return str(boto_sqs.create_queue(QueueName=f"wire-{request.node.name[:60]}")["QueueUrl"])


def without(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in (*PER_CALL, *keys)}


def failure(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


# --- answers ------------------------------------------------------------------------------------------


def test_send_message_answers_as_botocore_does(moto_url: str, boto_sqs: Any, queue_url: str) -> None:
    # GIVEN a message with a string and a binary attribute
    params = {
        "QueueUrl": queue_url,
        "MessageBody": '{"n": 1}',
        "DelaySeconds": 0,
        "MessageAttributes": {
            "Kind": {"DataType": "String", "StringValue": "test"},
            "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    }
    # WHEN the lean client and botocore each send it
    lean = SqsWire(moto_url, REGION).send_message(**params)
    boto = boto_sqs.send_message(**params)

    # THEN the answers agree (the same checksums: the same message reached SQS), ids aside
    assert without(lean, "MessageId") == without(boto, "MessageId")
    assert set(lean) == set(boto)
    assert lean["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert lean["ResponseMetadata"]["RetryAttempts"] == 0


def test_send_message_batch_answers_as_botocore_does(moto_url: str, boto_sqs: Any, queue_url: str) -> None:
    # GIVEN ten entries
    entries = [{"Id": str(i), "MessageBody": f"body {i}"} for i in range(10)]

    # WHEN the lean client and botocore each send them in one batch
    lean = SqsWire(moto_url, REGION).send_message_batch(QueueUrl=queue_url, Entries=entries)
    boto = boto_sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

    # THEN both report the same ten successes (ids aside) and no failure
    def shape(answer: dict[str, Any]) -> list[tuple[str, str]]:
        return [(ok["Id"], ok["MD5OfMessageBody"]) for ok in answer["Successful"]]

    assert shape(lean) == shape(boto)
    assert len(shape(lean)) == 10
    assert lean.get("Failed", []) == boto.get("Failed", []) == []


def test_receive_message_reads_a_message_as_botocore_reads_it(
    moto_url: str, boto_sqs: Any, queue_url: str
) -> None:
    # GIVEN a message with a string and a binary attribute on the queue
    boto_sqs.send_message(
        QueueUrl=queue_url,
        MessageBody="hello",
        MessageAttributes={
            "Kind": {"DataType": "String", "StringValue": "test"},
            "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )
    params = {
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": 10,
        "MessageSystemAttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    # WHEN the lean client receives it, then botocore once it is visible again
    (lean,) = SqsWire(moto_url, REGION).receive_message(**params)["Messages"]
    handle = lean["ReceiptHandle"]
    boto_sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    (boto,) = boto_sqs.receive_message(**params)["Messages"]

    # THEN both read the same message, the binary value as bytes
    per_receive = ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp")
    for message in (lean, boto):
        message.pop("ReceiptHandle")
        for name in per_receive:
            message["Attributes"].pop(name)
    assert lean == boto
    assert lean["MessageAttributes"]["Blob"]["BinaryValue"] == b"\x00\x01\xff"


def test_get_secret_value_answers_as_botocore_does(moto_url: str) -> None:
    # GIVEN a secret
    boto_secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url)
    boto_secrets.create_secret(Name="wire/answer", SecretString='{"keys": []}')

    # WHEN the lean client and botocore each read it
    lean = SecretsWire(moto_url, REGION).get_secret_value(SecretId="wire/answer")
    boto = boto_secrets.get_secret_value(SecretId="wire/answer")

    # THEN the answers are equal, CreatedDate a datetime as botocore's
    assert without(lean) == without(boto)
    assert lean["SecretString"] == '{"keys": []}'


def test_the_visibility_delete_and_lookup_calls_answer_as_botocore_does(
    moto_url: str, boto_sqs: Any, queue_url: str
) -> None:
    # GIVEN four received messages (an ordered partner's handler hides and releases them; the runtime
    # deletes them)
    boto_sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(4)]
    )
    received = boto_sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=4)["Messages"]
    handles = [m["ReceiptHandle"] for m in received]
    lean = SqsWire(moto_url, REGION)
    name = queue_url.rsplit("/", 1)[-1]

    # WHEN the lean client and botocore each look the queue up, hide one, release two and delete one
    urls = [c.get_queue_url(QueueName=name)["QueueUrl"] for c in (lean, boto_sqs)]
    hidden = [
        without(c.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=h, VisibilityTimeout=60))
        for c, h in ((lean, handles[0]), (boto_sqs, handles[1]))
    ]
    released = [
        without(
            c.change_message_visibility_batch(
                QueueUrl=queue_url, Entries=[{"Id": "0", "ReceiptHandle": h, "VisibilityTimeout": 0}]
            )
        )
        for c, h in ((lean, handles[2]), (boto_sqs, handles[3]))
    ]
    deleted = [
        without(c.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": "0", "ReceiptHandle": h}]))
        for c, h in ((lean, handles[0]), (boto_sqs, handles[1]))
    ]

    # THEN the answers are the same
    assert urls == [queue_url, queue_url]
    assert hidden[0] == hidden[1] == {}
    assert released[0] == released[1]
    assert released[0]["Successful"] == [{"Id": "0"}]
    assert deleted[0] == deleted[1]
    assert deleted[0]["Successful"] == [{"Id": "0"}]


# --- errors -------------------------------------------------------------------------------------------


def test_a_missing_queue_is_the_error_botocore_raises(moto_url: str, boto_sqs: Any, queue_url: str) -> None:
    # GIVEN a queue that was deleted
    boto_sqs.delete_queue(QueueUrl=queue_url)

    # WHEN the lean client and botocore each send to it
    lean = failure(lambda: SqsWire(moto_url, REGION).send_message(QueueUrl=queue_url, MessageBody="x"))
    boto = failure(lambda: boto_sqs.send_message(QueueUrl=queue_url, MessageBody="x"))

    # THEN the same error, code and message, which the domain mapping reads as a missing queue
    assert lean.response["Error"] == boto.response["Error"]
    assert lean.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert str(lean) == str(boto)
    assert isinstance(aws_error("send", lean, missing="gone"), NotFound)


def test_an_oversized_batch_is_the_error_botocore_raises(
    moto_url: str, boto_sqs: Any, queue_url: str
) -> None:
    # GIVEN eleven entries (SQS takes ten)
    entries = [{"Id": str(i), "MessageBody": "x"} for i in range(11)]

    # WHEN the lean client and botocore each send them
    lean = failure(lambda: SqsWire(moto_url, REGION).send_message_batch(QueueUrl=queue_url, Entries=entries))
    boto = failure(lambda: boto_sqs.send_message_batch(QueueUrl=queue_url, Entries=entries))

    # THEN the same error
    assert lean.response["Error"] == boto.response["Error"]
    assert lean.response["Error"]["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


def test_a_missing_secret_is_the_error_botocore_raises(moto_url: str) -> None:
    # GIVEN no secret called wire/none
    boto_secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url)

    # WHEN the lean client and botocore each read it
    lean = failure(lambda: SecretsWire(moto_url, REGION).get_secret_value(SecretId="wire/none"))
    boto = failure(lambda: boto_secrets.get_secret_value(SecretId="wire/none"))

    # THEN the same error
    assert lean.response["Error"] == boto.response["Error"]
    assert lean.response["Error"]["Code"] == "ResourceNotFoundException"


# --- retries against a misbehaving AWS ------------------------------------------------------------------


class FakeAws:
    """A loopback HTTP server answering each request with the next canned (status, headers, body)."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append({"headers": dict(self.headers.items()), "body": body})
                status, headers, data = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
                lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(data)}", "Connection: close"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_aws() -> Iterator[Any]:
    started: list[FakeAws] = []

    def start(*answers: tuple[int, dict[str, str], bytes]) -> FakeAws:
        started.append(FakeAws(list(answers)))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


JSON = {"Content-Type": "application/x-amz-json-1.0"}
SENT = (200, JSON, b'{"MessageId": "m-1", "MD5OfMessageBody": "x"}')
UNAVAILABLE = (503, {}, b"")
THROTTLED = (
    400,
    {**JSON, "x-amzn-query-error": "RequestThrottled;Sender"},
    b'{"__type": "com.amazonaws.sqs#RequestThrottled"}',
)


def lean_client(url: str, slept: list[float], credentials: Credentials | None = None) -> SqsWire:
    return SqsWire(url, REGION, credentials, sleep=slept.append, rand=lambda: 1.0)


def test_a_503_is_retried_after_a_short_backoff_then_succeeds(fake_aws: Any) -> None:
    # GIVEN an AWS that answers 503 once, then accepts
    fake = fake_aws(UNAVAILABLE, SENT)
    slept: list[float] = []

    # WHEN a message is sent
    answer = lean_client(fake.url, slept).send_message(QueueUrl="q", MessageBody="x")

    # THEN it was sent twice, each time signed, after botocore's non-throttling backoff (50 ms at most)
    assert answer["MessageId"] == "m-1"
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(fake.requests) == 2
    assert all(r["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ") for r in fake.requests)
    assert {r["headers"]["X-Amz-Target"] for r in fake.requests} == {"AmazonSQS.SendMessage"}
    assert slept == [0.05]


def test_throttling_is_retried_with_the_throttling_backoff(fake_aws: Any) -> None:
    # GIVEN an AWS that throttles twice, then accepts
    fake = fake_aws(THROTTLED, THROTTLED, SENT)
    slept: list[float] = []

    # WHEN a message is sent
    answer = lean_client(fake.url, slept).send_message(QueueUrl="q", MessageBody="x")

    # THEN it went through on the third try, after 1 s then 2 s (botocore's throttling scale, jitter 1)
    assert answer["MessageId"] == "m-1"
    assert len(fake.requests) == 3
    assert slept == [1.0, 2.0]


def test_503s_raise_the_error_botocore_raises_after_its_six_attempts(fake_aws: Any) -> None:
    # GIVEN an AWS that always answers 503
    fake = fake_aws(UNAVAILABLE)
    slept: list[float] = []

    # WHEN a message is sent
    error = failure(lambda: lean_client(fake.url, slept).send_message(QueueUrl="q", MessageBody="x"))

    # THEN six attempts (botocore's max_attempts=5 counts retries), then botocore's error for a bodiless 5xx
    assert len(fake.requests) == 6
    assert error.response["Error"] == {"Code": "503", "Message": "Service Unavailable"}
    assert "reached max retries: 5" in str(error)
    assert slept == [0.05, 0.1, 0.2, 0.4, 0.8]


def test_a_client_error_is_not_retried(fake_aws: Any) -> None:
    # GIVEN an AWS that refuses the request as invalid
    invalid = (400, JSON, b'{"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": "bad"}')
    fake = fake_aws(invalid)

    # WHEN a message is sent
    error = failure(lambda: lean_client(fake.url, []).send_message(QueueUrl="q", MessageBody="x"))

    # THEN it was tried once
    assert len(fake.requests) == 1
    assert error.response["Error"] == {"Code": "InvalidParameterValue", "Message": "bad"}


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b"[1, 2]"])
def test_a_success_whose_body_is_no_json_object_answers_nothing_as_botocore_does(
    fake_aws: Any, body: bytes
) -> None:
    # GIVEN something between us and AWS answering 200 with a body that is not a JSON object
    fake = fake_aws((200, {"Content-Type": "text/html"}, body))

    # WHEN a message is sent
    answer = lean_client(fake.url, []).send_message(QueueUrl="q", MessageBody="x")

    # THEN the answer holds no member (botocore's parser finds none), only the response's metadata
    assert set(answer) == {"ResponseMetadata"}
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_refused_connection_is_retried_then_raised_as_botocore_raises_it() -> None:
    # GIVEN an endpoint nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    slept: list[float] = []

    # WHEN a message is sent
    with pytest.raises(EndpointConnectionError) as caught:
        lean_client(url, slept).send_message(QueueUrl="q", MessageBody="x")

    # THEN six attempts, then botocore's EndpointConnectionError naming the endpoint
    assert len(slept) == 5
    assert url in str(caught.value)


SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
ACCESS_KEY = "AKIAWIRETESTACCESSKEY"


def test_no_raised_error_or_log_line_quotes_a_credential_or_the_request(
    fake_aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an AWS that always fails, and distinctive credentials and body
    fake = fake_aws((500, JSON, b'{"__type": "InternalError", "message": "boom"}'))
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, "SESSION-TOKEN-VALUE")
    body = "whsec_do_not_print_me"
    caplog.set_level(logging.DEBUG)
    # as every app configures it (observability.configure_logging): botocore's signer, whichever client
    # calls it, prints the canonical request (a session token in it) at DEBUG
    caplog.set_level(logging.WARNING, logger="botocore")

    # WHEN a send fails, and a connection is refused
    client = lean_client(fake.url, [], credentials)
    error = failure(lambda: client.send_message(QueueUrl="q", MessageBody=body))
    fake.close()
    with pytest.raises(EndpointConnectionError) as refused:
        lean_client(fake.url, [], credentials).send_message(QueueUrl="q", MessageBody=body)

    # THEN the request was signed with them, yet no error (nor its chain) nor log line quotes them
    assert ACCESS_KEY in fake.requests[0]["headers"]["Authorization"]
    assert fake.requests[0]["headers"]["X-Amz-Security-Token"] == "SESSION-TOKEN-VALUE"
    for raised in (error, refused.value):
        assert raised.__cause__ is None
        text = f"{raised} {raised!r} {json.dumps(getattr(raised, 'response', {}), default=str)}"
        for secret in (SECRET_KEY, ACCESS_KEY, "SESSION-TOKEN-VALUE", body):
            assert secret not in text
    for secret in (SECRET_KEY, ACCESS_KEY, "SESSION-TOKEN-VALUE", body):
        assert secret not in caplog.text


class Rotating:
    """Refreshable credentials as botocore hands them over: each call freezes the current set."""

    def __init__(self) -> None:
        self.keys = iter(["AKIAFIRSTKEY", "AKIASECONDKEY"])

    def get_frozen_credentials(self) -> Credentials:
        return Credentials(next(self.keys), "secret")


def test_each_call_signs_with_the_credentials_of_its_moment(fake_aws: Any) -> None:
    # GIVEN credentials that are refreshed between two calls (as a role's are before they expire)
    fake = fake_aws(SENT)
    client = lean_client(fake.url, [], Rotating())  # type: ignore[arg-type]

    # WHEN two messages are sent
    client.send_message(QueueUrl="q", MessageBody="1")
    client.send_message(QueueUrl="q", MessageBody="2")

    # THEN each was signed with the set current when it was sent
    keys = [r["headers"]["Authorization"].split("Credential=")[1].split("/")[0] for r in fake.requests]
    assert keys == ["AKIAFIRSTKEY", "AKIASECONDKEY"]


def test_without_credentials_given_botocores_resolver_finds_the_environments(
    fake_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN keys in the environment (as Lambda provides them) and a client given none
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "ENV-SESSION-TOKEN")
    fake = fake_aws(SENT)

    # WHEN a message is sent
    lean_client(fake.url, []).send_message(QueueUrl="q", MessageBody="x")

    # THEN it was signed with them
    [sent] = fake.requests
    assert f"Credential={ACCESS_KEY}/" in sent["headers"]["Authorization"]
    assert sent["headers"]["X-Amz-Security-Token"] == "ENV-SESSION-TOKEN"


def test_the_signature_is_the_one_botocore_computes_for_the_headers_it_names(
    fake_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an AWS that records what it is sent
    fake = fake_aws(SENT)
    credentials = Credentials(ACCESS_KEY, SECRET_KEY)

    # WHEN a message is sent
    lean_client(fake.url, [], credentials).send_message(QueueUrl="q", MessageBody="é, and more")

    # THEN AWS's check passes: botocore's signer, given the headers the request says it signed (as AWS
    # takes them from what arrived) at the time it says, writes the same Authorization header
    [sent] = fake.requests
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    signed = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-target", "content-type"} <= set(signed)
    stamp = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stamp)
    again = AWSRequest(
        method="POST", url=fake.url + "/", data=sent["body"], headers={n: headers[n] for n in signed}
    )
    SigV4Auth(credentials, "sqs", REGION).add_auth(again)
    assert again.headers["Authorization"] == headers["authorization"]
