"""How `layer-share verify` talks to AWS: bounded in time, whatever the endpoint does."""

from __future__ import annotations

from botocore.config import Config

# An endpoint that accepts connections and never answers costs each call CONNECT + READ per attempt, plus
# botocore's backoff (at most 1 s before the second attempt in standard mode).
CONNECT_SECONDS, READ_SECONDS, ATTEMPTS = 2.0, 2.5, 2
NETWORK = Config(
    connect_timeout=CONNECT_SECONDS,
    read_timeout=READ_SECONDS,
    retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
)
MAX_PARALLEL_READS = 8
# The most one call can take. A layer takes one call to list its versions, then one round of parallel policy
# reads; when the listing gets no answer nothing else is read for it. Layers are checked in parallel too.
WORST_CASE_SECONDS = ATTEMPTS * (CONNECT_SECONDS + READ_SECONDS) + 1.0
