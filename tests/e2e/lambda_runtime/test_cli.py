"""The runtime's command line: killed mid-batch and restarted, it loses nothing; SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from hookrelay_local.partner_server import Reply, always
from tests.support.lambda_runtime import (
    LocalAws,
    create_partner,
    publish,
    queue_counts,
    spawn_runtime,
    wait_for,
    webhook_ids,
)

pytestmark = pytest.mark.e2e


def test_sigkill_mid_batch_then_restart_delivers_every_message(
    local_aws: LocalAws, partner_server: Any, tmp_path: Path
) -> None:
    # GIVEN 20 queued webhooks for a slow partner (0.2 s a request), and the runtime's CLI running
    server = partner_server(always(Reply(delay=0.2)))
    partner = create_partner(local_aws, "acme", server.url, visibility_timeout=2)
    published = publish(local_aws, partner, 20)
    log = tmp_path / "runtime.log"
    first = spawn_runtime(local_aws.endpoint_url, log)

    # WHEN it is killed (SIGKILL) while its first batches are being delivered
    wait_for(lambda: server.count >= 1, timeout=30)
    first.kill()
    first.wait()
    delivered_before_kill = set(webhook_ids(server))
    assert len(delivered_before_kill) < len(published)
    assert queue_counts(local_aws, partner.queue_url)[1] > 0  # received, never deleted

    # AND a new runtime starts
    second = spawn_runtime(local_aws.endpoint_url, log)
    try:
        # THEN every webhook reaches the partner (some twice: at least once, never lost), the queue empties
        wait_for(lambda: set(published) <= set(webhook_ids(server)))
        wait_for(lambda: queue_counts(local_aws, partner.queue_url) == (0, 0))
        assert queue_counts(local_aws, partner.dlq_url) == (0, 0)

        # AND SIGTERM stops it cleanly
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0, log.read_text()[-2000:]
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
