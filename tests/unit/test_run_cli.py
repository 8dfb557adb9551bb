"""`make run` refuses a busy port with one clear line instead of a traceback."""

from __future__ import annotations

import socket

import pytest

from hookrelay_local import run


def test_a_busy_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run.main(["--aws-port", str(port), "--api-port", "0", "--receiver-port", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"port in use: --aws-port {port}. Choose others, e.g. make run RUN_ARGS='--aws-port 5001'"
    )
