#!/usr/bin/env bash
# bench/run.sh [--quick] [harness options]: the side-by-side benchmark, one command.
#
# Installs what it needs (scripts/install-deps, then fio, s3fs and rclone from Debian), builds
# strata (make release) and the FUSE passthrough reference (bench/passthrough/passthrough.c),
# then runs bench/harness.py: every workload on every system, systems alternating in rounds,
# and writes the tables (medians, spread, ratios to the passthrough) into bench/RESULTS.md
# between the harness markers, with the machine and the exact command.
#
#   bench/run.sh                 full size: 4 GiB checkpoint, 1,000 files, 3 rounds (~1-2 h)
#   bench/run.sh --quick         256 MiB, 200 files, 5 s timed phases, 1 round (~10 min)
#   bench/run.sh --systems "passthrough strata-sqlite" --workloads "ckpt-write small4k"
#
# Run as root on a machine with /dev/fuse (FUSE mounts, /proc/sys/vm/drop_caches). Never run by
# the tests: speed is measured here, not asserted there.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root" >&2; exit 1; }

quick=()
args=()
for a in "$@"; do
  case $a in
    --quick) quick=(--size-mib 256 --files 200 --seconds 5 --rounds 1) ;;
    *) args+=("$a") ;;
  esac
done

./scripts/install-deps >&2
missing=()
for p in fio s3fs rclone; do command -v "$p" >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; }
fi
make release >&2
mkdir -p build/bench
cc -O2 -Wall -o build/bench/passthrough bench/passthrough/passthrough.c \
  $(pkg-config --cflags --libs fuse3)

exec /usr/bin/python3 bench/harness.py --strata "$ROOT/build/release/src/cli/strata" \
  --passthrough "$ROOT/build/bench/passthrough" --results "$ROOT/bench/RESULTS.md" \
  "${quick[@]}" "${args[@]}"
