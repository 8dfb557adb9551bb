"""A network failure of a delivery attempt, as its attempt record names it: the same words and error kind
whatever the client library (urllib3 today, requests before)."""

from __future__ import annotations

from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError, SSLError

from hookrelay.models import ErrorKind

_NETWORK_KIND = {"ConnectTimeout": ErrorKind.TIMEOUT, "ReadTimeout": ErrorKind.TIMEOUT}


def label(exc: HTTPError) -> str:
    """A network failure's name in the attempt record: the same words whatever the client library."""
    if isinstance(exc, SSLError):
        return "SSLError"
    if isinstance(exc, NewConnectionError):  # a subclass of ConnectTimeoutError, for old reasons
        return "ConnectionError"
    if isinstance(exc, ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, ReadTimeoutError):
        return "ReadTimeout"
    return "ConnectionError"


def describe(exc: HTTPError, limit: int = 300) -> str:
    text = f"{label(exc)}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def failure_kind(exc: HTTPError) -> ErrorKind:
    """TLS, timeout or (anything else) connection."""
    if isinstance(exc, SSLError):
        return ErrorKind.TLS
    return _NETWORK_KIND.get(label(exc), ErrorKind.CONNECTION)
