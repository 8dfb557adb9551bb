"""What a partner's handler loads before its first batch: only what every partner's path needs.

Each case runs in a fresh interpreter (a cold start is one); the handler is imported and its
dependencies built as Lambda's first invocation does, then a call is signed with Lambda's credentials
and a secret's date read as the first batch does, without any AWS call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hookrelay.settings import HandlerSettings
from tests.support.child import run_python

ROOT = Path(__file__).resolve().parents[2]
# Loaded only where some partners, or some invocations, need them.
NOT_ON_EVERY_PATH = (
    "boto3",  # a client is made on first use, by the code that uses it
    "aws_xray_sdk.core",  # a sampled invocation's (X-Ray records nothing on the others)
    "hookrelay.delivery.pacer",  # a paced partner's
    "hookrelay.partners.pace_store",
    "hookrelay.delivery.ordered_batch",  # an ordered (FIFO) partner's
    "hookrelay.delivery.ordered",
    # botocore beyond its exceptions: the lean caller signs (hookrelay.aws.sigv4) and reads Lambda's
    # credentials itself; botocore's resolver is for credentials that expire, its date parser for dates
    # that are no epoch numbers
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.config",
    "botocore.credentials",
    "botocore.httpsession",
    "botocore.utils",
    "dateutil",
)

_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
app.deps()
from hookrelay.aws import wire
wire.client("sqs")._signed(b"{}", {"Host": "sqs.us-east-1.amazonaws.com"})
wire._timestamp(1796134000.5)
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def _loaded_by_a_cold_start(tmp_path: Path, **environment: str) -> list[str]:
    settings = HandlerSettings(
        partner_id="acme",
        partner_url="https://acme.example/hooks",
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/hookrelay-dev-acme",
        dead_letter_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/hookrelay-dev-acme-dlq",
        secret_id="hookrelay/dev/acme",
    )
    env = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",  # Lambda's role credentials, without an expiry
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-dev-acme",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        **settings.to_environment(),
        **environment,
    }
    printed = run_python(_CHILD, str(ROOT / "handler" / "app.py"), json.dumps(NOT_ON_EVERY_PATH), env=env)
    loaded: list[str] = json.loads(printed[-1])
    return loaded


@pytest.mark.parametrize(
    "trace_header", ["", "Root=1-6762f3a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"]
)
def test_an_unpaced_unordered_partners_cold_start_loads_none_of_the_optional_paths(
    tmp_path: Path, trace_header: str
) -> None:
    # GIVEN an unpaced partner on a standard queue, in Lambda, the invocation untraced or not sampled
    # WHEN its handler is imported and its dependencies built
    loaded = _loaded_by_a_cold_start(tmp_path, _X_AMZN_TRACE_ID=trace_header)
    # THEN no boto3, no X-Ray SDK, no pacer, no ordered path, no botocore signer or resolver was imported
    assert loaded == []


def test_a_sampled_cold_start_loads_xray_and_nothing_else_optional(tmp_path: Path) -> None:
    # GIVEN the same partner's first invocation, sampled by X-Ray
    header = "Root=1-6762f3a1-89abcdef0123456789abcdef;Parent=557abcec3ee5a047;Sampled=1"
    # WHEN its handler is imported and its dependencies built THEN the SDK is loaded, as it records
    assert _loaded_by_a_cold_start(tmp_path, _X_AMZN_TRACE_ID=header) == ["aws_xray_sdk.core"]


def test_a_paced_partners_handler_loads_its_pacer(tmp_path: Path) -> None:
    # GIVEN a paced partner WHEN its handler's dependencies are built THEN the pacer and its store load
    loaded = _loaded_by_a_cold_start(tmp_path, HOOKRELAY_MAX_REQUESTS_PER_SECOND="5")
    assert loaded == ["hookrelay.delivery.pacer", "hookrelay.partners.pace_store"]


_BOTOCORE_LATER = """
import json, os, sys
from hookrelay import tracing
tracing.configure_tracing(("botocore", "urllib3"))
before = [sorted(tracing.traced_libraries()), "botocore.client" in sys.modules]
import boto3.session
from botocore.client import BaseClient
boto3.session.Session().client("sqs", region_name="us-east-1")
after = [sorted(tracing.traced_libraries()), hasattr(BaseClient._make_api_call, "__wrapped__")]
print(json.dumps([before, after]))
"""


def test_a_sampled_invocation_patches_botocore_when_it_is_first_imported(tmp_path: Path) -> None:
    # GIVEN a sampled invocation in Lambda, before anything imported botocore's client module
    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_FUNCTION_NAME": "hookrelay-dev-acme",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "_X_AMZN_TRACE_ID": "Root=1-6762f3a1-89abcdef0123456789abcdef;Parent=557abcec3ee5a047;Sampled=1",
    }
    # WHEN tracing is configured for botocore and urllib3, then a boto3 client is made
    before, after = json.loads(run_python(_BOTOCORE_LATER, env=env)[-1])
    # THEN urllib3 is traced at once and botocore's client module is not loaded for it
    assert before == [["urllib3"], False]
    # AND botocore is patched as its client module loads, before the first client calls anything
    assert after == [["botocore", "urllib3"], True]
