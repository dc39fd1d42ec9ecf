#!/usr/bin/env bash
# mount_bench.sh: StrataFS through FUSE side by side with s3fs and rclone mount, on one
# machine, against the same local S3 server (s3rver). Run by hand as root (never by ctest):
#
#   bench/mount_bench.sh                                   # default: ~10 minutes on 2 cores
#   SIZE_MB=1024 FILES=2000 bench/mount_bench.sh           # full size: ~15-20 minutes
#   SIZE_MB=64 FILES=100 RUNS=1 bench/mount_bench.sh       # quick check (~2 minutes)
#
# The defaults (512 MiB, 600 files, 3 runs) are smaller than the full size because the peers
# are slow against s3rver (one Node process): s3fs creates 20-60 small files/s there, and
# rclone uploads ~20 MiB/s.
#
# Systems (SYSTEMS, space separated, default all four):
#   strata-s3    strata, SQLite metadata in a temp dir, blocks in an s3rver bucket
#   strata-file  strata, SQLite metadata, blocks under file:// (the embedded default)
#   s3fs         Debian s3fs 1.90 over its own s3rver bucket
#   rclone       Debian rclone 1.60 `mount --vfs-cache-mode writes` over its own bucket
#
# Per run and system (systems alternate; the starting system rotates every run):
#   write   dd bs=1M conv=fsync of SIZE_MB MiB of random data into a fresh file; the time
#           includes the final fsync and close. (rclone: fsync only reaches its local cache;
#           "write until in bucket" adds the wait until rclone reports no upload left.)
#   read    after unmounting, dropping the kernel caches and mounting again with an EMPTY
#           cache directory (strata --cache-dir, rclone --cache-dir; s3fs keeps no data
#           cache by default), dd bs=1M of the whole file: every byte comes from the store.
#           The data is then compared with the source (untimed).
#   small   FILES files of 4 KiB in one directory: create (open+write+close), then stat all,
#           read all (every byte checked), `ls -l` of the directory, delete all. Kernel caches
#           are dropped before stat, read and ls -l; the daemons' own caches are not (that
#           is their design: rclone serves the files it just wrote from its cache).
#
# Prints a markdown table (median of RUNS runs, every run listed) for bench/RESULTS.md.
# Environment: SIZE_MB (512), FILES (600), RUNS (3), SYSTEMS, STRATA (path of the binary;
# default build/strata, then build-bench/src/cli/strata), OP_TIMEOUT (seconds per step, 900),
# WORKDIR (parent of the temp dir, /var/tmp), KEEP=1 (keep the temp dir; it is also kept when
# a step failed, with every log in it).
set -uo pipefail

SIZE_MB=${SIZE_MB:-512}
FILES=${FILES:-600}
RUNS=${RUNS:-3}
SYSTEMS=${SYSTEMS:-"strata-s3 strata-file s3fs rclone"}
OP_TIMEOUT=${OP_TIMEOUT:-900}
FILE_SIZE=4096
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/bench/mount"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (FUSE mounts, apt-get, /proc/sys/vm/drop_caches)"
[ -e /dev/fuse ] || die "/dev/fuse is missing"

# ---------------------------------------------------------------- dependencies
"$ROOT/scripts/install-deps" >&2 || die "scripts/install-deps failed"
need_pkgs=()
case " $SYSTEMS " in *" s3fs "*) command -v s3fs >/dev/null || need_pkgs+=(s3fs) ;; esac
case " $SYSTEMS " in *" rclone "*) command -v rclone >/dev/null || need_pkgs+=(rclone) ;; esac
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
fi
S3RVER="$ROOT/tests/tools/node_modules/.bin/s3rver"
[ -x "$S3RVER" ] || die "s3rver missing ($S3RVER): scripts/install-deps should have put it there"
if [ -z "${STRATA:-}" ]; then
  for c in "$ROOT/build/strata" "$ROOT/build-bench/src/cli/strata"; do
    if [ -x "$c" ]; then STRATA="$c"; break; fi
  done
fi
case " $SYSTEMS " in
  *" strata-"*) [ -x "${STRATA:-}" ] || die "no strata binary: run \`make release\` or set STRATA=path" ;;
esac

# ---------------------------------------------------------------- temp dir, cleanup
WORK="$(mktemp -d "${WORKDIR:-/var/tmp}/mount-bench.XXXXXX")"
RAW="$WORK/raw.tsv"        # system, test, value, unit
ERRORS="$WORK/errors.txt"  # what failed, with the command and the log's tail
: >"$RAW"
: >"$ERRORS"
PIDS=()                    # every process started here (servers, mount daemons)
declare -A MOUNT_PID=()    # mount point -> pid of its daemon

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# Waits up to $2 seconds for process $1 to exit (it need not be our child).
wait_pid_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
  return 0
}

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  wait_pid_gone "$pid" 15 || { kill -KILL "$pid" 2>/dev/null; wait_pid_gone "$pid" 5; }
}

# Unmounts $1 and waits for its daemon to exit (strata flushes before exiting).
unmount_any() {
  local mnt=$1 pid=${MOUNT_PID[$1]:-}
  if mountpoint -q "$mnt"; then
    umount "$mnt" 2>>"$WORK/umount.log" || {
      sleep 1
      umount "$mnt" 2>>"$WORK/umount.log" || umount -l "$mnt" 2>>"$WORK/umount.log"
    }
  fi
  if [ -n "$pid" ]; then
    wait_pid_gone "$pid" 120 || { log "mount daemon $pid of $mnt did not exit: stopping it"; stop_pid "$pid"; }
  fi
  unset "MOUNT_PID[$mnt]"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for mnt in "${!MOUNT_PID[@]}"; do unmount_any "$mnt"; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "${KEEP:-0}" = 1 ] || [ -s "$ERRORS" ]; then
    log "kept $WORK (logs, raw figures)"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- s3rver and buckets
S3PORT=$(free_port)
mkdir -p "$WORK/s3rver"
node --openssl-legacy-provider "$S3RVER" -d "$WORK/s3rver" -a 127.0.0.1 -p "$S3PORT" \
  --no-vhost-buckets -s >"$WORK/s3rver.log" 2>&1 &
PIDS+=($!)
ENDPOINT="http://127.0.0.1:$S3PORT"
for _ in $(seq 100); do
  curl -s -o /dev/null "$ENDPOINT/" && break
  sleep 0.1
done
make_bucket() {
  curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$ENDPOINT/$1" >/dev/null ||
    die "cannot create bucket $1 on s3rver ($ENDPOINT)"
}
log "s3rver on $ENDPOINT (pid ${PIDS[0]}), work dir $WORK"

# ---------------------------------------------------------------- per-system setup
MOUNT_SEQ=0
setup_system() {
  local sys=$1 d="$WORK/$1"
  mkdir -p "$d/mnt"
  case $sys in
    strata-s3)
      make_bucket strata-bench
      "$STRATA" format "sqlite3://$d/meta.db" bench --storage "$ENDPOINT/strata-bench" \
        --access-key S3RVER --secret-key S3RVER --trash-days 0 >"$d/format.log" 2>&1 ||
        { cat "$d/format.log" >&2; die "strata format ($sys) failed"; } ;;
    strata-file)
      "$STRATA" format "sqlite3://$d/meta.db" bench --storage "file://$d/data" \
        --trash-days 0 >"$d/format.log" 2>&1 ||
        { cat "$d/format.log" >&2; die "strata format ($sys) failed"; } ;;
    s3fs)
      make_bucket s3fs-bench
      echo S3RVER:S3RVER >"$d/passwd"
      chmod 600 "$d/passwd" ;;
    rclone)
      make_bucket rclone-bench
      cat >"$d/rclone.conf" <<EOF
[s3r]
type = s3
provider = Other
access_key_id = S3RVER
secret_access_key = S3RVER
endpoint = $ENDPOINT
region = us-east-1
force_path_style = true
EOF
      RCLONE_RC_PORT=$(free_port) ;;
    *) die "unknown system '$sys' (known: strata-s3 strata-file s3fs rclone)" ;;
  esac
}

# Waits for a backgrounded FUSE daemon ($2) to show its mount at $1.
wait_mounted() {
  local mnt=$1 pid=$2 deadline=$((SECONDS + 30))
  until mountpoint -q "$mnt"; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

# Mounts system $1 at $WORK/$1/mnt with a fresh, empty cache directory. Returns 1 (and logs
# why in $ERRORS) when the mount does not come up.
mount_system() {
  local sys=$1 d="$WORK/$1" mnt="$WORK/$1/mnt" out pid
  MOUNT_SEQ=$((MOUNT_SEQ + 1))
  local cache="$d/cache-$MOUNT_SEQ" mlog="$d/mount-$MOUNT_SEQ.log"
  rm -rf "$d"/cache-*
  mkdir -p "$cache"
  case $sys in
    strata-*)
      out=$("$STRATA" mount -d --log "$mlog" --cache-dir "$cache" "sqlite3://$d/meta.db" \
        "$mnt" 2>&1)
      pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
      if [ -z "$pid" ] || ! mountpoint -q "$mnt"; then
        echo "$sys: strata mount failed: $out (log $mlog)" >>"$ERRORS"
        return 1
      fi ;;
    s3fs)
      s3fs s3fs-bench "$mnt" -f -o passwd_file="$d/passwd" -o url="$ENDPOINT" \
        -o use_path_request_style -o endpoint=us-east-1 >"$mlog" 2>&1 &
      pid=$! ;;
    rclone)
      env -u AWS_CA_BUNDLE rclone --config "$d/rclone.conf" mount s3r:rclone-bench "$mnt" \
        --vfs-cache-mode writes --cache-dir "$cache" \
        --rc --rc-addr "127.0.0.1:$RCLONE_RC_PORT" --rc-no-auth >"$mlog" 2>&1 &
      pid=$! ;;
  esac
  PIDS+=("$pid")
  MOUNT_PID[$mnt]=$pid
  if ! wait_mounted "$mnt" "$pid"; then
    echo "$sys: mount did not come up (log $mlog): $(tail -5 "$mlog")" >>"$ERRORS"
    unmount_any "$mnt"
    return 1
  fi
}

# rclone: waits until its VFS cache has no upload in progress or queued; returns 1 on timeout.
rclone_wait_uploads() {
  local deadline=$((SECONDS + OP_TIMEOUT)) n
  while :; do
    n=$(env -u AWS_CA_BUNDLE rclone rc --url "http://127.0.0.1:$RCLONE_RC_PORT/" vfs/stats 2>/dev/null |
      python3 -c 'import json,sys
d=json.load(sys.stdin).get("diskCache",{})
print(d.get("uploadsInProgress",0)+d.get("uploadsQueued",0))' 2>/dev/null)
    [ "$n" = 0 ] && return 0
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

now() { date +%s.%N; }
rec() {  # rec SYSTEM TEST VALUE UNIT; rclone's write and create only reach its local cache
  local t=$2
  if [ "$1" = rclone ] && { [ "$t" = write ] || [ "$t" = create ]; }; then
    t="$t (local cache only)"
  fi
  printf '%s\t%s\t%s\t%s\n' "$1" "$t" "$3" "$4" >>"$RAW"
}
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.3f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Records every test of this run that has no figure yet as skipped after a failure.
TESTS_BIG=("write" "read (fresh mount)")
TESTS_SMALL=("create" "stat" "read" "ls -l" "delete")
fail() {  # fail SYSTEM RUN STEP MESSAGE
  {
    echo "== $1, run $2, step '$3': $4"
    for f in "$WORK/$1"/mount-*.log; do
      [ -f "$f" ] && { echo "-- tail of $f"; tail -20 "$f"; }
    done
  } >>"$ERRORS"
  log "FAILED: $1 run $2 $3: $4"
}

# ---------------------------------------------------------------- one run of one system
bench_system() {
  local sys=$1 run=$2 mnt="$WORK/$1/mnt" t0 t1 t2 res step
  local -a done_tests=()
  local -A got=()
  _finish() {  # marks every test without a figure in this run as "-" (after a failure)
    local t
    for t in "write" "read (fresh mount)" "create" "stat" "read" "ls -l" "delete"; do
      [ -n "${got[$t]:-}" ] || rec "$sys" "$t" "-" "$(unit_of "$t")"
    done
    [ "$sys" = rclone ] && for t in "write until in bucket" "create until in bucket"; do
      [ -n "${got[$t]:-}" ] || rec "$sys" "$t" "-" "$(unit_of "$t")"
    done
    unmount_any "$mnt"
  }
  put() { got[$1]=1; rec "$sys" "$1" "$2" "$(unit_of "$1")"; }

  log "$sys run $run: mount"
  mount_system "$sys" || { fail "$sys" "$run" mount "mount failed"; _finish; return; }

  # Sequential write (the source is read from the page cache, warmed first).
  cat "$SRC" >/dev/null
  log "$sys run $run: write ${SIZE_MB} MiB"
  t0=$(now)
  if ! timeout -k 10 "$OP_TIMEOUT" dd if="$SRC" of="$mnt/big" bs=1M conv=fsync status=none \
      2>"$WORK/dd.err"; then
    fail "$sys" "$run" write "dd failed: $(cat "$WORK/dd.err")"; _finish; return
  fi
  t1=$(now)
  put "write" "$(rate "$SIZE_MB" "$t0" "$t1")"
  if [ "$sys" = rclone ]; then
    rclone_wait_uploads || { fail "$sys" "$run" write "upload did not finish"; _finish; return; }
    t2=$(now)
    put "write until in bucket" "$(rate "$SIZE_MB" "$t0" "$t2")"
  fi
  res=$(stat -c %s "$mnt/big" 2>&1)
  [ "$res" = $((SIZE_MB << 20)) ] || { fail "$sys" "$run" write "size after write: $res"; _finish; return; }

  # Sequential read from a fresh mount with an empty cache and dropped kernel caches.
  unmount_any "$mnt"
  drop_caches
  mount_system "$sys" || { fail "$sys" "$run" remount "remount failed"; _finish; return; }
  log "$sys run $run: read ${SIZE_MB} MiB (fresh mount)"
  t0=$(now)
  if ! timeout -k 10 "$OP_TIMEOUT" dd if="$mnt/big" of=/dev/null bs=1M status=none \
      2>"$WORK/dd.err"; then
    fail "$sys" "$run" read "dd failed: $(cat "$WORK/dd.err")"; _finish; return
  fi
  t1=$(now)
  if ! timeout -k 10 "$OP_TIMEOUT" cmp "$mnt/big" "$SRC" >"$WORK/cmp.out" 2>&1; then
    fail "$sys" "$run" read "WRONG DATA read back: $(cat "$WORK/cmp.out")"; _finish; return
  fi
  put "read (fresh mount)" "$(rate "$SIZE_MB" "$t0" "$t1")"
  rm -f "$mnt/big" || { fail "$sys" "$run" rm "rm of the big file failed"; _finish; return; }

  # Small files.
  mkdir "$mnt/small" || { fail "$sys" "$run" mkdir "mkdir failed"; _finish; return; }
  for step in create stat read ls delete; do
    [ "$step" = create ] || [ "$step" = delete ] || drop_caches
    log "$sys run $run: small files: $step"
    t0=$(now)
    if [ "$step" = ls ]; then
      res=$(timeout -k 10 "$OP_TIMEOUT" ls -l "$mnt/small" 2>&1 | grep -c '^-')
      t1=$(now)
      [ "$res" = "$FILES" ] || { fail "$sys" "$run" "ls -l" "listed $res files, expected $FILES"; _finish; return; }
      put "ls -l" "$(secs "$t0" "$t1")"
      continue
    fi
    if ! res=$(timeout -k 10 "$OP_TIMEOUT" python3 "$HERE/smallfiles.py" "$step" "$mnt/small" \
        "$FILES" "$FILE_SIZE" 2>&1); then
      fail "$sys" "$run" "small $step" "$res"; _finish; return
    fi
    t1=$(now)
    put "$step" "$(awk -v n="$FILES" -v s="$res" 'BEGIN { printf "%.3f", n / s }')"
    if [ "$sys" = rclone ] && [ "$step" = create ]; then
      rclone_wait_uploads || { fail "$sys" "$run" create "uploads did not finish"; _finish; return; }
      t2=$(now)
      put "create until in bucket" "$(rate "$FILES" "$t0" "$t2")"
    fi
  done
  rmdir "$mnt/small" || { fail "$sys" "$run" rmdir "rmdir failed"; _finish; return; }
  [ "$sys" = rclone ] && rclone_wait_uploads
  _finish
}

unit_of() {
  case $1 in
    "ls -l") echo "s ($FILES files)" ;;
    write* | read*\(*) echo "MiB/s" ;;
    *) echo "files/s" ;;
  esac
}

# ---------------------------------------------------------------- main
read -r -a SYS <<<"$SYSTEMS"
for s in "${SYS[@]}"; do setup_system "$s"; done

SRC="$WORK/source.bin"
log "writing the ${SIZE_MB} MiB source file"
head -c $((SIZE_MB << 20)) /dev/urandom >"$SRC" || die "cannot write $SRC"

START=$(date -u '+%Y-%m-%d %H:%M UTC')
for run in $(seq "$RUNS"); do
  n=${#SYS[@]}
  for i in $(seq 0 $((n - 1))); do
    bench_system "${SYS[$(((i + run - 1) % n))]}" "$run"
  done
done
END=$(date -u '+%Y-%m-%d %H:%M UTC')

# Sorted by system (in SYSTEMS order), tests in the order they ran.
for s in "${SYS[@]}"; do awk -F'\t' -v s="$s" '$1 == s' "$RAW"; done >"$WORK/sorted.tsv"
echo
echo "mount_bench: SIZE_MB=$SIZE_MB FILES=$FILES RUNS=$RUNS SYSTEMS=\"$SYSTEMS\""
echo "started $START, ended $END; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${STRATA:-}" ]; then
  echo "strata: $STRATA (built $(date -u -r "$STRATA" '+%Y-%m-%d %H:%M UTC'); work tree HEAD" \
    "now $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null))"
fi
echo
python3 "$HERE/report.py" "$WORK/sorted.tsv"
if [ -s "$ERRORS" ]; then
  echo
  echo "FAILURES (details in $ERRORS):"
  grep '^== \|: ' "$ERRORS" | grep -v '^-- ' | head -40
  exit 1
fi
