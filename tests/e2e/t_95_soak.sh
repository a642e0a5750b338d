#!/usr/bin/env bash
# e2e: the chaos soak (tests/soak/soak.sh) with a 2-minute chaos phase (about 3 minutes in all):
# 4 paths (2 NICs x 2 portals), fio (2 jobs, nbd engine, randrw 4k-256k, iodepth 16, crc32c
# verify) and a second NBD client that connects, does verified I/O and disconnects (drained,
# NBD_CMD_DISC or abruptly) at random, while every fault kind of TESTING.md's table (NIC down,
# silent loss, reset, slow path, flapping, target restart) is injected at least once, at random
# times, sometimes two at once (never on every path). Passes only with zero I/O errors and
# verify failures in both clients, the daemon alive and exiting 0, and its fd count and RSS
# within their bounds. The seed is random and printed: SOAK_SEED=N replays a run.
# Summary: $E2E_LOGDIR/summary.md (build/e2e/t_95_soak/ under run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
SOAK_MINUTES=2 exec bash tests/soak/soak.sh
