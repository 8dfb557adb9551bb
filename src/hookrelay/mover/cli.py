"""``sqs-mv SOURCE DEST``: move SQS messages from the command line, with a progress bar.

Also ``python -m hookrelay.mover.cli``. Exit codes: 0 everything moved (or counted, with --dry-run),
1 some messages failed or were not deleted, 2 a clear error (bad arguments, missing queue, no
permission, source equal to dest), 130 interrupted (Ctrl-C: the batch in flight is finished first).
The only module that imports rich: the Lambda does not need it.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import boto3
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from hookrelay.aws import clients as aws
from hookrelay.aws.errors import AWS_ERRORS, aws_error
from hookrelay.aws.sqs_visibility import release
from hookrelay.errors import HookrelayError, validation_message
from hookrelay.mover.engine import Mover
from hookrelay.mover.plan import prepare_move
from hookrelay.mover.queues import approximate_count
from hookrelay.mover.request import MoveReport, MoveRequest, StopReason

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
REFRESH_COUNT_SECONDS = 2.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sqs-mv", description="Move messages between SQS queues.")
    p.add_argument("source", help="source queue name or URL")
    p.add_argument("dest", nargs="?", help="destination queue name or URL")
    p.add_argument("--to-origin", action="store_true", help="send each message back where it came from")
    p.add_argument("--limit", type=int, help="move at most N messages")
    filters = "attr.NAME=VALUE, body.FIELD=VALUE, body~TEXT (~ means contains); repeat to AND"
    p.add_argument("--filter", action="append", default=[], metavar="EXPR", help=filters)
    p.add_argument("--dry-run", action="store_true", help="count and show, move nothing")
    p.add_argument("--reset-attempts", action="store_true", help="webhook delivery state to a fresh start")
    p.add_argument("--concurrency", type=int, default=4, help="parallel workers (default 4)")
    p.add_argument("--wait-seconds", type=int, default=5, help="long-poll wait per receive (default 5)")
    p.add_argument("--empty-polls", type=int, default=3, help="empty polls in a row that mean drained")
    p.add_argument("--visibility-timeout", type=int, default=120, help="seconds a received message hides")
    p.add_argument("--region", help="AWS region (default: the standard AWS configuration)")
    p.add_argument("--profile", help="AWS profile")
    p.add_argument("--endpoint-url", help="SQS endpoint (default: AWS_ENDPOINT_URL or AWS)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="log every message not moved (stderr)")
    return p


def main(argv: Sequence[str] | None = None, sqs: SQSClient | None = None) -> int:
    args = parser().parse_args(argv)
    with _logs_to_stderr(logging.INFO if args.verbose else logging.ERROR):
        return _move(args, sqs)


def _move(args: argparse.Namespace, sqs: SQSClient | None) -> int:
    err = Console(stderr=True)
    try:
        request = MoveRequest.model_validate(
            {k: v for k, v in vars(args).items() if k in MoveRequest.model_fields or k == "filter"}
        )
        client = sqs or _client(args)
        plan = prepare_move(request, client)
    except (ValidationError, ValueError) as exc:
        return _fail(err, _first_error(exc))
    except HookrelayError as exc:
        return _fail(err, exc.message)
    except AWS_ERRORS as exc:  # creating the client: a missing profile, no region (botocore says which)
        return _fail(err, f"{aws_error('connect to SQS', exc).message} ({exc})")
    stop = threading.Event()
    mover = Mover(plan, client, stop)
    try:
        with _stop_on_signals(stop, err):
            report = _run(mover, client, err, show=not (args.no_progress or args.json))
    except KeyboardInterrupt:
        # A second Ctrl-C: abort now, but make the messages this run was holding visible again first
        # (a batch mid-send may leave one duplicate on the destination; nothing is deleted unsent).
        stuck = release(plan.source.url, list(mover.state.held.values()), client)
        err.print(f"[red]aborted[/]; held messages released ({stuck} will reappear after their timeout)")
        return EXIT_INTERRUPTED
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        Console().print(summary(report))
    if report.fatal:
        return _fail(err, report.errors[0] if report.errors else report.fatal)
    if not report.ok:
        return EXIT_FAILED
    return EXIT_INTERRUPTED if report.stop_reason is StopReason.INTERRUPTED else EXIT_OK


class _Fields(logging.Formatter):
    """``LEVEL message {structured fields}``: the ids the mover logs with ``extra=``."""

    _plain = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in self._plain}
        return f"{record.levelname} {record.getMessage()} {json.dumps(fields, default=str)}"


@contextmanager
def _logs_to_stderr(level: int) -> Iterator[None]:
    """hookrelay's logs at ``level`` on stderr while the CLI runs; the process's setup is restored."""
    logger = logging.getLogger("hookrelay")
    saved = (logger.level, logger.propagate)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Fields())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _client(args: argparse.Namespace) -> SQSClient:
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    return session.client("sqs", endpoint_url=args.endpoint_url, config=aws.CLIENT_CONFIG)


def _fail(err: Console, message: str) -> int:
    err.print(f"sqs-mv: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_ERROR


def _first_error(exc: Exception) -> str:
    return validation_message(exc, limit=1, where="request") if isinstance(exc, ValidationError) else str(exc)


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} msg/s" if task.speed else "", style="cyan")


def _run(mover: Mover, sqs: SQSClient, err: Console, show: bool) -> MoveReport:
    thread = threading.Thread(target=mover.run, name="sqs-mv", daemon=True)
    request = mover.request
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate())
    with Progress(*columns, TimeRemainingColumn(), TimeElapsedColumn(), console=err, disable=not show) as bar:
        verb = "counting" if request.dry_run else "moving"
        task = bar.add_task(f"{verb} {mover.plan.source.name}", total=None)
        thread.start()
        next_count, base = 0.0, None
        while thread.is_alive():
            thread.join(0.2)
            now = mover.snapshot()
            done = now.moved + now.would_move + now.skipped + now.failed
            if show and now.elapsed_seconds >= next_count:
                next_count = now.elapsed_seconds + REFRESH_COUNT_SECONDS
                left = _left(mover.plan.source.url, sqs)
                base = None if left is None else done + left
                if base is not None and request.limit is not None:
                    base = min(base, request.limit + now.skipped + now.failed)
            bar.update(task, completed=done, total=None if base is None else max(base, done))
        final = mover.report
        bar.update(task, total=final.moved + final.would_move + final.skipped + final.failed)
    return mover.report


def _left(queue_url: str, sqs: SQSClient) -> int | None:
    try:
        return approximate_count(queue_url, sqs)
    except HookrelayError:
        return None


class _stop_on_signals:
    """Ctrl-C / SIGTERM set ``stop`` (the batch in flight finishes); a second Ctrl-C aborts."""

    def __init__(self, stop: threading.Event, err: Console) -> None:
        self.stop, self.err = stop, err
        self.saved: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.err.print("[yellow]stopping after the batch in flight (Ctrl-C again to abort)[/]")
        self.stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.saved[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)


def summary(report: MoveReport) -> Table:
    table = Table(title=f"sqs-mv {report.source} -> {report.dest or 'origin queues'}", show_header=False)
    rows: list[tuple[str, object]] = [
        ("would move" if report.dry_run else "moved", report.would_move if report.dry_run else report.moved),
        ("failed (left on source)", report.failed),
        ("sent but not deleted (duplicates)", report.not_deleted),
        ("skipped by filter", report.skipped),
        ("attempts reset", report.reset),
        ("not webhook messages (moved unchanged)", report.not_webhook),
        ("stopped", report.stop_reason or ""),
        ("time", f"{report.elapsed_seconds:.1f} s"),
    ]
    rows += [(f"  to {name}", count) for name, count in sorted(report.per_dest.items())]
    rows += [("error", reason) for reason in report.errors]
    for name, value in rows:
        table.add_row(name, str(value))
    for sample in report.samples:
        table.add_row(f"  {sample.message_id}", f"-> {sample.dest}: {sample.body}")
    return table


if __name__ == "__main__":
    sys.exit(main())
