#!/bin/bash
# bench/cache_group_bench.sh [SIZE_MIB] [REPS]: sequential read of one large file on this
# machine (DESIGN.md §7, issue 14), each read after dropping the page cache of every file of
# the bench (posix_fadvise DONTNEED on the source, the passthrough's view of it, the store,
# both cache directories and the file through each mount), `dd bs=4M` to /dev/null, REPS runs
# each, medians. So every row starts from the same memory: at 4 GiB, the pages earlier rows
# left behind (12 GiB of them before the peer-hit row) made the later rows reclaim several
# GiB per read on a 24 GiB machine (bench/RESULTS.md "The 4 GiB local and peer hit").
# DROP=row drops only the files the row itself reads, as the script did before 2026-12-01 23:00.
#
#   raw disk      the file on the local disk (the floor everything is read from)
#   passthrough   the same file through bench/passthrough (libfuse 3.14 high-level, the FUSE
#                 ceiling of this machine)
#   cold          member A of a two-member group reads with empty caches: every block from
#                 the store (file:// on the same disk), fetched by its owner (A or B)
#   local hit     A again: every block from A's own disk cache
#   peer hit      a --no-sharing member C without a disk cache: every block from A or B over
#                 loopback (127.0.0.1)
#
#   ranges        A again, a Parquet-like reader of its disk-cached file: RANGES (default 100)
#                 random ranges of 1-8 MiB (seeded, the same every run), each one pread; also
#                 how many bytes A read from its disk per byte served (readahead past the end
#                 of each range is what a random reader pays for a deep window)
# Also the peak RSS of A during each local-hit read (VmHWM, reset before it through clear_refs).
# Also the CPU time (user + system, /proc/PID/stat) the reading mount spent per local-hit read
# (A) and per peer-hit read (C): steadier than MiB/s on a shared machine.
# PERF_OUT=FILE: `perf record -g` the reader C and the members A and B during the last peer-hit
# read (then `perf report -i FILE --no-children --sort comm,sym`); PERF_LOCAL_OUT=FILE: A
# during the last local-hit read. PERF_ALL=PREFIX: `perf record -a -g` (every process and the
# kernel) during the last passthrough, local-hit and peer-hit reads, into PREFIX-{pt,local,peer}.
# Prints, per row, the mean /proc/vmstat deltas of one read (reclaim, compaction, faults):
# what the machine's memory did while that row read.
# Needs root and /dev/fuse; `make` first. Defaults: 4096 MiB, 3 runs. Uses $TMPDIR (default
# /tmp) for a volume, two cache directories and a copy of the file: about 4 x SIZE of disk.
set -euo pipefail
SIZE_MIB=${1:-4096}
REPS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STRATA=${STRATA:-$ROOT/build/release/src/cli/strata}
W=$(mktemp -d "${TMPDIR:-/tmp}/groupbench.XXXXXX")
PT=$W/passthrough
cc -O2 -o "$PT" "$ROOT/bench/passthrough/passthrough.c" $(pkg-config --cflags --libs fuse3)
MOUNTS=()
PT_PID=
cleanup() {
  for m in "${MOUNTS[@]}"; do "$STRATA" umount "$m" >/dev/null 2>&1 || "$STRATA" umount --force "$m" >/dev/null 2>&1 || true; done
  if [ -n "$PT_PID" ]; then fusermount3 -u "$W/ptmnt" 2>/dev/null || umount -l "$W/ptmnt" 2>/dev/null || true; kill "$PT_PID" 2>/dev/null || true; fi
  sleep 1
  rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
drop() {  # drop the page cache of every file under the given paths (DROP=row), or of all
  if [ "${DROP:-all}" != row ]; then set -- "$W/src" "$W/ptmnt" "$W/data" "$W/cache-a" "$W/cache-b" "$W/a" "$W/c"; fi
  python3 - "$@" <<'PY'
import os, sys
for top in sys.argv[1:]:
    for root, _, files in os.walk(top):
        for f in files:
            try:
                fd = os.open(os.path.join(root, f), os.O_RDONLY)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                os.close(fd)
            except OSError:
                pass
PY
}
# One timed read; prints MiB/s.
readfile() {
  local start end
  start=$(date +%s.%N)
  dd if="$1" of=/dev/null bs=4M 2>/dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{$SIZE_MIB / ($end - $start):.0f}')"
}
# CPU seconds (user + system) a process has used so far: steadier than MiB/s on a shared machine.
cpu() { python3 -c "import os,sys;f=open('/proc/$1/stat').read().rsplit(')',1)[1].split();print((int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'))"; }
# Bytes a process (all its threads) has read from block devices so far (O_DIRECT included).
rbytes() { awk '/^read_bytes/ {print $2}' "/proc/$1/io"; }
# ranges FILE N SEED: N random 1-8 MiB preads of FILE; prints "MiB/s MiB-served".
ranges() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, random, sys, time
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
spans = []
for _ in range(n):
    length = rnd.randint(1, 8) << 20
    spans.append((rnd.randrange(0, (size - length) // 4096) * 4096, length))
start = time.time()
got = 0
for off, length in spans:
    got += len(os.pread(fd, length, off))
t = time.time() - start
os.close(fd)
print(f"{got / 2**20 / t:.0f} {got / 2**20:.0f}")
PY
}
median_s() {
  python3 - "$@" <<'PY'
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
print("%.2f (runs: %s)" % (statistics.median(v), ", ".join("%.2f" % x for x in v)))
PY
}
VMSTAT_KEYS="pgscan_kswapd pgscan_direct pgsteal_kswapd pgsteal_direct allocstall_normal \
compact_stall compact_migrate_scanned compact_free_scanned pgfault pgmajfault workingset_refault_file \
thp_fault_alloc"
vm_snap() { cat /proc/vmstat > "$1"; }
vm_add() {  # vm_add ROW BEFORE AFTER: adds the deltas of one read to $W/vm-ROW
  python3 - "$W/vm-$1" "$2" "$3" <<'PY'
import json, os, sys
acc_path, a, b = sys.argv[1:]
load = lambda f: {k: int(v) for k, v in (l.split() for l in open(f))}
before, after = load(a), load(b)
acc = json.load(open(acc_path)) if os.path.exists(acc_path) else {"runs": 0}
acc["runs"] += 1
for k in after:
    acc[k] = acc.get(k, 0) + after[k] - before.get(k, 0)
json.dump(acc, open(acc_path, "w"))
PY
}
vm_print() {  # mean per read of the counters in VMSTAT_KEYS (allocstall_* and pgscan_* summed)
  python3 - "$W/vm-$1" $VMSTAT_KEYS <<'PY'
import json, sys
acc = json.load(open(sys.argv[1])); n = acc["runs"]
out = []
for k in sys.argv[2:]:
    v = sum(x for key, x in acc.items() if key == k or (k == "allocstall_normal" and key.startswith("allocstall_")))
    out.append("%s %d" % (k.replace("allocstall_normal", "allocstall"), v / n))
print(", ".join(out))
PY
}
# Blocks A got from a peer or from the store so far: a local-hit read must add none.
a_lookups() { "$STRATA" cache status --json "$W/a" | python3 -c 'import json,sys;j=json.load(sys.stdin);print(j["group"]["peer_hits"] + j["store_gets"], 0)'; }
not_local=0
perf_all() {  # perf_all ROW: starts `perf record -a -g` into $PERF_ALL-ROW when asked (last run)
  PERF_ALL_PID=
  if [ -n "${PERF_ALL:-}" ] && [ "$r" = "$REPS" ]; then
    perf record -q -a -g -o "$PERF_ALL-$1" 2>/dev/null & PERF_ALL_PID=$!; sleep 0.5
  fi
}
perf_all_stop() { if [ -n "$PERF_ALL_PID" ]; then kill -INT "$PERF_ALL_PID"; wait "$PERF_ALL_PID" || true; fi; }
median() {
  python3 - "$@" <<'PY'
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
print("%.0f (runs: %s)" % (statistics.median(v), ", ".join("%.0f" % x for x in v)))
PY
}

mkdir -p "$W/src" "$W/ptmnt" "$W/a" "$W/b" "$W/c" "$W/w"
echo "generating $SIZE_MIB MiB of random data"
dd if=/dev/urandom of="$W/src/big" bs=1M count="$SIZE_MIB" status=none
"$STRATA" format "sqlite3://$W/meta.db" bench --storage "file://$W/data" --trash-days 0 >/dev/null
"$STRATA" mount -d --log "$W/w.log" "sqlite3://$W/meta.db" "$W/w" >/dev/null
MOUNTS+=("$W/w")
cp "$W/src/big" "$W/w/big"
"$STRATA" umount "$W/w"; sleep 1
MOUNTS=()
# --free-space-ratio 0: the caches must hold the file whatever else fills this disk (with the
# default 0.1 of a 252 GiB disk shared with others, they evicted and declined, and "local hit"
# read the store: checked by the not-served-locally count below).
G="--cache-group bench --attr-timeout 0 --free-space-ratio 0"
pidof_mount() { sed -n 's/.*(pid \([0-9]*\)).*/\1/p'; }
APID=$("$STRATA" mount -d --log "$W/a.log" $G --group-listen 127.0.0.1:$(port) --cache-dir "$W/cache-a" \
  --cache-size $((SIZE_MIB * 2))M "sqlite3://$W/meta.db" "$W/a" | pidof_mount); MOUNTS+=("$W/a")
BPID=$("$STRATA" mount -d --log "$W/b.log" $G --group-listen 127.0.0.1:$(port) --cache-dir "$W/cache-b" \
  --cache-size $((SIZE_MIB * 2))M "sqlite3://$W/meta.db" "$W/b" | pidof_mount); MOUNTS+=("$W/b")
CPID=$("$STRATA" mount -d --log "$W/c.log" $G --no-sharing "sqlite3://$W/meta.db" "$W/c" | pidof_mount)
MOUNTS+=("$W/c")
for i in $(seq 50); do  # until both sharing members are on every ring
  n=$("$STRATA" cache status --json "$W/c" | python3 -c 'import json,sys;print(len(json.load(sys.stdin)["group"]["members"]))')
  [ "$n" = 2 ] && break; sleep 0.2
done
"$PT" "$W/src" "$W/ptmnt" -f & PT_PID=$!
for i in $(seq 50); do mountpoint -q "$W/ptmnt" && break; sleep 0.1; done

raw=(); pt=(); cold=(); local=(); peer=(); local_cpu=(); peer_cpu=(); rr=(); rr_cpu=(); rr_disk=(); local_hwm=()
RANGES=${RANGES:-100}
for r in $(seq "$REPS"); do
  drop "$W/src"; raw+=("$(readfile "$W/src/big")")
  drop "$W/src" "$W/ptmnt"; perf_all pt; vm_snap "$W/v0"
  pt+=("$(readfile "$W/ptmnt/big")")
  vm_snap "$W/v1"; perf_all_stop; vm_add pt "$W/v0" "$W/v1"
  "$STRATA" warmup --evict "$W/a/big" >/dev/null  # the group forgets it (owners' caches)
  "$STRATA" warmup --evict "$W/b/big" >/dev/null  # and so do the members' local copies
  drop "$W/data" "$W/cache-a" "$W/cache-b" "$W/a"
  cold+=("$(readfile "$W/a/big")")
  drop "$W/data" "$W/cache-a" "$W/cache-b" "$W/a"
  PERF_PID=
  if [ -n "${PERF_LOCAL_OUT:-}" ] && [ "$r" = "$REPS" ]; then
    perf record -q -g -p "$APID" -o "$PERF_LOCAL_OUT" 2>/dev/null & PERF_PID=$!; sleep 0.5
  fi
  read -r l0 h0 <<<"$(a_lookups)"
  perf_all local; vm_snap "$W/v0"; c0=$(cpu "$APID")
  echo 5 > "/proc/$APID/clear_refs" 2>/dev/null || true  # peak RSS from here (VmHWM)
  local+=("$(readfile "$W/a/big")")
  local_hwm+=("$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$APID/status")")
  local_cpu+=("$(python3 -c "print($(cpu "$APID") - $c0)")")
  vm_snap "$W/v1"; perf_all_stop; vm_add local "$W/v0" "$W/v1"
  read -r l1 h1 <<<"$(a_lookups)"; not_local=$((not_local + (l1 - l0) - (h1 - h0)))
  if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
  if [ "$RANGES" -gt 0 ]; then
    drop "$W/data" "$W/cache-a" "$W/cache-b" "$W/a"
    b0=$(rbytes "$APID"); c0=$(cpu "$APID")
    read -r rate served <<<"$(ranges "$W/a/big" "$RANGES" "$r")"
    rr+=("$rate"); rr_cpu+=("$(python3 -c "print($(cpu "$APID") - $c0)")")
    rr_disk+=("$(python3 -c "print(($(rbytes "$APID") - $b0) / 2**20 / $served)")")
  fi
  drop "$W/data" "$W/cache-a" "$W/cache-b" "$W/c"
  PERF_PID=
  if [ -n "${PERF_OUT:-}" ] && [ "$r" = "$REPS" ]; then
    perf record -q -g -p "$CPID,$APID,$BPID" -o "$PERF_OUT" 2>/dev/null & PERF_PID=$!; sleep 0.5
  fi
  perf_all peer; vm_snap "$W/v0"; c0=$(cpu "$CPID")
  peer+=("$(readfile "$W/c/big")")
  peer_cpu+=("$(python3 -c "print($(cpu "$CPID") - $c0)")")
  vm_snap "$W/v1"; perf_all_stop; vm_add peer "$W/v0" "$W/v1"
  if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
done
"$STRATA" cache status "$W/c"
echo "file: $SIZE_MIB MiB, $REPS runs, MiB/s (median)"
echo "raw disk:     $(median "${raw[@]}")"
echo "passthrough:  $(median "${pt[@]}")"
echo "cold (store): $(median "${cold[@]}")"
echo "local hit:    $(median "${local[@]}")"
echo "peer hit:     $(median "${peer[@]}")"
echo "CPU s/read:   local hit (A) $(median_s "${local_cpu[@]}"), peer hit (C) $(median_s "${peer_cpu[@]}")"
echo "local hit:    peak RSS of A during the read, MiB $(median "${local_hwm[@]}")"
if [ "$RANGES" -gt 0 ]; then
  echo "ranges (A):   $(median "${rr[@]}") MiB/s, $RANGES random 1-8 MiB preads of the disk-cached file"
  echo "ranges (A):   CPU s $(median_s "${rr_cpu[@]}"), MiB read from A's disk per MiB served $(median_s "${rr_disk[@]}")"
fi
echo "local hit:    $not_local blocks A fetched from a peer or the store during the local-hit reads (must be 0)"
echo "vmstat per read, passthrough: $(vm_print pt)"
echo "vmstat per read, local hit:   $(vm_print local)"
echo "vmstat per read, peer hit:    $(vm_print peer)"
