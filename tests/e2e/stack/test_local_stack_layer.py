"""`make run`'s bootstrap uploads the handler's two zips; partners created there share one layer version.

The local runtime runs the handler in-process, so the layer is only published and attached here (what
runs with it is tests/e2e/test_handler_package.py)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator

import pytest
import requests

from hookrelay import naming
from hookrelay_local.artifacts import build_handler_artifact
from hookrelay_local.stack import LocalStack, StackOptions

pytestmark = pytest.mark.e2e
STAGE = "lyr"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(aws_port=0, api_port=0, receiver_port=0, stage=STAGE)
    with LocalStack(options) as running:
        yield running


def test_partners_on_the_local_stack_run_the_small_zip_with_one_shared_layer(stack: LocalStack) -> None:
    s3, lam = stack.client("s3"), stack.client("lambda")
    bucket = naming.artifact_bucket(STAGE)
    # GIVEN the stack bootstrapped: latest.json names the handler's code zip and its layer zip
    pointer = json.loads(s3.get_object(Bucket=bucket, Key=naming.HANDLER_ARTIFACT_POINTER)["Body"].read())
    build = build_handler_artifact()
    assert s3.head_object(Bucket=bucket, Key=pointer["key"])["ContentLength"] == build.code.stat().st_size
    assert (
        s3.head_object(Bucket=bucket, Key=pointer["layer_key"])["ContentLength"] == build.layer.stat().st_size
    )
    # WHEN two partners are created through the API
    for partner_id in ("alpha", "beta"):
        answer = requests.post(
            f"{stack.api_url}/partners",
            json={"partner_id": partner_id, "url": "http://127.0.0.1:9/"},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
    # THEN the layer was published once, and both functions run the small zip with that version
    [version] = lam.list_layer_versions(LayerName=naming.handler_layer(STAGE))["LayerVersions"]
    for partner_id in ("alpha", "beta"):
        function = lam.get_function(FunctionName=naming.partner_function(STAGE, partner_id))["Configuration"]
        assert [layer["Arn"] for layer in function["Layers"]] == [version["LayerVersionArn"]]
        assert function["CodeSize"] == build.code.stat().st_size
    assert zipfile.ZipFile(build.code).namelist()[0] == "app.py"
