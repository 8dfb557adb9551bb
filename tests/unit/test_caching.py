"""TtlCache: loaded on demand, reused for its TTL, and kept through a failed refresh."""

from __future__ import annotations

import pytest

from hookrelay.caching import TtlCache
from hookrelay.errors import DependencyUnavailable


class Source:
    def __init__(self) -> None:
        self.loads = 0
        self.down = False

    def __call__(self) -> str:
        self.loads += 1
        if self.down:
            raise DependencyUnavailable("secrets manager is down")
        return f"value-{self.loads}"


def test_a_value_is_reused_for_its_ttl_then_loaded_again() -> None:
    now, source = [0.0], Source()
    cache = TtlCache(source, ttl_seconds=300, clock=lambda: now[0])
    assert (cache.get(), cache.get()) == ("value-1", "value-1")
    now[0] = 301
    assert cache.get() == "value-2"


def test_a_failed_refresh_keeps_the_old_value_and_retries_later() -> None:
    now, source = [0.0], Source()
    cache = TtlCache(source, ttl_seconds=300, clock=lambda: now[0])
    assert cache.get() == "value-1"
    # WHEN the source is down at refresh time THEN the old value is still served
    source.down, now[0] = True, 301
    assert cache.get() == "value-1"
    # AND it is not asked again on every call, only after the retry interval
    assert (cache.get(), source.loads) == ("value-1", 2)
    source.down, now[0] = False, 301 + cache.retry_seconds
    assert cache.get() == "value-3"


def test_with_nothing_cached_a_failure_is_raised() -> None:
    source = Source()
    source.down = True
    with pytest.raises(DependencyUnavailable):
        TtlCache(source, ttl_seconds=300).get()
