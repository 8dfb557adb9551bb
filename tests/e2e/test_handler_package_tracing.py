"""The packaged handler (function zip + layer, Lambda's path, nothing else) traces a sampled invocation.

``tests/functional/test_handler_tracing.py`` checks the traces with the virtualenv's packages; this
checks them with what a partner's function ships: the layer's aws-xray-sdk and wrapt, the runtime's
botocore and urllib3. It also holds the sampled cold start's cost down: the layer's wrapt is 1.x, and
neither it nor the SDK imports asyncio (wrapt 2 did, ~10 ms of CPU of a sampled cold start).
"""

from __future__ import annotations

import json
import os
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from hookrelay_local.artifacts import HandlerBuild, build_handler_artifact
from hookrelay_local.partner_server import PartnerServer
from tests.support.child import run_python
from tests.support.handler_stack import build_partner_stack
from tests.support.lambda_sandbox import LAMBDA_RUNTIME_PACKAGES
from tests.support.sqs import sqs_event
from tests.support.xray import received_segments

SAMPLED = "Root=1-6762f3a1-89abcdef0123456789abcdef;Parent=557abcec3ee5a047;Sampled=1"
UNSAMPLED = "Root=1-6762f3a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"

# Lambda's bootstrap, reduced: the path it gives a function, one import of the app, then per invocation
# the tracing header set and the handler called; what the process loaded is printed after each.
_CHILD = """
import json, os, sys
sys.path[:0] = json.loads(sys.argv[1])
import app
class Context:
    function_name = "hookrelay-dev-packaged-traced"
    aws_request_id = "req"
for header, event in json.loads(sys.stdin.read()):
    os.environ["_X_AMZN_TRACE_ID"] = header
    answer = app.deliver(event, Context())
    wrapt = sys.modules.get("wrapt")
    print(json.dumps({
        "answer": answer,
        "sdk_loaded": "aws_xray_sdk.core" in sys.modules,
        "asyncio_loaded": "asyncio" in sys.modules,
        "wrapt": [wrapt.__version__, wrapt.__file__] if wrapt else None,
    }))
"""


@pytest.fixture(scope="module")
def handler_build() -> HandlerBuild:
    return build_handler_artifact("dev")


def _lambda_path(build: HandlerBuild, workdir: Path) -> list[str]:
    """/var/task (the function zip), /opt/python (the layer), then only what Lambda's runtime provides."""
    task, opt, runtime = workdir / "task", workdir / "opt", workdir / "runtime"
    zipfile.ZipFile(build.code).extractall(task)
    zipfile.ZipFile(build.layer).extractall(opt)
    runtime.mkdir()
    site = Path(boto3.__file__).parent.parent
    for name in LAMBDA_RUNTIME_PACKAGES:
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    return [str(task), str(opt / "python"), str(runtime)]


def test_the_packaged_handler_traces_a_sampled_invocations_posts_and_aws_call_without_asyncio(
    handler_build: HandlerBuild,
    moto_server: str,
    xray_daemon: socket.socket,
    tmp_path: Path,
    partner_server: Callable[..., PartnerServer],
) -> None:
    # GIVEN a partner whose packaged handler runs with Lambda's path only, with active tracing
    server = partner_server()
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    stack = build_partner_stack(sqs, secrets, server.url, partner_id="packaged-traced", post_concurrency=2)
    batches = [
        # an unsampled cold start, then a sampled invocation with a poison body (its dead-letter send
        # is the batch's one AWS call)
        (UNSAMPLED, sqs_event([stack.message(id=f"msg_cold_{i}").to_sqs_body() for i in range(2)])),
        (SAMPLED, sqs_event([stack.message(id=f"msg_sampled_{i}").to_sqs_body() for i in range(3)] + ["x"])),
    ]
    paths = _lambda_path(handler_build, tmp_path)
    host, port = xray_daemon.getsockname()
    env = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-dev-packaged-traced",
        "LAMBDA_TASK_ROOT": paths[0],
        "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **stack.settings.to_environment(),
    }
    # WHEN Lambda invokes it twice in one process (python -S: no site-packages)
    lines = run_python(_CHILD, json.dumps(paths), env=env, stdin=json.dumps(batches), flags=("-S", "-B"))
    cold, sampled = [json.loads(line) for line in lines if line.startswith('{"answer"')]
    # THEN both batches are delivered
    assert [cold["answer"], sampled["answer"]] == [{"batchItemFailures": []}] * 2
    assert len(server.requests_snapshot()) == 5
    # AND the unsampled cold start loaded no SDK; the sampled invocation loaded the layer's SDK with the
    # layer's wrapt 1.x, and neither asyncio
    assert (cold["sdk_loaded"], cold["wrapt"], cold["asyncio_loaded"]) == (False, None, False)
    version, origin = sampled["wrapt"]
    assert (sampled["sdk_loaded"], version.split(".")[0], sampled["asyncio_loaded"]) == (True, "1", False)
    assert origin.startswith(paths[1])
    # AND the daemon got each sampled POST as a remote subsegment of the invocation's facade segment,
    # with its method, URL and status; nothing of the unsampled trace
    documents = received_segments(xray_daemon)
    posts = [d for d in documents if d.get("http", {}).get("request", {}).get("url") == server.url]
    assert [(d["trace_id"], d["parent_id"]) for d in posts] == [
        ("1-6762f3a1-89abcdef0123456789abcdef", "557abcec3ee5a047")
    ] * 3
    assert {(d["name"], d["namespace"], d["http"]["request"]["method"]) for d in posts} == {
        ("127.0.0.1", "remote", "POST")
    }
    assert [d["http"]["response"]["status"] for d in posts] == [200] * 3
    assert "1-6762f3a1-0123456789abcdef01234567" not in json.dumps(documents)
    # AND the poison's dead-letter send is traced, as an AWS call (botocore) or an HTTP call to AWS's
    # endpoint (the lean wire)
    aws_calls = [
        d
        for d in documents
        if d.get("aws", {}).get("operation") == "SendMessage"
        or d.get("http", {}).get("request", {}).get("url", "").startswith(moto_server)
    ]
    assert [d["trace_id"] for d in aws_calls] == ["1-6762f3a1-89abcdef0123456789abcdef"]
