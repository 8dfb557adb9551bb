"""Loopback ports for tests, without the free-port race.

A server of ours binds port 0 and reports the port it got (``StackOptions(api_port=0)``,
``start_moto_server(0)``, ``PartnerServer``): nothing to race. What is left:

- :func:`closed_port`: a port that refuses connections for as long as the test needs it. The socket is
  bound and never listens, so a connect is refused, and no other process can take the port meanwhile
  (closing a probe and hoping nobody binds it is the race).
- :func:`start_retrying`: an external program that must be told its port up front: pick free ports,
  start it, and pick others when it reports the port taken in between.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from hookrelay_local.stack import free_port

T = TypeVar("T")
IN_USE = ("address already in use", "port in use", "errno 98")


@contextmanager
def closed_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port on ``host`` held bound but not listening: every connection to it is refused."""
    with socket.socket() as held:
        held.bind((host, 0))
        yield int(held.getsockname()[1])


def is_address_in_use(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in IN_USE)


def start_retrying(
    start: Callable[[list[int]], T | None], count: int, attempts: int = 3
) -> tuple[list[int], T]:
    """``start(ports)`` on ``count`` free ports; ``start`` returns None when a port was taken meanwhile
    (it says so: :func:`is_address_in_use`), and it is tried again on other ports."""
    for _ in range(attempts):
        ports = [free_port() for _ in range(count)]
        started = start(ports)
        if started is not None:
            return ports, started
    raise AssertionError(f"{attempts} sets of free ports were each taken before the program bound them")
