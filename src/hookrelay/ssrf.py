"""The SSRF guard: a webhook may only reach a global address, unless a network is allowed by name.

Resolution happens once, here; the transport then connects to the very address that was checked,
so a second DNS answer (rebinding) cannot redirect the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from hookrelay.errors import UnsafeDestination

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Named networks an operator may allow (the local stack allows "loopback").
NAMED_NETWORKS: dict[str, tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
}


class DnsFailure(Exception):
    """The host name did not resolve (a retryable failure, unlike an unsafe address)."""


def parse_networks(names: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Turn names (``loopback``, ``private``) and CIDR blocks into networks."""
    networks: list[IPNetwork] = []
    for name in names:
        for cidr in NAMED_NETWORKS.get(name.strip(), (name.strip(),)):
            try:
                networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError as exc:
                raise ValueError(f"not a network name or CIDR block: {name!r}") from exc
    return tuple(networks)


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def is_public(address: IPAddress) -> bool:
    """True for a global unicast address; false for private, loopback, link-local, CGNAT, etc."""
    inner = _unmapped(address)
    for candidate in {address, inner}:
        if not candidate.is_global or candidate.is_multicast or candidate.is_reserved:
            return False
        if candidate.is_unspecified or candidate.is_link_local or candidate.is_loopback:
            return False
    return True


def check_address(address: str, allowed: tuple[IPNetwork, ...] = ()) -> IPAddress:
    """Return the parsed address if it may be connected to; raise UnsafeDestination otherwise."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if is_public(parsed):
        return parsed
    inner = _unmapped(parsed)
    for net in allowed:
        if any(ip.version == net.version and ip in net for ip in (parsed, inner)):
            return parsed
    raise UnsafeDestination(f"refused: {address} is not a public address")


def validate_url(url: str) -> tuple[str, str, int]:
    """Check a webhook URL's shape; return (scheme, host, port). No resolution."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("URL scheme must be http or https")
    if not parts.hostname:
        raise UnsafeDestination("URL has no host")
    if parts.username or parts.password:
        raise UnsafeDestination("URL must not carry credentials")
    if len(url) > 2048:
        raise UnsafeDestination("URL is longer than 2048 characters")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int, allowed: tuple[IPNetwork, ...] = ()) -> str:
    """Resolve ``host`` and return the first address that passes :func:`check_address`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DnsFailure(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused: list[str] = []
    for address in addresses:
        try:
            check_address(address, allowed)
        except UnsafeDestination:
            refused.append(address)
            continue
        return address
    raise UnsafeDestination(f"refused: {host} resolves only to non-public addresses {refused}")


def check_url(url: str, allowed: tuple[IPNetwork, ...] = ()) -> str:
    """Validate and resolve a URL the way delivery will; return the address it would use."""
    _, host, port = validate_url(url)
    return resolve(host, port, allowed)
