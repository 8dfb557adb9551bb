"""What the X-Ray SDK sent to the daemon (the ``xray_daemon`` fixture's UDP socket)."""

from __future__ import annotations

import json
import socket
from typing import Any


def received_segments(daemon: socket.socket) -> list[dict[str, Any]]:
    """Every segment document sent to the daemon so far (each datagram: a JSON header line, a document)."""
    documents = []
    while True:
        try:
            datagram = daemon.recv(65536)
        except TimeoutError:
            return documents
        documents.append(json.loads(datagram.decode().split("\n", 1)[1]))
