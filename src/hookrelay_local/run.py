"""`make run`: start the local stack and show it live until Ctrl-C.

python -m hookrelay_local.run [--aws-port 5000] [--api-port 8000] [--receiver-port 8001] [--no-console]
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import time
from pathlib import Path

from hookrelay_local.artifacts import BuildFailed
from hookrelay_local.console import AttemptFeed, Board, poll_depths, render
from hookrelay_local.moto_serving import tune_collector_for_a_server
from hookrelay_local.shutdown import Stopper
from hookrelay_local.stack import LocalStack, StackOptions

LOG_FILE = Path(".hookrelay") / "local.log"
STOP_GRACE_S = 9.0  # a signal ends the process within this, even when the graceful stop hangs


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--aws-port", type=int, default=5000, help="moto's server (the AWS endpoint)")
    parser.add_argument("--api-port", type=int, default=8000, help="the provisioner's REST API")
    parser.add_argument("--receiver-port", type=int, default=8001, help="the sample partner endpoint")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--no-console", action="store_true", help="plain log lines instead of the live view")
    return parser.parse_args(argv)


def configure_logs(board: Board, to_stdout: bool) -> None:
    from hookrelay.observability import configure_logging

    configure_logging("local", "INFO")
    root = logging.getLogger()
    if not to_stdout:  # the live view owns the terminal; JSON logs go to a file
        LOG_FILE.parent.mkdir(exist_ok=True)
        for handler in root.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(LOG_FILE.open("a"))
    root.addHandler(AttemptFeed(board))


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now, probed the way moto's and Chalice's servers bind.

    Both set SO_REUSEADDR (``allow_reuse_address``), so a port whose last connections linger in
    TIME_WAIT after a stop is free to them; a probe without it says "in use" for about a minute.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen()
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    options = StackOptions(
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.api_port,
        receiver_port=args.receiver_port,
        stage=args.stage,
    )
    busy = [
        f"{name} {port}"
        for name, port in (
            ("--aws-port", args.aws_port),
            ("--api-port", args.api_port),
            ("--receiver-port", args.receiver_port),
        )
        if not port_free(args.host, port)
    ]
    if busy:
        print(
            f"port in use: {', '.join(busy)}. Choose others, e.g. make run RUN_ARGS='--aws-port 5001'",
            file=sys.stderr,
        )
        return 2
    board = Board()
    configure_logs(board, to_stdout=args.no_console)
    with Stopper(grace_s=STOP_GRACE_S) as stopper:
        return serve(LocalStack(options), args, board, stopper)


def serve(stack: LocalStack, args: argparse.Namespace, board: Board, stopper: Stopper) -> int:
    """Start the stack, show it until SIGINT/SIGTERM, stop it (the stopper ends a stop that hangs)."""
    started = time.monotonic()
    try:  # the first line is inside: a signal right after it (KeyboardInterrupt) is handled below too
        print(f"starting hookrelay on {args.host} (first run packages the handler: ~15 s) ...", flush=True)
        stack.start()
        tune_collector_for_a_server()  # a long-lived server (moto's in it): see moto_serving
        stopper.started()
        print(f"ready in {time.monotonic() - started:.1f} s", flush=True)
        show(stack, args, board, stopper)
    except BuildFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a signal while starting: what has started is stopped below
        pass
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


def show(stack: LocalStack, args: argparse.Namespace, board: Board, stopper: Stopper) -> None:
    """Print where everything is, then the live view (or nothing: logs on stdout) until a signal."""
    options = stack.options
    print(
        f"  AWS endpoint (moto)     {stack.endpoint}\n"
        f"  provisioner REST API    {stack.api_url}   (GET /openapi.json)\n"
        f"  operator console        {stack.console_url}   (token: {stack.console_token()})\n"
        f"  sample receiver         {stack.receiver_url}   (verifies partner '{options.sample_partner}')\n"
        f"  logs                    {LOG_FILE if not args.no_console else 'stdout'}\n"
        "Ctrl-C stops everything.",
        flush=True,
    )
    if args.no_console:
        stopper.requested.wait()
        return
    from rich.live import Live

    sqs = stack.client("sqs")
    header = f"hookrelay local · API {stack.api_url} · AWS {stack.endpoint} · Ctrl-C to stop"
    with Live(render(board, header), refresh_per_second=2, screen=False) as live:
        while not stopper.requested.wait(1):
            poll_depths(board, sqs, options.stage)
            live.update(render(board, header))


if __name__ == "__main__":
    sys.exit(main())
