#!/bin/bash
# bench/read_bench.sh [SIZE_MIB] [ROUNDS] [SYSTEMS]: sequential reads of one large file through
# FUSE (issue 16, read side), `dd bs=$BS` (default 1M) to /dev/null after
# `echo 3 > /proc/sys/vm/drop_caches`, systems alternated in every round, medians and spread.
#
#   pt-cold     bench/passthrough (libfuse 3.14 high-level) over the source file: the ceiling
#   pt-pc       the same, read again (passthrough opens drop the page cache: a FUSE re-read of a
#               warm source)
#   file-cold   strata, SQLite + file:// store, fresh mount, empty cache directory
#   file-pc     the same mount, read again (page-cache hit: keep_cache)
#   s3-cold     strata, SQLite + s3rver, fresh mount, empty cache directory
#   s3-disk     strata on s3rver, fresh mount over the cache directory the s3-cold run filled
#               (every block from the local disk cache)
#   objbench    `strata objbench` on the same s3rver bucket (the s3 reference)
#
# SYSTEMS: a subset of "pt file s3" (default all). STRATA="bin..." selects the strata builds
# (several: each is run in every round, its rows suffixed @1, @2, ... in that order), BS the dd
# block size. Needs root and /dev/fuse; `make` first. Uses $TMPDIR (default /tmp):
# about 4 x SIZE of disk. Prints one line per measurement and a summary table (MiB/s).
set -euo pipefail
SIZE_MIB=${1:-1024}
ROUNDS=${2:-3}
SYSTEMS=${3:-"pt file s3"}
BS=${BS:-1M}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
read -r -a BINS <<< "${STRATA:-$ROOT/build/release/src/cli/strata}"
STRATA=${BINS[0]}  # formats the volumes and writes the file
W=$(mktemp -d "${TMPDIR:-/tmp}/readbench.XXXXXX")
MOUNTS=()
PIDS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  rm -rf "$W"
}
trap cleanup EXIT
has() { [[ " $SYSTEMS " == *" $1 "* ]]; }
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
waitmnt() { for _ in $(seq 100); do mountpoint -q "$1" && return 0; sleep 0.1; done; echo "no mount at $1" >&2; exit 1; }
umnt() { fusermount3 -u "$1"; for _ in $(seq 100); do mountpoint -q "$1" || return 0; sleep 0.1; done; }
# dd's rate in MiB/s
rd() { dd if="$1" of=/dev/null bs="$BS" 2>&1 | awk '/copied/ { for (i=1;i<=NF;i++) if ($i ~ /^s,?$/) s=$(i-1); printf "%.0f\n", '"$SIZE_MIB"' / s }'; }
declare -A R
rec() { R[$1]="${R[$1]:-} $2"; echo "round $r $1: $2 MiB/s"; }

mkdir -p "$W/src" "$W/pt" "$W/m"
head -c "${SIZE_MIB}M" /dev/urandom > "$W/src/big"
if has pt; then
  cc -O2 -o "$W/passthrough" "$ROOT/bench/passthrough/passthrough.c" $(pkg-config --cflags --libs fuse3)
fi
mount_strata() {  # META CACHE_DIR [BINARY]
  "${3:-$STRATA}" mount --cache-dir "$2" "$1" "$W/m" >"$W/mount.log" 2>&1 &
  PIDS+=($!); MOUNTS+=("$W/m"); waitmnt "$W/m"
}
if has file; then
  "$STRATA" format "sqlite3://$W/f.db" f --storage "file://$W/fstore" --trash-days 0 >/dev/null
  mount_strata "sqlite3://$W/f.db" "$W/fc0"; cp "$W/src/big" "$W/m/big"; umnt "$W/m"
fi
if has s3; then
  S3P=$(port)
  node --openssl-legacy-provider "$ROOT/tests/tools/node_modules/.bin/s3rver" -d "$W/s3" \
    -a 127.0.0.1 -p "$S3P" --no-vhost-buckets -s --configure-bucket rb >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$S3P") 2>/dev/null && break; sleep 0.2; done
  "$STRATA" format "sqlite3://$W/s.db" s --storage "http://127.0.0.1:$S3P/rb" \
    --access-key S3RVER --secret-key S3RVER --trash-days 0 >/dev/null
  mount_strata "sqlite3://$W/s.db" "$W/sc0"; cp "$W/src/big" "$W/m/big"; umnt "$W/m"
fi
for r in $(seq "$ROUNDS"); do
  if has pt; then
    "$W/passthrough" "$W/src" "$W/pt" -f & PIDS+=($!); MOUNTS+=("$W/pt"); waitmnt "$W/pt"
    drop; rec pt-cold "$(rd "$W/pt/big")"
    rec pt-pc "$(rd "$W/pt/big")"
    umnt "$W/pt"
  fi
  for bi in "${!BINS[@]}"; do
    B=${BINS[$bi]}; sfx=""; [ ${#BINS[@]} -gt 1 ] && sfx="@$((bi + 1))"
    if has file; then
      rm -rf "$W/fc"; mount_strata "sqlite3://$W/f.db" "$W/fc" "$B"
      drop; rec "file-cold$sfx" "$(rd "$W/m/big")"
      rec "file-pc$sfx" "$(rd "$W/m/big")"
      umnt "$W/m"
    fi
    if has s3; then
      rm -rf "$W/sc"; mount_strata "sqlite3://$W/s.db" "$W/sc" "$B"
      drop; rec "s3-cold$sfx" "$(rd "$W/m/big")"
      umnt "$W/m"
      mount_strata "sqlite3://$W/s.db" "$W/sc" "$B"
      drop; rec "s3-disk$sfx" "$(rd "$W/m/big")"
      umnt "$W/m"
    fi
  done
  if has s3; then
    ob=$("$STRATA" objbench "http://127.0.0.1:$S3P/rb" --access-key S3RVER --secret-key S3RVER --big-count 32 \
         2>/dev/null | awk -F"|" '/get big/ {gsub(/ /,"",$5); print $5}')
    rec objbench-get "$ob"
  fi
done
echo
echo "size ${SIZE_MIB} MiB, dd bs=$BS, $ROUNDS rounds, MiB/s: median (min-max) [runs]"
for k in $(printf '%s\n' "${!R[@]}" | sort); do
  [ -n "${R[$k]:-}" ] || continue
  python3 - "$k" ${R[$k]} <<'PY'
import statistics, sys
k, v = sys.argv[1], [float(x) for x in sys.argv[2:]]
print(f"{k:10s} {statistics.median(v):7.0f} ({min(v):.0f}-{max(v):.0f}) {v}")
PY
done
