#!/usr/bin/env bash
# wb_small_local.sh: the small-file ceiling of the mount itself — the writeback_bench.sh small
# workload on SQLite + file:// (no store latency), default mode and --writeback alternated, with
# what the mount spends per file: CPU (utime + stime of the mount process), and the fsync
# family of syscalls it makes (count per file and mean time, from syscall tracepoints). Run by hand
# as root (never by ctest):
#
#   bench/wb_small_local.sh                               # 16 writers x 100 files of 4 KiB
#   WRITERS=1 FILES=400 SIZE=131072 bench/wb_small_local.sh
#   PERF_DIR=/tmp/p bench/wb_small_local.sh               # also `perf record -g -p MOUNT`
#
# Prints per run: mode, files/s, mount CPU ms per file, then per sync syscall its calls per file
# and mean time (TRACE=1: `perf record` of the syscall tracepoints, enter and exit paired).
#
# Environment: STRATA (build/strata), RUNS (2), WRITERS (16), FILES (100 per writer), SIZE
# (4096), MODES ("default writeback"), WORKDIR (/var/tmp), TRACE (1: count the mount's fsyncs
# from syscall tracepoints, which slows the run a little; 0: no tracing, the files/s to quote),
# MOUNT_ARGS / WB_ARGS (extra mount flags: both modes / writeback only), PERF_DIR (a directory
# for perf-MODE-RUN.data and a `perf report` summary; implies one extra run per mode).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=$(realpath "${STRATA:-$HERE/../build/strata}")
RUNS=${RUNS:-2} WRITERS=${WRITERS:-16} FILES=${FILES:-100} SIZE=${SIZE:-4096}
MODES=${MODES:-default writeback} TRACE=${TRACE:-1}
read -r -a MOUNT_EXTRA <<<"${MOUNT_ARGS:-}"
read -r -a WB_EXTRA <<<"${WB_ARGS:-}"
[ "$(id -u)" = 0 ] || { echo "run as root (FUSE mounts)"; exit 1; }
[ -x "$STRATA" ] || { echo "$STRATA is not an executable"; exit 2; }
T=$(mktemp -d "${WORKDIR:-/var/tmp}/wbsmall.XXXXXX")
cleanup() {
  for mp in "$T"/mnt-*; do mountpoint -q "$mp" 2>/dev/null && "$STRATA" umount --force "$mp" >/dev/null 2>&1; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)
N=0
one() {  # one MODE RUN: prints one line (see the top)
  local mode=$1 run=$2 vol="$T/v$N" mp="$T/mnt-$N" extra=() out pid tr_pid= perf_pid=
  N=$((N + 1))
  mkdir -p "$vol/blocks" "$mp"
  "$STRATA" format "sqlite3://$vol/meta.db" bench --storage "file://$vol/blocks" --trash-days 0 >/dev/null
  extra=("${MOUNT_EXTRA[@]}")
  [ "$mode" = writeback ] && extra+=(--writeback --writeback-dir "$vol/wb" "${WB_EXTRA[@]}")
  out=$("$STRATA" mount -d --log "$vol/mount.log" "${extra[@]}" "sqlite3://$vol/meta.db" "$mp")
  pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
  python3 "$HERE/writeback_writers.py" "$mp/warm" 1 20 "$SIZE" >/dev/null  # first-use costs
  if [ "$TRACE" = 1 ]; then
    perf record -q -p "$pid" -o "$vol/sync.data" -e syscalls:sys_enter_fsync \
        -e syscalls:sys_exit_fsync -e syscalls:sys_enter_fdatasync \
        -e syscalls:sys_exit_fdatasync >/dev/null 2>&1 &
    tr_pid=$!
    sleep 1
  fi
  if [ -n "${PERF_DIR:-}" ]; then
    mkdir -p "$PERF_DIR"
    perf record -g -p "$pid" -o "$PERF_DIR/perf-$mode-$run.data" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 1
  fi
  local c0 c1 t
  c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  t=$(python3 "$HERE/writeback_writers.py" "$mp/d" "$WRITERS" "$FILES" "$SIZE")
  c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    perf report -i "$PERF_DIR/perf-$mode-$run.data" --no-children --sort sym -g none --stdio \
        2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 > "$PERF_DIR/perf-$mode-$run.txt" || true
  fi
  local files=$((WRITERS * FILES)) syncs="-"
  if [ -n "$tr_pid" ]; then
    kill -INT "$tr_pid"; wait "$tr_pid" || true
    # Enter and exit events paired per thread: calls per file and mean time of each syscall.
    syncs=$(perf script -i "$vol/sync.data" -F tid,time,event 2>/dev/null | awk -v files="$files" '
        {tid = $1; t = $2 + 0; split($3, e, "_"); call = e[3]; sub(":", "", call)}
        $3 ~ /sys_enter/ {start[tid] = t}
        $3 ~ /sys_exit/ && (tid in start) {c[call]++; m[call] += t - start[tid]; delete start[tid]}
        END {for (k in c) printf "%s %.2f/file %.2fms ", k, c[k] / files, 1000 * m[k] / c[k]}')
  fi
  python3 -c "print(f'$mode {$files/$t:.0f} {($c1-$c0)/$TICKS*1000/$files:.3f} $syncs')"
  "$STRATA" umount "$mp" >/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
echo "SQLite + file:// in $T; $WRITERS writers x $FILES files of $SIZE bytes; ${MOUNT_ARGS:-} wb: ${WB_ARGS:-}; trace $TRACE"
echo "mode files/s mount-CPU-ms/file [syscall calls/file mean-ms]..."
for run in $(seq "$RUNS"); do
  for mode in $MODES; do one "$mode" "$run"; done
done
