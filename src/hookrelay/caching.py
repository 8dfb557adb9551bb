"""A value loaded on demand and reused for a while: secrets read from Secrets Manager, mostly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
logger = logging.getLogger(__name__)


class TtlCache(Generic[T]):
    """``get()`` loads the value on first use and again once it is ``ttl_seconds`` old."""

    def __init__(
        self, load: Callable[[], T], ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._load = load
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded_at = 0.0
        self.retry_seconds = 30.0

    def get(self) -> T:
        """A failed refresh keeps serving the value it has (a Secrets Manager blip must not stop
        every delivery), and is tried again after ``retry_seconds``; with no value yet it raises."""
        with self._lock:
            if self._value is None or self._clock() - self._loaded_at >= self.ttl_seconds:
                try:
                    self._value = self._load()
                    self._loaded_at = self._clock()
                except Exception:
                    if self._value is None:
                        raise
                    logger.warning("refresh failed; serving the cached value", exc_info=True)
                    self._loaded_at = (
                        self._clock() - self.ttl_seconds + min(self.retry_seconds, self.ttl_seconds)
                    )
            return self._value

    def forget(self) -> None:
        """Drop the value: the next ``get()`` loads it again."""
        with self._lock:
            self._value = None
