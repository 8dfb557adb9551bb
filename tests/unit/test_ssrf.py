"""The SSRF guard: only global addresses, unless a network is allowed by name."""

from __future__ import annotations

import pytest

from hookrelay.errors import UnsafeDestination
from hookrelay.ssrf import check_url, parse_networks


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",  # instance metadata
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://224.0.0.1/",  # multicast
        "http://240.0.0.1/",  # reserved
        "http://255.255.255.255/",
        "http://[::1]/",
        "http://[fc00::1]/",  # unique local
        "http://[fd12:3456::1]/",
        "http://[fe80::1]/",  # link-local
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::]/",
        "http://[ff02::1]/",
        "http://2130706433/",  # 127.0.0.1 as one integer
        "http://0x7f000001/",
    ],
)
def test_non_global_destinations_are_refused(url: str) -> None:
    with pytest.raises(UnsafeDestination, match="refused"):
        check_url(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http:///nohost", "no host"),
        ("https://user:pass@example.com/", "credentials"),
        ("http://example.com:99999/", "valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeDestination, match=why):
        check_url(url)


def test_a_public_address_passes() -> None:
    assert check_url("https://93.184.216.34/hooks") == "93.184.216.34"
    assert check_url("https://[2606:2800:220:1:248:1893:25c8:1946]/") == "2606:2800:220:1:248:1893:25c8:1946"


def test_allowed_networks_open_exactly_those_networks() -> None:
    loopback = parse_networks(["loopback"])
    assert check_url("http://127.0.0.1:9000/", loopback) == "127.0.0.1"
    assert check_url("http://[::ffff:127.0.0.1]/", loopback) == "::ffff:127.0.0.1"
    with pytest.raises(UnsafeDestination):
        check_url("http://10.0.0.1/", loopback)
    assert check_url("http://10.9.9.9/", parse_networks(["10.9.0.0/16"])) == "10.9.9.9"


def test_unknown_network_names_are_an_error() -> None:
    with pytest.raises(ValueError, match="not a network"):
        parse_networks(["intranet"])
