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


def aws_call_segments(documents: list[dict[str, Any]], endpoint: str) -> list[dict[str, Any]]:
    """The (sub)segments of SQS sends: an AWS call, as botocore's patch records it, or an HTTP call to
    AWS's ``endpoint``, as the lean wire's is (through urllib3)."""
    return [
        d
        for d in documents
        if d.get("aws", {}).get("operation") == "SendMessage"
        or d.get("http", {}).get("request", {}).get("url", "").startswith(endpoint)
    ]
