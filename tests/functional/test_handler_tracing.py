"""Inside Lambda the handler loads X-Ray on its first sampled invocation, and traces that batch's POSTs.

Patching is process-wide (botocore's client class, ``http.client``), so the handler runs in a child
process, as Lambda runs it: ``AWS_LAMBDA_FUNCTION_NAME`` and ``LAMBDA_TASK_ROOT`` set, the tracing header
in ``_X_AMZN_TRACE_ID`` before each invocation, and the X-Ray daemon a UDP socket of this test.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import boto3

from hookrelay_local.partner_server import PartnerServer
from tests.support.child import run_python
from tests.support.handler_stack import build_partner_stack
from tests.support.sqs import sqs_event
from tests.support.xray import received_segments

ROOT = Path(__file__).resolve().parents[2]
UNSAMPLED = "Root=1-6762f3a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"
SAMPLED = "Root=1-6762f3a1-89abcdef0123456789abcdef;Parent=557abcec3ee5a047;Sampled=1"

# Lambda's runtime, reduced: import the app once, then per invocation set the tracing header and call it.
_CHILD = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
class Context:
    function_name = "hookrelay-dev-traced"
    aws_request_id = "req"
for header, event in json.loads(sys.stdin.read()):
    os.environ["_X_AMZN_TRACE_ID"] = header
    answer = app.deliver(event, Context())
    from_sdk = sys.modules.get("aws_xray_sdk.core.patcher")
    from hookrelay.tracing import traced_libraries
    # the SDK's own patches and ours (urllib3's pools); None while the SDK is not loaded
    patched = sorted(set(from_sdk._PATCHED_MODULES) | traced_libraries()) if from_sdk else None
    loaded, botocore = "aws_xray_sdk.core" in sys.modules, "botocore.client" in sys.modules
    print(json.dumps({"answer": answer, "sdk_loaded": loaded, "patched": patched, "botocore": botocore}))
"""


def test_xray_is_loaded_on_the_first_sampled_invocation_and_traces_its_posts(
    moto_server: str, xray_daemon: socket.socket, tmp_path: Path, partner_server: Callable[..., PartnerServer]
) -> None:
    # GIVEN a partner whose handler runs as in Lambda, with active tracing
    server = partner_server()
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    stack = build_partner_stack(sqs, secrets, server.url, partner_id="traced", post_concurrency=2)
    batches = [
        # an unsampled first invocation (the cold start), then two sampled ones
        (UNSAMPLED, sqs_event([stack.message(id=f"msg_cold_{i}").to_sqs_body() for i in range(2)])),
        (SAMPLED, sqs_event([stack.message(id=f"msg_sampled_{i}").to_sqs_body() for i in range(2)])),
        # (a poison body beside it: its dead-letter send is the batch's one AWS call)
        (SAMPLED, sqs_event([stack.message(id="msg_later").to_sqs_body(), "poison"])),
    ]
    host, port = xray_daemon.getsockname()
    env = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-dev-traced",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **stack.settings.to_environment(),
    }
    # WHEN Lambda invokes it three times in one process
    printed = run_python(_CHILD, str(ROOT / "handler" / "app.py"), env=env, stdin=json.dumps(batches))
    after = [json.loads(line) for line in printed if line.startswith('{"answer"')]
    # THEN every batch is delivered
    assert [a["answer"] for a in after] == [{"batchItemFailures": []}] * 3
    assert len(server.requests_snapshot()) == 5
    # AND the unsampled invocation never loaded the SDK; the first sampled one patched urllib3's pools,
    # and botocore once its client module is loaded; they stayed patched
    assert (after[0]["sdk_loaded"], after[0]["patched"]) == (False, None)
    for a in after[1:]:
        assert (a["sdk_loaded"], a["patched"]) == (
            True,
            ["botocore", "urllib3"] if a["botocore"] else ["urllib3"],
        )
    # AND the daemon got the sampled batches' POSTs as subsegments of their trace, none of the unsampled
    documents = received_segments(xray_daemon)
    posts = [d for d in documents if d.get("http", {}).get("request", {}).get("url") == server.url]
    assert sorted(d["trace_id"] for d in posts) == ["1-6762f3a1-89abcdef0123456789abcdef"] * 3
    assert {(d["name"], d["namespace"], d["parent_id"]) for d in posts} == {
        ("127.0.0.1", "remote", "557abcec3ee5a047")
    }
    assert {d["http"]["response"]["status"] for d in posts} == {200}
    assert "1-6762f3a1-0123456789abcdef01234567" not in json.dumps(documents)
    # AND the sampled batch's AWS call (the poison body's dead-letter send; attempt records are log lines,
    # no call) is traced too: as an AWS call by botocore's patch, or as an HTTP call to AWS's endpoint
    # when it goes through the lean wire (urllib3)
    aws_calls = [
        d
        for d in documents
        if d.get("aws", {}).get("operation") == "SendMessage"
        or d.get("http", {}).get("request", {}).get("url", "").startswith(moto_server)
    ]
    assert [d["trace_id"] for d in aws_calls] == ["1-6762f3a1-89abcdef0123456789abcdef"]
