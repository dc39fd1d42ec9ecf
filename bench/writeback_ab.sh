#!/usr/bin/env bash
# writeback_ab.sh OLD_BIN NEW_BIN: bench/writeback_bench.sh with two strata binaries alternated
# (OLD then NEW, ROUNDS times), each run printing its table with the time and load average,
# so that a change is compared with its base in one session on a noisy machine. Run as root.
#
#   ROUNDS=2 RUNS=2 bench/writeback_ab.sh /tmp/strata-old build/strata     # 1 GiB seq, 4 runs each
#
# Environment: ROUNDS (2); everything else (RUNS, SEQ_MB, WORKLOADS, WB_ARGS, S3RVER, ...) is
# passed to writeback_bench.sh; SEQ_MB defaults to 1024 and WORKLOADS to seq here.
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
for b in "$1" "$2"; do [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }; done
export SEQ_MB=${SEQ_MB:-1024} WORKLOADS=${WORKLOADS:-seq}
for i in $(seq "${ROUNDS:-2}"); do
  for b in "$1" "$2"; do
    echo "=== round $i $b $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    STRATA=$b "$HERE/writeback_bench.sh" 2>&1
    echo "=== end $b $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
