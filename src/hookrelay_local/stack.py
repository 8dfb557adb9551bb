"""`make run`: the whole platform on 127.0.0.1, on an embedded AWS (moto's server).

- moto's server on loopback is the AWS endpoint (``AWS_ENDPOINT_URL``), with the shared resources
  bootstrapped: partners and deliveries tables, results queue, alarm topic, the artifact bucket holding
  the handler packaged by ``chalice package``;
- the provisioner's REST API (the real Chalice app) on :8000, the receiver app as a sample partner
  endpoint on :8001 (a port of 0 in :class:`StackOptions` binds any free one: tests and the demo do, and
  read the bound ports back from :attr:`LocalStack.endpoint`, ``api_url``, ``receiver_url``);
- the local Lambda runtime polling every event source mapping the provisioner creates, running the
  real handler code in-process, plus the results recorder and the receiver's inbox consumer, and
  delivering the handlers' attempt lines to the attempt recorder (their log groups' subscriptions).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from hookrelay import naming
from hookrelay.aws import clients as aws
from hookrelay.aws.clients import Clients
from hookrelay.provisioning.consumers import CONSUMERS
from hookrelay.provisioning.resources.attempt_filter import RECORDER, recorder_handler
from hookrelay.settings import reset_cached_settings
from hookrelay_local.bootstrap import (
    INBOX_HANDLER,
    PROVISIONER_APP,
    bootstrap,
    ensure_console_token,
)
from hookrelay_local.chalice_apps import ServedApp, load_app_module
from hookrelay_local.embedded_aws import endpoint_url, start_moto_server
from hookrelay_local.lambda_runtime.invokers import FunctionConfig
from hookrelay_local.lambda_runtime.poller import PollerOptions
from hookrelay_local.lambda_runtime.runtime import LocalLambdaRuntime, local_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    aws_port: int = 5000
    api_port: int = 8000
    receiver_port: int = 8001
    stage: str = "local"
    region: str = "us-east-1"
    sample_partner: str = "demo"  # the partner whose secret the sample receiver verifies with
    retry_schedule: tuple[int, ...] | None = None  # None: each partner's own (Dwolla's by default)
    poll_wait_seconds: int = 20  # an idle partner costs one ReceiveMessage per this long
    aws_endpoint: str | None = None  # an embedded AWS already running elsewhere (e.g. its own process)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free a moment ago, for an external program that must be told its port up front (it may be
    taken meanwhile: retry on "address in use"). A server of ours binds port 0 instead: pass 0 as a
    :class:`StackOptions` port and read the bound one back (:attr:`LocalStack.api_url`, ...)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


# The stack talks to an embedded AWS (moto, or LocalStack): dummy keys, so the developer's real ones never
# reach it, the functions' stored environments or a mis-set endpoint; and while it runs, nothing that
# could make a client pick real credentials instead.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
CREDENTIAL_SOURCES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass
class LocalStack:
    options: StackOptions = field(default_factory=StackOptions)
    moto: Any = None
    runtime: LocalLambdaRuntime | None = None
    served: list[ServedApp] = field(default_factory=list)
    modules: dict[str, ModuleType] = field(default_factory=dict)
    _saved_environment: dict[str, str | None] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.options.aws_endpoint or endpoint_url(self.moto)

    @property
    def api_url(self) -> str:
        """The provisioner API's URL: the port it is bound to once started (an option of 0 picks one)."""
        return self.served[0].url if self.served else f"http://{self.options.host}:{self.options.api_port}"

    @property
    def receiver_url(self) -> str:
        if len(self.served) > 1:
            return f"{self.served[1].url}/"
        return f"http://{self.options.host}:{self.options.receiver_port}/"

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint, self.options.region)

    def environment(self) -> dict[str, str]:
        o = self.options
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": o.region,
            **DUMMY_CREDENTIALS,
            "HOOKRELAY_STAGE": o.stage,
            "HOOKRELAY_LOG_LEVEL": "INFO",
            "HOOKRELAY_ALLOWED_NETWORKS": "loopback",
            "HOOKRELAY_ROLLOUT_CALLS_PER_SECOND": "1000",  # moto has no control-plane quota (AWS: 15/s)
            "HOOKRELAY_RECEIVER_SECRET_ID": naming.partner_secret(o.stage, o.sample_partner),
            "HOOKRELAY_RECEIVER_SECRET_CACHE_SECONDS": "5",
            # the sample partner's own resources: outside hookrelay's names, as a partner's would be
            "HOOKRELAY_RECEIVER_QUEUE_NAME": f"sample-receiver-{o.stage}-inbox",
            "HOOKRELAY_RECEIVER_TABLE": f"sample-receiver-{o.stage}-webhooks",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_XRAY_SDK_ENABLED": "false",
            "HOOKRELAY_LOCAL_RUNTIME": "1",
            "HOOKRELAY_CONSOLE_URL": self.api_url,  # portal links; the bound port once started
        }

    def start(self) -> LocalStack:
        if self.options.aws_endpoint is None:
            self.moto = start_moto_server(self.options.aws_port, self.options.host)
        environment = self.environment()
        self._saved_environment = {name: os.environ.get(name) for name in (*environment, *CREDENTIAL_SOURCES)}
        for name in CREDENTIAL_SOURCES:
            os.environ.pop(name, None)
        os.environ.update(environment)
        aws.reset_clients()
        reset_cached_settings()  # an earlier stack in this process may have cached another stage
        bootstrap(self)
        for name in ("provisioner", "receiver", "handler"):
            self.modules[name] = load_app_module(name)
        self.served = [
            ServedApp(self.modules["provisioner"].app, self.options.host, self.options.api_port).start(),
            ServedApp(self.modules["receiver"].app, self.options.host, self.options.receiver_port).start(),
        ]
        os.environ["HOOKRELAY_CONSOLE_URL"] = self.api_url
        invokers = {
            **{c.handler: self._chalice_invoker(PROVISIONER_APP, c.name) for c in CONSUMERS},
            INBOX_HANDLER: self._chalice_invoker("receiver", "inbox"),
            recorder_handler(): self._chalice_invoker(PROVISIONER_APP, RECORDER),  # the attempt lines'
        }
        options = PollerOptions(region=self.options.region, wait_seconds=self.options.poll_wait_seconds)
        self.runtime = LocalLambdaRuntime(
            self.endpoint, self.options.region, invokers=invokers, options=options
        )
        self.runtime.start()
        return self

    @property
    def console_url(self) -> str:
        return f"{self.api_url}/console"

    def console_token(self) -> str:
        """The operator token the console's login asks for (created by the bootstrap)."""
        return ensure_console_token(self.options.stage, Clients())

    def _chalice_invoker(self, app: str, function: str) -> Any:
        def invoke(event: dict[str, Any], _: FunctionConfig) -> Any:
            return getattr(self.modules[app], function)(event, None)

        return invoke

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop(timeout_s=10)
        for served in self.served:
            served.stop()
        if self.moto is not None:
            self.moto.stop()
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.reset_clients()
        reset_cached_settings()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
