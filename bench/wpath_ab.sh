#!/bin/bash
# bench/wpath_ab.sh [ROUNDS]: the default-mode write path on SQLite + file://, builds alternated
# with the FUSE passthrough of the same disk in every round, with what each mount cost:
#
#   w1   one fio job writes SIZE_MIB in 1 MiB writes, then fsync (the harness's ckpt-write)
#   w4   4 fio jobs write SIZE_MIB/4 each at once, each then fsync (ckpt-write4)
#
# Each run gets a fresh volume and a fresh mount (as the harness does). Printed per run: MiB/s,
# the daemon's CPU (utime + stime), minor page faults (/proc/PID/stat field 10) and peak RSS
# (VmHWM) over the run. STRATA="bin..." the builds (default build/release/src/cli/strata),
# SIZE_MIB (default 1024), WORKLOADS (default "w1 w4"). Needs root, /dev/fuse and fio.
set -euo pipefail
ROUNDS=${1:-3}
SIZE_MIB=${SIZE_MIB:-1024}
WORKLOADS=${WORKLOADS:-"w1 w4"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
read -r -a BINS <<< "${STRATA:-$ROOT/build/release/src/cli/strata}"
W=$(mktemp -d "${TMPDIR:-/tmp}/wpathab.XXXXXX")
PIDS=()
cleanup() {
  for m in "$W"/*/m; do mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" || umount -l "$m"; }; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  rm -rf "$W"
}
trap cleanup EXIT
waitmnt() { for _ in $(seq 100); do mountpoint -q "$1" && return 0; sleep 0.1; done; echo "no mount at $1" >&2; exit 1; }
umnt() { fusermount3 -u "$1"; for _ in $(seq 100); do mountpoint -q "$1" || return 0; sleep 0.1; done; }
cost() { awk '{print $10, $14 + $15}' "/proc/$1/stat"; }  # minflt, utime + stime (1/100 s)
cc -O2 -o "$W/passthrough" "$ROOT/bench/passthrough/passthrough.c" $(pkg-config --cflags --libs fuse3)

# run LABEL PID MNT WORKLOAD: one fio run into MNT, printed with the daemon's costs.
run() {
  local label=$1 pid=$2 mnt=$3 wl=$4 s0 s1 t0 t1 rate
  read -r -a s0 <<< "$(cost "$pid")"
  t0=$(date +%s.%N)
  if [ "$wl" = w1 ]; then
    fio --name=ckpt --directory="$mnt" --ioengine=psync --rw=write --bs=1M --size="${SIZE_MIB}M" \
        --end_fsync=1 --filename=ckpt.bin >/dev/null
  else
    fio --name=ckpt4 --directory="$mnt" --ioengine=psync --rw=write --bs=1M \
        --size="$((SIZE_MIB / 4))M" --end_fsync=1 --numjobs=4 --group_reporting=1 >/dev/null
  fi
  t1=$(date +%s.%N)
  read -r -a s1 <<< "$(cost "$pid")"
  rate=$(python3 -c "print('%.0f' % ($SIZE_MIB / ($t1 - $t0)))")
  echo "round $r $wl $label: $rate MiB/s, cpu $(( (s1[1] - s0[1]) * 10 )) ms," \
       "minflt $(( s1[0] - s0[0] )), hwm $(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status") MiB"
}

n=0
for r in $(seq "$ROUNDS"); do
  for wl in $WORKLOADS; do
    V="$W/p$((n++))"; mkdir -p "$V/src" "$V/m"
    "$W/passthrough" "$V/src" "$V/m" -f >"$V/log" 2>&1 & MP=$!; PIDS+=("$MP"); waitmnt "$V/m"
    run passthrough "$MP" "$V/m" "$wl"
    umnt "$V/m"; rm -rf "$V"
    for bi in "${!BINS[@]}"; do
      B=${BINS[$bi]}; V="$W/s$((n++))"; mkdir -p "$V/m"
      "$B" format "sqlite3://$V/f.db" f --storage "file://$V/store" --trash-days 0 >/dev/null
      "$B" mount --cache-dir "$V/cache" "sqlite3://$V/f.db" "$V/m" >"$V/log" 2>&1 & MP=$!; PIDS+=("$MP")
      waitmnt "$V/m"
      run "@$((bi + 1))" "$MP" "$V/m" "$wl"
      umnt "$V/m"; rm -rf "$V"
    done
  done
done
