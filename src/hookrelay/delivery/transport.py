"""The HTTP transport: a pooled ``requests.Session`` that connects only to checked addresses.

:class:`PinnedAdapter` resolves the host of every request, refuses non-public addresses (see
:mod:`hookrelay.ssrf`) and connects to the address it checked, keeping the host name for the
``Host`` header and for TLS (SNI and certificate checks). Redirects are never followed, proxies
from the environment are ignored.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from hookrelay.ssrf import IPNetwork, resolve, validate_url

_PINNED = "_hookrelay_pinned_address"
# The HTTP client library webhooks are posted with (the benchmarks compare against a bare loop of it).
TRANSPORT_LIBRARY = "requests"


class PinnedAdapter(HTTPAdapter):
    def __init__(
        self, allowed: tuple[IPNetwork, ...] = (), pool_size: int = 10, dns_ttl_seconds: float = 30.0
    ) -> None:
        self.allowed = allowed
        self.dns_ttl_seconds = dns_ttl_seconds
        self._resolved: dict[tuple[str, int], tuple[str, float]] = {}
        super().__init__(pool_connections=4, pool_maxsize=pool_size, max_retries=0)

    def checked_address(self, host: str, port: int) -> str:
        """The checked address for host:port; answers (only checked ones) are kept for a short TTL."""
        now = time.monotonic()
        cached = self._resolved.get((host, port))
        if cached is not None and cached[1] > now:
            return cached[0]
        address = resolve(host, port, self.allowed)
        self._resolved[(host, port)] = (address, now + self.dns_ttl_seconds)
        return address

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        _, host, port = validate_url(str(request.url))
        address = self.checked_address(host, port)
        setattr(request, _PINNED, address)
        default_port = 443 if str(request.url).startswith("https:") else 80
        request.headers.setdefault("Host", host if port == default_port else f"{_bracket(host)}:{port}")
        return super().send(request, *args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        base: Any = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(base[0])
        pool_kwargs: dict[str, Any] = dict(base[1])
        address = getattr(request, _PINNED, None)
        if address is None:  # pragma: no cover - send() always pins first
            raise RuntimeError("request reached the pool without a checked address")
        hostname = urlsplit(str(request.url)).hostname or ""
        host_params["host"] = address
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def build_session(allowed: tuple[IPNetwork, ...] = (), pool_size: int = 10) -> requests.Session:
    """A session for webhook delivery: pinned, pooled, no proxies, no retries.

    Redirects are refused by the caller (``allow_redirects=False``); setting ``max_redirects = 0``
    instead would make requests raise even then, since it still prepares ``response.next``.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(allowed, pool_size=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
