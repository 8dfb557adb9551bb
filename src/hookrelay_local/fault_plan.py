"""Which AWS calls get which fault: a seeded, replayable plan, and the count of what it injected.

A plan is a list of rules, the first whose pattern (``fnmatch`` on ``service.Operation``, e.g.
``sqs.SendMessage``, ``dynamodb.*``, ``*``) matches a call decides: each fault kind has a share of the
calls (0..1; the shares of one rule add up to at most 1). Each operation draws from its own random
stream seeded by ``(seed, operation)``, so the k-th SendMessage of a run meets the same fate in every
run with the same seed, whatever the other operations' timing.

Fault kinds:

- ``throttle``: the service's throttling error, in its wire format (see :mod:`hookrelay_local.aws_wire`);
- ``error500``: an HTTP 500 in the service's format; the request never reaches the embedded AWS;
- ``reset_before``: the connection is reset before the request reaches the embedded AWS;
- ``reset_after``: the embedded AWS applies the request, then the connection is reset and the answer is
  lost (the dangerous case: a SendMessage applied, its caller told nothing);
- ``slow``: the answer comes ``slow_seconds`` late.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookrelay_local.aws_wire import Call


class Fault(StrEnum):
    THROTTLE = "throttle"
    ERROR500 = "error500"
    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    SLOW = "slow"


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: str = Field(description="fnmatch pattern on 'service.Operation', e.g. 'sqs.SendMessage', '*'")
    shares: dict[Fault, float] = Field(default_factory=dict, description="share of matching calls per fault")

    @model_validator(mode="after")
    def _at_most_all(self) -> FaultRule:
        if any(share < 0 for share in self.shares.values()) or sum(self.shares.values()) > 1 + 1e-9:
            raise ValueError(f"shares of {self.match!r} must be >= 0 and add up to at most 1")
        return self


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule] = Field(default_factory=list)
    seed: int = 0
    slow_seconds: float = Field(default=1.0, ge=0, le=25)

    @classmethod
    def uniform(cls, share: float, seed: int = 0, match: str = "*", slow_seconds: float = 1.0) -> FaultPlan:
        """``share`` of the matching calls fail, split evenly over the five kinds."""
        rule = FaultRule(match=match, shares=dict.fromkeys(Fault, share / len(Fault)))
        return cls(rules=[rule], seed=seed, slow_seconds=slow_seconds)


class FaultInjector:
    """Draws each call's fate from the plan (thread-safe) and counts every fault injected."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.plan = plan or FaultPlan()
        self._streams: dict[str, random.Random] = {}
        self.calls: Counter[str] = Counter()
        self.injected: Counter[tuple[Fault, str]] = Counter()

    def replace(self, plan: FaultPlan) -> None:
        """A new plan, fresh random streams and counts."""
        with self._lock:
            self.plan, self._streams = plan, {}
            self.calls.clear()
            self.injected.clear()

    def draw(self, call: Call) -> Fault | None:
        name = str(call)
        with self._lock:
            self.calls[name] += 1
            rule = next((r for r in self.plan.rules if fnmatch.fnmatchcase(name, r.match)), None)
            if rule is None or not rule.shares:
                return None
            stream = self._streams.get(name)
            if stream is None:
                stream = self._streams[name] = random.Random(f"{self.plan.seed}:{name}")
            roll, edge = stream.random(), 0.0
            for fault, share in rule.shares.items():
                edge += share
                if roll < edge:
                    self.injected[(fault, name)] += 1
                    return fault
            return None

    def report(self) -> dict[str, object]:
        """Calls seen per operation and faults injected per kind and operation (JSON-ready)."""
        with self._lock:
            by_kind: Counter[str] = Counter()
            for (fault, _), n in self.injected.items():
                by_kind[fault.value] += n
            return {
                "calls": dict(self.calls),
                "injected": {
                    f"{fault.value} {name}": n for (fault, name), n in sorted(self.injected.items())
                },
                "by_kind": dict(by_kind),
                "total": sum(self.injected.values()),
            }
