"""Provisioner fixtures: shared resources and a handler artifact on moto, a provisioner, an API client."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from hookrelay.aws.clients import Clients
from hookrelay.partners.model import PartnerCreate
from hookrelay.provisioning.api import Api
from hookrelay.provisioning.context import Provisioner
from hookrelay.provisioning.lifecycle import Created, create_partner
from hookrelay.provisioning.resources.artifact import upload_artifact as upload_handler_artifact
from hookrelay.provisioning.resources.attempt_filter import recorder_function, recorder_handler
from hookrelay.provisioning.resources.shared import ensure_shared
from hookrelay.provisioning.settings import ProvisionerSettings
from tests.support.apps import load_app_file

STAGE = "test"
REGION = "us-east-1"
URL = "http://127.0.0.1:9/hook"
RECORDER_ROLE = "provisioner-role"  # the provisioner app's role (`chalice deploy` makes it), not a partner's
APP = Path(__file__).resolve().parents[3] / "provisioner" / "app.py"


def upload_artifact(s3: Any, bucket: str, content: str) -> str:
    """A tiny handler zip, uploaded as the newest artifact; returns its key."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", content)
    return upload_handler_artifact(buffer.getvalue(), bucket, Clients(overrides={"s3": s3})).code_key


class Failing:
    """A client whose ``method`` raises a ClientError the next ``times`` calls; the rest passes through."""

    def __init__(self, real: Any, method: str, times: int = 1, code: str = "ServiceUnavailable") -> None:
        self.real, self.method, self.remaining, self.code = real, method, times, code
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name != self.method:
            return getattr(self.real, name)

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.remaining > 0:
                self.remaining -= 1
                raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, name)
            return getattr(self.real, name)(**kwargs)

        return call


SERVICES = ("sqs", "iam", "lambda", "logs", "cloudwatch", "secretsmanager", "dynamodb", "s3", "sns")


@functools.cache
def aws(service: str) -> Any:
    """One client per service for the whole session (creating clients dominates test time).

    moto intercepts every botocore client while a mock is active, whenever the client was made.
    """
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def make_recorder(stage: str = STAGE) -> str:
    """The stage's attempt recorder function (what `chalice deploy` of the provisioner makes); its ARN.

    moto wants the function's role to exist when the function is made, and only then: the role is removed
    again, so the account's roles (counted by capacity, listed by delete's tests) stay the partners'."""
    trust = '{"Version": "2012-10-17", "Statement": []}'
    role = aws("iam").create_role(RoleName=RECORDER_ROLE, AssumeRolePolicyDocument=trust)["Role"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "")
    try:
        created = aws("lambda").create_function(
            FunctionName=recorder_function(stage),
            Runtime="python3.11",
            Role=role["Arn"],
            Handler=recorder_handler(),
            Code={"ZipFile": buffer.getvalue()},
        )
    finally:
        aws("iam").delete_role(RoleName=RECORDER_ROLE)
    return str(created["FunctionArn"])


def build_provisioner() -> Provisioner:
    """A provisioner with shared resources and one handler artifact on the active moto; loopback allowed."""
    settings = ProvisionerSettings(stage=STAGE, allowed_networks=("loopback",))
    sleeps: list[float] = []
    clients = Clients(overrides={name: aws(name) for name in SERVICES}, sleep=sleeps.append)
    provisioner = Provisioner(settings=settings, clients=clients)
    ensure_shared(STAGE, clients)
    make_recorder()
    aws("s3").create_bucket(Bucket=settings.bucket)
    upload_artifact(aws("s3"), settings.bucket, "first = 1")
    return provisioner


@pytest.fixture
def ctx(moto_aws: None) -> Provisioner:
    return build_provisioner()


@pytest.fixture
def make_partner(ctx: Provisioner) -> Any:
    def make(partner_id: str = "acme", **options: Any) -> Created:
        return create_partner(
            ctx, PartnerCreate(partner_id=partner_id, url=options.pop("url", URL), **options)
        )

    return make


@pytest.fixture
def aws_calls(ctx: Provisioner) -> Iterator[list[str]]:
    """Every AWS API call made while the test runs, as ``service:Operation`` (botocore's before-call)."""
    made: list[str] = []

    def record(model: Any, **_: Any) -> None:
        made.append(f"{model.service_model.service_name}:{model.name}")

    for service in SERVICES:
        aws(service).meta.events.register("before-call.*.*", record, unique_id="api-edges-calls")
    yield made
    for service in SERVICES:
        aws(service).meta.events.unregister("before-call.*.*", unique_id="api-edges-calls")


READS = ("Get", "List", "Describe")


def writes(made: list[str]) -> list[str]:
    """The calls of ``made`` that may change something (not a Get, List or Describe)."""
    return [c for c in made if not c.split(":", 1)[1].startswith(READS)]


load_app = load_app_file  # the one importer of an app.py (tests/support/apps.py)


@pytest.fixture(scope="session")
def app_module() -> ModuleType:
    return load_app(APP, "hookrelay_provisioner_app")


@pytest.fixture
def http(ctx: Provisioner, app_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """chalice.test.Client's HTTP side over the provisioner app, wired to the moto provisioner."""
    api = Api(ctx)
    monkeypatch.setattr(app_module, "api", lambda: api)
    with Client(app_module.app) as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """chalice.test admits IAM-authorized routes with a warning per request: expected here, not news."""
    here = Path(__file__).parent
    quiet = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(quiet)
