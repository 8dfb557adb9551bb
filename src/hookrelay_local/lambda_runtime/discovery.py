"""What the Lambda API says should be polled, read at a cost that does not grow with the partners.

One discovery tick is ONE logical ``ListEventSourceMappings`` (its pages, 100 mappings each on AWS,
count as one listing; moto answers in one page). A mapping's whole entry is compared with the last
one seen, so a change of state, batch size, batching window, response types or MaximumConcurrency is
noticed on the tick after it. A function's configuration is read (``GetFunctionConfiguration`` and
``GetFunctionConcurrency``) only when its mapping is new or changed, or when the function changed:
every ``function_sweep_every`` ticks one logical ``ListFunctions`` gives every function's
``LastModified``/``CodeSha256``/``RevisionId``, ``Handler``, ``Timeout`` and ``Environment`` (moto
keeps ``LastModified`` on a configuration update, so the whole entry is compared), and only a
function that moved has its reserved concurrency re-read (for the two sweeps after
the change, since the provisioner sets concurrency just after updating the configuration).

Not noticed: a ``PutFunctionConcurrency`` alone, on a function whose code and configuration did not
change, until its mapping or function changes (hookrelay's provisioner always changes both together).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hookrelay.aws.errors import AWS_ERRORS, error_code
from hookrelay_local.lambda_runtime.invokers import FunctionConfig, Invoker
from hookrelay_local.lambda_runtime.poller import MappingConfig

if TYPE_CHECKING:
    from types_boto3_lambda import LambdaClient

logger = logging.getLogger(__name__)

Wanted = dict[str, tuple[MappingConfig, FunctionConfig, Invoker]]


@dataclass
class _Known:
    """What was last read about one function."""

    function: FunctionConfig
    reread_concurrency: int = 0  # sweeps left on which its reserved concurrency is read again


@dataclass
class Discovery:
    """Reads the mappings every tick and the functions only when they changed."""

    lambda_: LambdaClient
    invokers: Mapping[str, Invoker]
    function_sweep_every: int = 5
    _functions: dict[str, _Known] = field(default_factory=dict)  # by function ARN
    _mappings: dict[str, MappingConfig] = field(default_factory=dict)  # last entries seen, by UUID
    _unsupported: set[str] = field(default_factory=set)
    _missing: set[str] = field(default_factory=set)  # mapped functions that could not be read
    _ticks: int = 0

    def wanted(self) -> Wanted:
        """One tick: the enabled SQS mappings that have a local invoker, with their functions.

        Raises what the mapping listing raises (the caller keeps its pollers as they are).
        """
        mappings = [MappingConfig.from_api(m) for m in self._list("list_event_source_mappings")]
        self._ticks += 1
        if self._ticks % self.function_sweep_every == 0:
            self._sweep_functions()
        wanted: Wanted = {}
        for mapping in mappings:
            if not mapping.enabled or ":sqs:" not in mapping.queue_arn:
                continue
            function = self._function(mapping)
            if function is None:
                continue
            invoker = self.invokers.get(function.handler)
            if invoker is None:
                self._warn_unsupported(mapping, function)
                continue
            wanted[mapping.uuid] = (mapping, function, invoker)
        self._mappings = {m.uuid: m for m in mappings}
        return wanted

    def _list(self, operation: str) -> list[dict[str, Any]]:
        key = "EventSourceMappings" if operation == "list_event_source_mappings" else "Functions"
        found: list[dict[str, Any]] = []
        for page in self.lambda_.get_paginator(operation).paginate():  # type: ignore[call-overload]
            found.extend(page.get(key, []))
        return found

    def _function(self, mapping: MappingConfig) -> FunctionConfig | None:
        known = self._functions.get(mapping.function_arn)
        unchanged = self._mappings.get(mapping.uuid) == mapping
        if known is not None and unchanged:
            return known.function
        if unchanged and mapping.function_arn in self._missing:
            return None  # said once; read again when its mapping changes or a sweep lists it
        return self._read_function(mapping.function_arn)

    def _read_function(self, function_arn: str) -> FunctionConfig | None:
        try:
            config = self.lambda_.get_function_configuration(FunctionName=function_arn)
            reserved = self.lambda_.get_function_concurrency(FunctionName=function_arn)
        except AWS_ERRORS as exc:
            logger.warning(
                "cannot read the mapped function; not polling",
                extra={"function_arn": function_arn, "error": error_code(exc)},
            )
            self._functions.pop(function_arn, None)
            self._missing.add(function_arn)
            return None
        function = FunctionConfig.from_api(config, reserved.get("ReservedConcurrentExecutions"))
        self._missing.discard(function_arn)
        self._functions[function_arn] = _Known(function)
        return function

    def _sweep_functions(self) -> None:
        """One ``ListFunctions``: take in every known function whose revision moved."""
        try:
            listed = {f["FunctionArn"]: f for f in self._list("list_functions")}
        except AWS_ERRORS as exc:
            logger.warning("cannot list functions", extra={"error": error_code(exc)})
            return
        self._missing -= set(listed)
        for arn in [a for a in self._functions if a not in listed]:
            del self._functions[arn]  # deleted: read again if a mapping still points at it
        for arn, known in self._functions.items():
            entry = FunctionConfig.from_api(listed[arn], known.function.reserved_concurrency)
            if entry != known.function:  # code, environment, timeout or handler moved
                known.function, known.reread_concurrency = entry, 2
            if known.reread_concurrency:
                known.reread_concurrency -= 1
                self._reread_concurrency(known)

    def _reread_concurrency(self, known: _Known) -> None:
        try:
            answer = self.lambda_.get_function_concurrency(FunctionName=known.function.arn)
        except AWS_ERRORS as exc:
            logger.warning("cannot read reserved concurrency", extra={"error": error_code(exc)})
            return
        reserved = answer.get("ReservedConcurrentExecutions")
        if reserved != known.function.reserved_concurrency:
            known.function = replace(known.function, reserved_concurrency=reserved)

    def _warn_unsupported(self, mapping: MappingConfig, function: FunctionConfig) -> None:
        if mapping.uuid not in self._unsupported:
            self._unsupported.add(mapping.uuid)
            logger.warning(
                "no local invoker for this handler; its queue is not polled",
                extra={"function": function.name, "handler": function.handler},
            )
