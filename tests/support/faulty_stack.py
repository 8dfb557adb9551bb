"""The local stack on a faulty AWS: the product's clients call AWS through the fault proxy
(:mod:`hookrelay_local.fault_proxy`), while the local Lambda runtime's pollers (ReceiveMessage,
DeleteMessageBatch, discovery: the event source mapping, AWS's own part) and the stack's setup talk to
moto directly, given as ``options.aws_endpoint``. Give the proxy as ``aws_endpoint`` too to fault the
pollers as well."""

from __future__ import annotations

from dataclasses import dataclass

from hookrelay_local.lambda_runtime.invokers import DELIVER_HANDLER, DeliverInvoker
from hookrelay_local.lambda_runtime.runtime import local_client
from hookrelay_local.stack import LocalStack


@dataclass
class FaultyStack(LocalStack):
    """The local stack whose product clients call AWS at ``product_endpoint`` (the proxy); its Lambda
    runtime and setup use ``options.aws_endpoint`` (moto itself)."""

    product_endpoint: str = ""

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "AWS_ENDPOINT_URL": self.product_endpoint}

    def start(self) -> FaultyStack:
        """The stack; then the delivery handler's own clients (the runtime lends it the pollers' SQS client
        by default) point at the proxy too, before any partner's function is discovered."""
        super().start()
        assert self.runtime is not None
        region = self.options.region
        self.runtime.invokers[DELIVER_HANDLER] = DeliverInvoker(
            local_client("sqs", self.product_endpoint, region),
            local_client("secretsmanager", self.product_endpoint, region),
        )
        return self
