#!/usr/bin/env bash
# writeback_bench.sh: the default mode (upload before close() returns) against --writeback
# (close() returns after local staging + the metadata commit), same machine, same run, against
# a SLOW store: s3rver behind bench/delay_proxy.py, which holds every HTTP request back by a
# random 20-50 ms (LAT_MIN/LAT_MAX). FaultyStore's latency cannot be switched on from the mount
# command line, hence the proxy. Run by hand as root (never by ctest):
#
#   bench/writeback_bench.sh                      # defaults below, ~10 minutes on 2 cores
#   RUNS=1 SMALL=100 SEQ_MB=256 bench/writeback_bench.sh   # quick check
#
# Workloads, per mode (modes alternate; each run starts with the other mode):
#   4k x1     1 writer creating SMALL files of 4 KiB (open, write, close)
#   4k x16    16 writers creating SMALL/4 files of 4 KiB each
#   128k x1   1 writer, SMALL files of 128 KiB
#   128k x16  16 writers, SMALL/4 files of 128 KiB each
#   seq       dd bs=1M conv=fsync of SEQ_MB MiB (default 1024) into one file
# Each mode mounts a fresh volume (SQLite metadata in the temp dir, blocks in its own bucket
# through the proxy) with --buffer-size BUFFER (64M). Writeback mounts stage under the temp dir
# (same disk). After the workloads of a writeback run the script waits for staging to drain
# and prints that time too (the uploads still cost what they cost, later). Peak RSS of the
# mount process (VmHWM) is read after each run.
#
# Environment: RUNS (3), SMALL (400), SEQ_MB (1024), BUFFER (64M), LAT_MIN/LAT_MAX (20/50 ms),
# STRATA (default build/strata), WORKDIR (/var/tmp), KEEP=1 keeps the temp dir,
# WORKLOADS ("small seq": either or both), SRC (shm: dd copies a random file made once in
# /dev/shm, so that both modes write the same bytes and the CPU of /dev/urandom — ~230-450
# MiB/s on this machine, less than the writeback target — is not part of the measure;
# urandom: dd reads /dev/urandom as before), MOUNT_ARGS (extra flags for both modes),
# WB_ARGS (extra flags for writeback mounts only, e.g. "--writeback-limit 2G"),
# PERF_DIR (a directory: `perf record -a -g` of the whole machine during each seq write,
# saved there as perf-MODE-RUN.data, with `perf report` summaries in perf-MODE-RUN.txt).
set -euo pipefail
RUNS=${RUNS:-3}
WORKLOADS=${WORKLOADS:-small seq}
SRC=${SRC:-shm}
read -r -a MOUNT_EXTRA <<<"${MOUNT_ARGS:-}"
read -r -a WB_EXTRA <<<"${WB_ARGS:-}"
SMALL=${SMALL:-400}
SEQ_MB=${SEQ_MB:-1024}
BUFFER=${BUFFER:-64M}
LAT_MIN=${LAT_MIN:-20}
LAT_MAX=${LAT_MAX:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=$(realpath "${STRATA:-$HERE/../build/strata}")
S3RVER=${S3RVER:-$HERE/../tests/tools/node_modules/.bin/s3rver}
[ "$(id -u)" = 0 ] || { echo "run as root (FUSE mounts)"; exit 1; }
[ -x "$S3RVER" ] || { echo "s3rver missing: scripts/install-deps"; exit 1; }
T=$(mktemp -d "${WORKDIR:-/var/tmp}/wbbench.XXXXXX")
PIDS=()
cleanup() {
  for mp in "$T"/mnt-*; do mountpoint -q "$mp" 2>/dev/null && "$STRATA" umount --force "$mp" >/dev/null 2>&1; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$T"
  rm -f "${SEQ_SRC:-/nonexistent}"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
S3PORT=$(free_port); PXPORT=$(free_port)
mkdir -p "$T/s3"
node --openssl-legacy-provider "$S3RVER" -d "$T/s3" -a 127.0.0.1 -p "$S3PORT" --no-vhost-buckets -s >/dev/null 2>&1 &
PIDS+=($!)
python3 "$HERE/delay_proxy.py" "$PXPORT" "$S3PORT" "$LAT_MIN" "$LAT_MAX" > "$T/proxy.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q READY "$T/proxy.out" 2>/dev/null && (echo > "/dev/tcp/127.0.0.1/$S3PORT") 2>/dev/null && break; sleep 0.1; done
ENDPOINT=http://127.0.0.1:$PXPORT
case $SRC in
  shm) SEQ_SRC=$(mktemp /dev/shm/wbbench-src.XXXXXX)
       dd if=/dev/urandom of="$SEQ_SRC" bs=1M count="$SEQ_MB" status=none ;;
  urandom) SEQ_SRC=/dev/urandom ;;
  *) echo "SRC must be shm or urandom"; exit 1 ;;
esac

declare -A RES   # RES[mode,workload] = "v1 v2 ..."
TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of the mount
N=0
run_mode() {  # run_mode MODE RUN
  local mode=$1 run=$2 vol="$T/v$N" mp="$T/mnt-$N" bucket="wbbench$N" extra=()
  N=$((N + 1))
  mkdir -p "$vol" "$mp"
  python3 - "$ENDPOINT" "$bucket" <<'PY'
import sys, botocore.session, botocore.config
c = botocore.session.get_session().create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
    config=botocore.config.Config(s3={"addressing_style": "path"}))
c.create_bucket(Bucket=sys.argv[2])
PY
  "$STRATA" format "sqlite3://$vol/meta.db" bench --storage "$ENDPOINT/$bucket" \
      --access-key S3RVER --secret-key S3RVER --trash-days 0 >/dev/null
  extra=("${MOUNT_EXTRA[@]}")
  [ "$mode" = writeback ] && extra+=(--writeback --writeback-dir "$vol/wb" "${WB_EXTRA[@]}")
  local out pid
  out=$("$STRATA" mount -d --log "$vol/mount.log" --buffer-size "$BUFFER" "${extra[@]}" \
        "sqlite3://$vol/meta.db" "$mp")
  pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
  local t
  [[ " $WORKLOADS " == *" small "* ]] && for w in "4k 1 $SMALL 4096" "4k 16 $((SMALL / 4)) 4096" "128k 1 $SMALL 131072" \
           "128k 16 $((SMALL / 4)) 131072"; do
    set -- $w
    local c0 c1
    c0=$(cpu_ticks "$pid")
    t=$(python3 "$HERE/writeback_writers.py" "$mp/$1x$2" "$2" "$3" "$4")
    c1=$(cpu_ticks "$pid")
    RES[$mode,$1x$2]+="$(python3 -c "print(f'{$2*$3/$t:.0f}')") "
    # The mount's CPU per file while the writers ran (uploads running meanwhile included).
    RES[$mode,$1x$2cpu]+="$(python3 -c "print(f'{($c1-$c0)/$TICKS*1000/($2*$3):.2f}')") "
  done
  local start end perf_pid= cpu0 cpu1
  if [[ " $WORKLOADS " == *" seq "* ]]; then
    [ "$SRC" = shm ] && cat "$SEQ_SRC" >/dev/null  # in the page cache for both modes
    if [ -n "${PERF_DIR:-}" ]; then
      mkdir -p "$PERF_DIR"
      perf record -a -g -o "$PERF_DIR/perf-$mode-$run.data" >/dev/null 2>&1 &
      perf_pid=$!
      sleep 1
    fi
    cpu0=$(cpu_ticks "$pid")
    start=$(date +%s.%N)
    dd if="$SEQ_SRC" of="$mp/seq" bs=1M count="$SEQ_MB" conv=fsync status=none
    end=$(date +%s.%N)
    cpu1=$(cpu_ticks "$pid")
    if [ -n "$perf_pid" ]; then
      kill -INT "$perf_pid"; wait "$perf_pid" || true
      perf report -i "$PERF_DIR/perf-$mode-$run.data" --no-children --sort comm,dso -g none \
          --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 > "$PERF_DIR/perf-$mode-$run.txt" || true
    fi
    RES[$mode,seq]+="$(python3 -c "print(f'{$SEQ_MB/($end-$start):.0f}')") "
    RES[$mode,seqcpu]+="$(python3 -c "print(f'{($cpu1-$cpu0)/$TICKS/($SEQ_MB/1024):.2f}')") "
  fi
  if [ "$mode" = writeback ]; then
    start=$(date +%s.%N)
    while python3 -c "import json,os,sys; sys.exit(json.loads(os.getxattr('$mp','strata.staging'))['blocks']==0)"; do sleep 0.2; done
    end=$(date +%s.%N)
    RES[$mode,drain]+="$(python3 -c "print(f'{$end-$start:.1f}')") "
    # Blocks that went straight to the store (no room, or the disk failed): then the row
    # measured the default mode's path, not staging.
    RES[$mode,fallbacks]+="$(python3 -c "import json,os; print(json.loads(os.getxattr('$mp','strata.staging'))['fallbacks'])") "
    if [[ " $WORKLOADS " == *" seq "* ]]; then  # the CPU the uploads still took after dd
      RES[$mode,drcpu]+="$(python3 -c "print(f'{($(cpu_ticks "$pid")-$cpu0)/$TICKS/($SEQ_MB/1024):.2f}')") "
      RES[$mode,reread]+="$(python3 -c "import json,os; print(json.loads(os.getxattr('$mp','strata.staging')).get('rereads','-'))") "
    fi
  fi
  RES[$mode,rss]+="$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$pid/status) "
  "$STRATA" umount "$mp" >/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

for run in $(seq "$RUNS"); do
  if [ $((run % 2)) = 1 ]; then order="default writeback"; else order="writeback default"; fi
  for mode in $order; do
    run_mode "$mode" "$run"
    echo "run $run $mode done" >&2
  done
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "store: s3rver behind delay_proxy.py (${LAT_MIN}-${LAT_MAX} ms per request); SQLite metadata; --buffer-size $BUFFER ${MOUNT_ARGS:-}; writeback ${WB_ARGS:-}; seq source $SRC; $RUNS runs (median, then every run)"
echo
echo "| workload | default | writeback | speed-up |"
echo "|---|---|---|---|"
ROWS=()
[[ " $WORKLOADS " == *" small "* ]] && ROWS+=(4kx1 4kx16 128kx1 128kx16)
[[ " $WORKLOADS " == *" seq "* ]] && ROWS+=(seq)
for w in "${ROWS[@]}"; do
  unit="files/s"; [ $w = seq ] && unit="MiB/s"
  d=$(median "${RES[default,$w]}"); b=$(median "${RES[writeback,$w]}")
  echo "| $w ($unit) | $d (${RES[default,$w]% }) | $b (${RES[writeback,$w]% }) | $(python3 -c "print(f'{$b/$d:.1f}x')") |"
done
[[ " $WORKLOADS " == *" small "* ]] && for w in 4kx1 4kx16 128kx1 128kx16; do
  echo "| $w: mount CPU ms per file | $(median "${RES[default,${w}cpu]}") (${RES[default,${w}cpu]% }) | $(median "${RES[writeback,${w}cpu]}") (${RES[writeback,${w}cpu]% }) | |"
done
echo "| writeback: drain after the run (s) | — | $(median "${RES[writeback,drain]}") (${RES[writeback,drain]% }) | |"
echo "| writeback: blocks uploaded directly (fallbacks), per run | — | ${RES[writeback,fallbacks]% } | |"
if [[ " $WORKLOADS " == *" seq "* ]]; then
  echo "| seq: mount CPU s per GiB, until fsync returned | $(median "${RES[default,seqcpu]}") (${RES[default,seqcpu]% }) | $(median "${RES[writeback,seqcpu]}") (${RES[writeback,seqcpu]% }) | |"
  echo "| seq: mount CPU s per GiB, until staging drained | — | $(median "${RES[writeback,drcpu]}") (${RES[writeback,drcpu]% }) | |"
  echo "| writeback: uploads that read their staged file back | — | ${RES[writeback,reread]% } | |"
fi
echo "| peak RSS of the mount (MiB) | $(median "${RES[default,rss]}") (${RES[default,rss]% }) | $(median "${RES[writeback,rss]}") (${RES[writeback,rss]% }) | |"
