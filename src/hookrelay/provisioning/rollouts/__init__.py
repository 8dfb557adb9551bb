"""update-code at scale: asynchronous, parallel within the Lambda control plane's rate, resumable.

``POST /update-code`` (:mod:`.control`) resolves the target once, records the rollout in the
``hookrelay-<stage>-rollouts`` table and sends its partners to the ``hookrelay-<stage>-rollouts`` work
queue in chunks; it answers 202 with the rollout id. The provisioner's ``rollout_worker`` (SQS, one chunk
per invocation, at most ``rollout_workers`` = 2 at once) runs :mod:`.worker`: per partner UpdateFunctionCode,
PublishVersion, UpdateAlias ``live``, prune one old version (``provisioning.resources.versions``),
threads sharing one :class:`.pace.Pace`. A chunk that fails (or is still throttled after backing off) goes
back to SQS and is redone from what is not yet recorded; a partner already on the target is ``skipped``.
``GET /rollouts/{id}`` (:mod:`.store`) answers counts, status and a page of results (``?outcome=failed``).

The arithmetic for 10,000 partners on AWS. Lambda's documented quota (Lambda quotas, "API requests"): the
control plane allows 15 requests per second *across all APIs* per account and Region, not per API, and it
cannot be increased; GetFunction has its own 100/s (the waits use it) and invocations are not counted.
  - calls per partner: UpdateFunctionCode + PublishVersion + UpdateAlias + DeleteFunction (pruning) = 4
  - the rollout's budget: ``rollout_calls_per_second`` = 12/s (3/s left for creates, updates, deletes)
  - 10,000 partners x 4 calls / 12 per second = 3,333 s, about 56 minutes; at the full 15/s, 44 minutes
  - the floor: 3 calls (no pruning) at 15/s is 33 minutes; folding PublishVersion into UpdateFunctionCode
    (``Publish=True``, a one-line change in ``function.update_code``) makes it 3 calls with pruning
    (42 minutes at 12/s, 33 at 15/s) or 2 without (22 minutes at 15/s).
  - skipped partners (already on the target) cost no Lambda call: a rerun after a half-done rollout
    pays only for what is left.
  - the workers: 2 x 6 calls/s = 1.5 partners/s each; a partner also waits a few seconds for its update
    to finish (GetFunction every 2 s, its own 100/s quota), so 8 threads per worker (8 partners in flight
    for ~4-5 s each) keep that share busy; a chunk of 25 partners takes about 25 / 1.5 = 17 s, well inside
    the worker's 60 s timeout.
  - the request itself: a scan of the partners table and 40 SendMessageBatch calls (10,000 / 25 / 10).
So "10,000 in minutes" is bounded by an account-wide quota AWS will not raise: about an hour at our
default share, half an hour at best; going faster means spreading partners over several accounts.
"""
