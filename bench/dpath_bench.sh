#!/bin/bash
# bench/dpath_bench.sh [ROUNDS] [WORKLOADS]: the issue-16 data-path measures on SQLite + file://
# with the mount's own CPU time next to each rate, builds alternated in every round (the rate of
# one run drifts with the other load of a shared machine; the CPU per run is steadier).
#
#   cold    one SIZE_MIB file written once per build, then per round: fresh mount with an empty
#           --cache-dir, `echo 3 > drop_caches`, `dd bs=1M` to /dev/null (MiB/s, mount CPU s)
#   small   per round: fresh volume, COUNT x 4 KiB open(O_CREAT|O_EXCL)+write+close in one
#           directory (bench/mount/smallfiles.py create; files/s, mount CPU ms); also on the
#           FUSE passthrough (bench/passthrough) as the reference
#
# STRATA="bin..." the builds (default build/release/src/cli/strata), SIZE_MIB (default 1024),
# COUNT (default 2000). Needs root and /dev/fuse; uses $TMPDIR (default /tmp). Volumes of the
# small workload are deleted only at the end: ext4 without a journal scans the inodes deleted
# in the last seconds on every create, which would slow the next run down.
set -euo pipefail
ROUNDS=${1:-3}
WORKLOADS=${2:-"cold small"}
SIZE_MIB=${SIZE_MIB:-1024}
COUNT=${COUNT:-2000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
read -r -a BINS <<< "${STRATA:-$ROOT/build/release/src/cli/strata}"
W=$(mktemp -d "${TMPDIR:-/tmp}/dpathbench.XXXXXX")
PIDS=()
cleanup() {
  for m in "$W"/*/m; do mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" || umount -l "$m"; }; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  rm -rf "$W"
}
trap cleanup EXIT
has() { [[ " $WORKLOADS " == *" $1 "* ]]; }
waitmnt() { for _ in $(seq 100); do mountpoint -q "$1" && return 0; sleep 0.1; done; echo "no mount at $1" >&2; exit 1; }
umnt() { fusermount3 -u "$1"; for _ in $(seq 100); do mountpoint -q "$1" || return 0; sleep 0.1; done; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, 1/100 s
cc -O2 -o "$W/passthrough" "$ROOT/bench/passthrough/passthrough.c" $(pkg-config --cflags --libs fuse3)

if has cold; then
  head -c "${SIZE_MIB}M" /dev/urandom > "$W/src"
  for bi in "${!BINS[@]}"; do
    V="$W/cold$bi"; mkdir -p "$V/m"
    "${BINS[$bi]}" format "sqlite3://$V/f.db" f --storage "file://$V/store" --trash-days 0 >/dev/null
    "${BINS[$bi]}" mount "sqlite3://$V/f.db" "$V/m" >"$V/log" 2>&1 & PIDS+=($!)
    waitmnt "$V/m"; cp "$W/src" "$V/m/big"; umnt "$V/m"
  done
  rm -f "$W/src"
fi

n=0
for r in $(seq "$ROUNDS"); do
  if has small; then
    V="$W/s$((n++))"; mkdir -p "$V/src" "$V/m"
    "$W/passthrough" "$V/src" "$V/m" -f >"$V/log" 2>&1 & MP=$!; PIDS+=($MP); waitmnt "$V/m"
    mkdir "$V/m/d"; c0=$(ticks $MP)
    t=$(/usr/bin/python3 "$ROOT/bench/mount/smallfiles.py" create "$V/m/d" "$COUNT" 4096)
    echo "round $r small passthrough: $(python3 -c "print('%.0f' % ($COUNT / $t))") files/s, cpu $(( $(ticks $MP) - c0 ))0 ms"
    umnt "$V/m"
  fi
  for bi in "${!BINS[@]}"; do
    B=${BINS[$bi]}
    if has cold; then
      V="$W/cold$bi"; rm -rf "$V/cache"
      "$B" mount --cache-dir "$V/cache" "sqlite3://$V/f.db" "$V/m" >"$V/log" 2>&1 & MP=$!; PIDS+=($MP)
      waitmnt "$V/m"; sync; echo 3 > /proc/sys/vm/drop_caches; c0=$(ticks $MP)
      rate=$(dd if="$V/m/big" of=/dev/null bs=1M 2>&1 | awk '/copied/ { for (i=1;i<=NF;i++) if ($i ~ /^s,?$/) s=$(i-1); printf "%.0f", '"$SIZE_MIB"' / s }')
      echo "round $r cold @$((bi + 1)): $rate MiB/s, cpu $(( $(ticks $MP) - c0 ))0 ms"
      umnt "$V/m"
    fi
    if has small; then
      V="$W/s$((n++))"; mkdir -p "$V/m"
      "$B" format "sqlite3://$V/f.db" f --storage "file://$V/store" --trash-days 0 >/dev/null
      "$B" mount --cache-dir "$V/cache" "sqlite3://$V/f.db" "$V/m" >"$V/log" 2>&1 & MP=$!; PIDS+=($MP)
      waitmnt "$V/m"; mkdir "$V/m/d"; c0=$(ticks $MP)
      t=$(/usr/bin/python3 "$ROOT/bench/mount/smallfiles.py" create "$V/m/d" "$COUNT" 4096)
      echo "round $r small @$((bi + 1)): $(python3 -c "print('%.0f' % ($COUNT / $t))") files/s, cpu $(( $(ticks $MP) - c0 ))0 ms"
      umnt "$V/m"
    fi
  done
done
