"""Partner health (issue 16 items 1, 2): pause a dead endpoint and tell someone.

``decide`` (pure: counters + thresholds -> pause, notice or nothing), ``act`` (pause the mapping, publish
a notice), ``watch`` (the results recorder's step: count, decide, act), ``view`` (what ``GET
/partners/{id}`` shows). The counters live on the partner's item (:mod:`hookrelay.partners.health`).
"""
