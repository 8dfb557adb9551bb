"""The sqs-mv CLI with an injected moto client: exit codes, one-line errors, the summary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookrelay.mover.cli import EXIT_ERROR, EXIT_FAILED, EXIT_OK, main
from tests.support.mover import AtomicReceives, FlakySqs, denied, fill, visible


@pytest.fixture
def queues(sqs: Any) -> tuple[str, str]:
    return sqs.create_queue(QueueName="source")["QueueUrl"], sqs.create_queue(QueueName="dest")["QueueUrl"]


def test_moves_and_prints_a_json_summary(sqs: Any, queues: tuple[str, str], capsys: Any) -> None:
    # GIVEN 12 messages WHEN sqs-mv source dest --json
    fill(sqs, queues[0], 12)
    # (AtomicReceives: moto's in-process ReceiveMessage can hand one message to two workers at once)
    code = main(["source", "dest", "--json", "--wait-seconds", "0"], sqs=AtomicReceives(sqs))
    # THEN exit 0, and the summary says 12 moved because the source drained
    summary = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert (summary["moved"], summary["failed"], summary["stop_reason"]) == (12, 0, "drained")
    assert visible(sqs, queues[1]) == 12


def test_the_table_summary_names_the_counts(sqs: Any, queues: tuple[str, str], capsys: Any) -> None:
    fill(sqs, queues[0], 3)
    assert main(["source", "dest", "--dry-run", "--wait-seconds", "0", "--no-progress"], sqs=sqs) == EXIT_OK
    out = capsys.readouterr().out
    assert "would move" in out
    assert "│ 3 " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["source", "missing"], "sqs-mv: error: queue missing does not exist (or is in another account"),
        (["source", "source"], "sqs-mv: error: source and dest are the same queue (source)"),
        (["source"], "sqs-mv: error: request: give exactly one of dest or to_origin"),
        (["source", "dest", "--limit", "0"], "sqs-mv: error: limit: Input should be greater than or equal"),
        (["source", "dest", "--filter", "partner"], "sqs-mv: error: filter: bad filter 'partner': use "),
    ],
)
def test_clear_errors_exit_2_with_one_line(
    sqs: Any, queues: tuple[str, str], capsys: Any, argv: list[str], message: str
) -> None:
    assert main(argv, sqs=sqs) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_no_permission_exits_2_with_one_line(sqs: Any, queues: tuple[str, str], capsys: Any) -> None:
    class Denied(FlakySqs):
        def receive_message(self, **kwargs: Any) -> Any:
            raise denied("ReceiveMessage")

    code = main(["source", "dest", "--json"], sqs=Denied(sqs, lambda call, entries: {}))
    assert code == EXIT_ERROR
    assert capsys.readouterr().err == (
        "sqs-mv: error: no permission to receive messages on queue source (AccessDenied: not for you)\n"
    )


def test_failed_messages_exit_1(sqs: Any, queues: tuple[str, str], capsys: Any) -> None:
    # GIVEN a destination that refuses one entry per batch as the sender's fault
    fill(sqs, queues[0], 5)
    flaky = FlakySqs(sqs, lambda call, entries: {entries[0]["Id"]: True})
    # WHEN moved by one worker (the five arrive as one batch) THEN exit 1, with that one failure counted
    argv = ["source", "dest", "--json", "--wait-seconds", "0", "--concurrency", "1"]
    assert main(argv, sqs=flaky) == EXIT_FAILED
    assert json.loads(capsys.readouterr().out)["failed"] == 1


def test_a_second_ctrl_c_aborts_but_releases_the_messages_it_held(
    sqs: Any, queues: tuple[str, str], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run that holds one message (received, hidden for 120 s) when the second Ctrl-C comes
    from hookrelay.mover import cli as mover_cli

    source, dest = queues
    fill(sqs, source, 1)

    def interrupted(mover: Any, client: Any, err: Any, show: bool) -> Any:
        [message] = client.receive_message(QueueUrl=source, VisibilityTimeout=120)["Messages"]
        mover.state.held[message["MessageId"]] = message["ReceiptHandle"]
        raise KeyboardInterrupt

    monkeypatch.setattr(mover_cli, "_run", interrupted)
    # WHEN it is aborted THEN it exits 130 and the message is visible on the source again at once
    assert main(["source", "dest", "--no-progress"], sqs=sqs) == mover_cli.EXIT_INTERRUPTED
    assert (visible(sqs, source), visible(sqs, dest)) == (1, 0)
    assert "aborted" in capsys.readouterr().err
