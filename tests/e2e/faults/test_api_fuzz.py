"""Bad input: the provisioner's REST API fuzzed from its own OpenAPI description with schemathesis.

Served over loopback by the local stack with its Lambda runtime stopped: partners the fuzzer creates are real
(queues, functions, secrets on moto) but nothing ever delivers to the URLs it invents. Every answer must be
below 500 and match the OpenAPI description (a documented status, JSON, the documented body schema), and no
answer may carry a signing secret except the two that hand one out once by design.

Replayable: hypothesis runs derandomized (the same requests every run, no example database), so a failure
seen once is seen again by rerunning the test.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hookrelay.provisioning.operations import OPERATIONS
from hookrelay.signing.standard import SECRET_PREFIX
from hookrelay_local.stack import LocalStack

pytestmark = pytest.mark.e2e
EXAMPLES = 15  # per operation and mode: bounds the run to well under a minute
REVEALS_SECRET = {("POST", "/partners", 201), ("POST", "/partners/{id}/rotate-secret", 200)}
# Every answer: not a 5xx, a status the description lists, its content type, its body schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _no_real_aws() -> None:
    """Overrides the suite-wide fixture (see conftest)."""


@pytest.fixture(scope="module")
def quiet_stack(stack: LocalStack) -> LocalStack:
    assert stack.runtime is not None
    stack.runtime.stop(timeout_s=5)
    return stack


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_gets_a_5xx_or_a_leaked_secret(quiet_stack: LocalStack, mode: GenerationMode) -> None:
    # GIVEN every operation of the served API description, and requests that fit it (or, negative, do not)
    schema = schemathesis.openapi.from_url(f"{quiet_stack.api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    answers: Counter[int] = Counter()
    for operation in operations:
        try:
            fuzz(operation.as_strategy(generation_mode=mode), answers)
        except Unsatisfiable:  # no request can break its description (e.g. only a free-form string id)
            assert mode is GenerationMode.NEGATIVE
    # the fuzz really ran: at least two answers per operation in this mode
    assert sum(answers.values()) >= len(OPERATIONS) * 2


def fuzz(strategy: st.SearchStrategy[Case], answers: Counter[int]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Case) -> None:
        # WHEN it is sent to the served provisioner
        response = case.call(timeout=30)
        answers[response.status_code] += 1
        # THEN the answer is a 2xx or a clear 4xx, never a server error, and it is what the description says
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
        case.validate_response(response, checks=CHECKS)
        # AND only the two answers that hand out a secret once carry one
        if (case.method.upper(), case.path, response.status_code) not in REVEALS_SECRET:
            assert SECRET_PREFIX not in response.text, f"{case.method} {case.formatted_path} leaked a secret"

    one()
