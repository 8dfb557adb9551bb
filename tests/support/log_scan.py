"""Every log line of a run, formatted as the apps format it (JSON, extras included), scanned for secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SECRET_MARK = "whsec_"


class SecretScan(logging.Handler):
    """Formats every log record as the apps do (JSON, extras included) and keeps those holding a secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(LambdaPowertoolsFormatter(service="soak"))
        self.lines = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.lines += 1
        if SECRET_MARK in line:
            self.leaks.append(line[:500])


@contextmanager
def scanning_logs() -> Iterator[SecretScan]:
    root, scan = logging.getLogger(), SecretScan()
    level = root.level
    root.addHandler(scan)
    root.setLevel(min(level or logging.INFO, logging.INFO))
    try:
        yield scan
    finally:
        root.removeHandler(scan)
        root.setLevel(level)
