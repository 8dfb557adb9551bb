"""What the Lambda API says should be polled, read at a cost that does not grow with the partners.

One discovery tick is ONE logical ``ListEventSourceMappings`` (its pages, 100 mappings each on AWS,
count as one listing; moto answers in one page) and ``rereads_per_tick`` (2) function re-reads. A
mapping's whole entry is compared with the last one seen, so a change of state, batch size, batching
window, response types or MaximumConcurrency is noticed on the tick after it. A function's
configuration is read (``GetFunctionConfiguration`` and ``GetFunctionConcurrency``) when its mapping
is new or changed, or when the function changed: every ``function_sweep_every`` ticks one logical
``ListFunctions`` gives every function's ``LastModified``/``CodeSha256``/``RevisionId``, ``Handler``,
``Timeout`` and ``Environment`` (moto keeps ``LastModified`` on a configuration update, so the whole
entry is compared), and a function that moved has its reserved concurrency re-read (on that sweep and
the next, since the provisioner sets concurrency just after updating the configuration).

A mapping whose FunctionArn is qualified (``<function>:live``, an alias; or a version) runs the
version the qualifier names: its configuration is read with the qualified ARN (the version's
environment), its concurrency with the function's. When the sweep sees the function's ``$LATEST``
move, the alias is read again on that sweep and the next (a rollout publishes a version, then moves
the alias). The first sweep that lists a newly read alias's function reads the alias again only if
``$LATEST`` is not the release the alias ran when read (:func:`same_release`): a fleet being created
costs no second read per partner.

In turn, ``rereads_per_tick`` known functions a tick are read again (concurrency; an alias's version
too), so a change nothing else reveals (a ``PutFunctionConcurrency`` alone, an alias moved back with
no new code) is seen within N / ``rereads_per_tick`` ticks: 5 s at 10 partners, 50 s at 100, ~8 min
at 1,000. No O(1) listing carries a function's concurrency (``ListFunctions`` does not).
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


def unqualified(function_arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>`` without a ``:<alias or version>``."""
    return ":".join(function_arn.split(":", 7)[:7])


def same_release(latest: FunctionConfig, version: FunctionConfig) -> bool:
    """A function's ``$LATEST`` and a version hold the same code and configuration (a version published
    from that ``$LATEST``): nothing can have moved between them."""
    code = latest.revision.split("|")[1:2] == version.revision.split("|")[1:2]  # CodeSha256
    settings = (latest.handler, latest.timeout, dict(latest.environment))
    return code and settings == (version.handler, version.timeout, dict(version.environment))


@dataclass
class _Known:
    """What was last read about one function (a mapping's FunctionArn, perhaps alias-qualified)."""

    function: FunctionConfig
    reread: int = 0  # sweeps left on which it is read again (its concurrency; all of it if qualified)
    listed: FunctionConfig | None = None  # qualified only: its $LATEST as the last sweep listed it


@dataclass
class Discovery:
    """Reads the mappings every tick and the functions only when they changed (or their turn came)."""

    lambda_: LambdaClient
    invokers: Mapping[str, Invoker]
    function_sweep_every: int = 5
    rereads_per_tick: int = 2  # functions re-read a tick, in turn (a concurrency-only change)
    _functions: dict[str, _Known] = field(default_factory=dict)  # by the mappings' function ARN
    _mappings: dict[str, MappingConfig] = field(default_factory=dict)  # last entries seen, by UUID
    _unsupported: set[str] = field(default_factory=set)
    _missing: set[str] = field(default_factory=set)  # mapped functions that could not be read
    _ticks: int = 0
    _turn: int = 0  # where the rotating re-reads start next
    _changes: int = 0  # bumped whenever what is known about the functions changes
    _listed: tuple[list[dict[str, Any]], ...] = ()  # the listing's pages last tick (the parser's objects)
    _listed_mappings: list[MappingConfig] = field(default_factory=list)
    _last: tuple[list[MappingConfig], int, Wanted] | None = None  # mappings, changes: what they gave
    _swept_pages: tuple[list[dict[str, Any]], ...] = ()  # the function listing's pages, last sweep
    _swept_listing: dict[str, dict[str, Any]] = field(default_factory=dict)  # by FunctionArn
    _swept: set[str] = field(default_factory=set)  # the known functions the last sweep compared

    def wanted(self) -> Wanted:
        """One tick: the enabled SQS mappings that have a local invoker, with their functions.

        An idle tick (the listing answered as last time, no function changed) costs one listing call
        and no work per mapping: the last answer is returned as it was.
        Raises what the mapping listing raises (the caller keeps its pollers as they are).
        """
        pages = self._pages("list_event_source_mappings")
        if len(pages) != len(self._listed) or any(
            a is not b for a, b in zip(pages, self._listed, strict=False)
        ):
            self._listed = pages
            self._listed_mappings = [MappingConfig.from_api(m) for page in pages for m in page]
        mappings = self._listed_mappings
        self._ticks += 1
        if self._ticks % self.function_sweep_every == 0:
            self._sweep_functions()
        self._reread_in_turn()
        if self._last is not None and self._last[0] is mappings and self._last[1] == self._changes:
            return self._last[2]
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
        self._last = (mappings, self._changes, wanted)
        return wanted

    def _pages(self, operation: str) -> tuple[list[dict[str, Any]], ...]:
        """Each page's entries, as the client parsed them (an unchanged page: the same list as before)."""
        key = "EventSourceMappings" if operation == "list_event_source_mappings" else "Functions"
        pages = self.lambda_.get_paginator(operation).paginate()  # type: ignore[call-overload]
        return tuple(page.get(key, []) for page in pages)

    def _list(self, operation: str) -> list[dict[str, Any]]:
        return [entry for page in self._pages(operation) for entry in page]

    def _function(self, mapping: MappingConfig) -> FunctionConfig | None:
        known = self._functions.get(mapping.function_arn)
        unchanged = self._mappings.get(mapping.uuid) == mapping
        if known is not None and unchanged:
            return known.function
        if unchanged and mapping.function_arn in self._missing:
            return None  # said once; read again when its mapping changes or a sweep lists it
        return self._read_function(mapping.function_arn)

    def _read_function(self, function_arn: str) -> FunctionConfig | None:
        """Read a function, or say once it cannot be read (its mapping is then not polled)."""
        try:
            function = self._fetch(function_arn)
        except AWS_ERRORS as exc:
            logger.warning(
                "cannot read the mapped function; not polling",
                extra={"function_arn": function_arn, "error": error_code(exc)},
            )
            self._functions.pop(function_arn, None)
            self._missing.add(function_arn)
            self._changes += 1
            return None
        self._missing.discard(function_arn)
        self._functions[function_arn] = _Known(function)
        self._changes += 1
        return function

    def _fetch(self, function_arn: str) -> FunctionConfig:
        """Its configuration and reserved concurrency (an alias ARN: the version the alias points at)."""
        config = self.lambda_.get_function_configuration(FunctionName=function_arn)
        reserved = self.lambda_.get_function_concurrency(FunctionName=unqualified(function_arn))
        return FunctionConfig.from_api(config, reserved.get("ReservedConcurrentExecutions"))

    def _sweep_functions(self) -> None:
        """One ``ListFunctions``: take in every known function whose revision moved.

        A listing answered as on the last sweep compares only the functions read since then (and those
        still to be read again): nothing else can have moved.
        """
        try:
            pages = self._pages("list_functions")
        except AWS_ERRORS as exc:
            logger.warning("cannot list functions", extra={"error": error_code(exc)})
            return
        same = len(pages) == len(self._swept_pages) and all(
            a is b for a, b in zip(pages, self._swept_pages, strict=False)
        )
        if not same:
            self._swept_pages = pages
            self._swept_listing = {f["FunctionArn"]: f for page in pages for f in page}
        listed = self._swept_listing
        listed_now = {a for a in self._missing if unqualified(a) in listed}
        gone = [a for a in self._functions if unqualified(a) not in listed]
        if listed_now or gone:
            self._changes += 1
        self._missing -= listed_now
        for arn in gone:
            del self._functions[arn]  # deleted: read again if a mapping still points at it
        swept, self._swept = self._swept, set(self._functions)
        for arn, known in list(self._functions.items()):
            if same and arn in swept and not known.reread:
                continue
            entry = FunctionConfig.from_api(listed[unqualified(arn)], known.function.reserved_concurrency)
            if arn != unqualified(arn):  # an alias: its $LATEST moved, the alias may follow soon
                if known.listed is None:  # first listed: once, if $LATEST is not what the alias ran
                    known.reread = 0 if same_release(entry, known.function) else 1
                elif entry != known.listed:
                    known.reread = 2
                known.listed = entry
            elif entry != known.function:  # code, environment, timeout or handler moved
                known.function, known.reread = entry, 2
                self._changes += 1
            if known.reread:
                known.reread -= 1
                self._reread(arn, known)

    def _reread_in_turn(self) -> None:
        """Re-read ``rereads_per_tick`` functions in turn: a concurrency-only change (or an alias
        moved with no new code, e.g. a rollback) is seen within N / rereads_per_tick ticks."""
        arns = list(self._functions)
        if not arns or self.rereads_per_tick <= 0:
            return
        start = self._turn % len(arns)
        turn = (arns[start:] + arns[:start])[: self.rereads_per_tick]
        self._turn = start + len(turn)
        for arn in turn:
            self._reread(arn, self._functions[arn])

    def _reread(self, arn: str, known: _Known) -> None:
        """Its reserved concurrency again (an alias: the version behind it too); kept as is on error."""
        try:
            if arn != unqualified(arn):
                function = self._fetch(arn)
            else:
                answer = self.lambda_.get_function_concurrency(FunctionName=arn)
                function = replace(
                    known.function, reserved_concurrency=answer.get("ReservedConcurrentExecutions")
                )
        except AWS_ERRORS as exc:
            logger.warning(
                "cannot read the function again", extra={"function_arn": arn, "error": error_code(exc)}
            )
            return
        if function != known.function:
            known.function = function
            self._changes += 1

    def _warn_unsupported(self, mapping: MappingConfig, function: FunctionConfig) -> None:
        if mapping.uuid not in self._unsupported:
            self._unsupported.add(mapping.uuid)
            logger.warning(
                "no local invoker for this handler; its queue is not polled",
                extra={"function": function.name, "handler": function.handler},
            )
