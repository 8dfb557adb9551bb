"""A lean AWS caller: the real JSON protocol of SQS and Secrets Manager over urllib3, SigV4-signed.

:func:`client` gives the lean client (``SqsWire``, ``SecretsWire``: duck-typed drop-ins for the
operations the handler calls, botocore's keyword arguments), or, when ``HOOKRELAY_AWS_WIRE=botocore``,
botocore's own from :func:`hookrelay.aws.clients.client` (moto's in-process ``mock_aws`` intercepts
botocore only: the functional tests set it).

The protocol itself (signing, retries, errors, endpoints, and why this is not botocore's client):
:mod:`hookrelay.aws.json_protocol`.
"""

from __future__ import annotations

import base64
import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from botocore.exceptions import NoRegionError

from hookrelay.aws.json_protocol import SECRETS_MANAGER, SQS, WireClient, endpoint_url

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_sqs import SQSClient

MODE_VARIABLE = "HOOKRELAY_AWS_WIRE"  # "lean" (the default) or "botocore"


class SqsWire(WireClient):
    """The SQS operations the handler (and the local runtime) call, as botocore's SQS client takes them."""

    protocol = SQS

    def send_message(self, **params: Any) -> dict[str, Any]:
        return self.call("SendMessage", params)

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        return self.call("SendMessageBatch", params)

    def receive_message(self, **params: Any) -> dict[str, Any]:
        answer = self.call("ReceiveMessage", params)
        for message in answer.get("Messages", []):  # binary attribute values are base64 in JSON
            for value in (message.get("MessageAttributes") or {}).values():
                if "BinaryValue" in value:
                    value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
                if "BinaryListValues" in value:
                    value["BinaryListValues"] = [base64.b64decode(v) for v in value["BinaryListValues"]]
        return answer

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self.call("DeleteMessageBatch", params)

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        return self.call("ChangeMessageVisibility", params)

    def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        return self.call("ChangeMessageVisibilityBatch", params)

    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        return self.call("GetQueueUrl", params)


class SecretsWire(WireClient):
    """Secrets Manager's ``GetSecretValue``, as botocore's client takes and answers it."""

    protocol = SECRETS_MANAGER

    def get_secret_value(self, **params: Any) -> dict[str, Any]:
        answer = self.call("GetSecretValue", params)
        if "SecretBinary" in answer:
            answer["SecretBinary"] = base64.b64decode(answer["SecretBinary"])
        if "CreatedDate" in answer:
            answer["CreatedDate"] = _timestamp(answer["CreatedDate"])
        return answer


def _timestamp(value: Any) -> datetime:
    """A JSON-protocol timestamp (epoch seconds) as an aware datetime, the instant botocore's parser gives
    (its zone is UTC here, botocore's the local zone: Lambda's is UTC); anything else through botocore's
    parser, imported only then (``botocore.utils`` and dateutil cost a cold start ~20 ms of CPU)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    from botocore.utils import parse_timestamp

    parsed: datetime = parse_timestamp(value)
    return parsed


def lean() -> bool:
    """Whether :func:`client` gives lean clients (``HOOKRELAY_AWS_WIRE`` is not ``botocore``)."""
    return os.environ.get(MODE_VARIABLE, "lean").strip().lower() != "botocore"


_lock = threading.Lock()
_clients: dict[tuple[str, str, str], WireClient] = {}
_KINDS: dict[str, type[WireClient]] = {"sqs": SqsWire, "secretsmanager": SecretsWire}


@overload
def client(service: Literal["sqs"]) -> SQSClient: ...


@overload
def client(service: Literal["secretsmanager"]) -> SecretsManagerClient: ...


def client(service: str) -> Any:
    """The process-wide caller of ``service`` ("sqs" or "secretsmanager") for the configured region and
    endpoint: lean, or botocore's cached client when ``HOOKRELAY_AWS_WIRE=botocore``."""
    if not lean():
        from hookrelay.aws import clients

        return clients.client(service)
    kind = _KINDS[service]
    region = os.environ.get("AWS_DEFAULT_REGION")  # what botocore reads first (Lambda sets it)
    if not region:
        import botocore.session

        region = botocore.session.Session().get_config_variable("region")  # the shared config file
        if not region:
            raise NoRegionError()
    url = endpoint_url(kind.protocol, region)
    key = (service, region, url)
    with _lock:
        if key not in _clients:
            _clients[key] = kind(url, region)
        return _clients[key]


def reset_clients() -> None:
    """Forget the cached lean clients (tests that change endpoints or credentials)."""
    with _lock:
        _clients.clear()
