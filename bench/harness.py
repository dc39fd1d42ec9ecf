#!/usr/bin/env python3
"""The side-by-side benchmark harness behind bench/run.sh (run that, not this: it installs and
builds what is needed first).

Every workload runs on every system in rounds; the order of systems rotates each round so a
noisy disk does not favour one of them. Results are medians over the rounds with the spread
(min-max), and ratios to the references: the raw local disk and a minimal FUSE passthrough of
a local directory (bench/passthrough/passthrough.c), the ceiling of any FUSE file system here.

Systems (--systems, default all that can run here):
  raw            a directory on the local disk, no FUSE
  passthrough    bench/passthrough over a local directory
  strata-sqlite  strata, SQLite metadata, file:// blocks (the embedded default)
  strata-redis   strata, Redis metadata, file:// blocks
  strata-s3      strata, Redis metadata, blocks on the S3 server (s3rver)
  *-wb           the strata systems with --writeback, when the binary has it
  s3fs           Debian s3fs over its own bucket on the same S3 server
  rclone         Debian rclone mount --vfs-cache-mode writes over its own bucket

Workloads (--workloads, default all):
  ckpt-write     one process writes SIZE in 1 MiB writes, then fsync (fio psync)
  ckpt-write4    4 processes each write SIZE/4 the same way, at once
  ckpt-read      the checkpoint read back: cold (remounted, empty cache, kernel caches
                 dropped), disk-cache hit (remounted keeping the cache dir, kernel caches
                 dropped), page-cache hit (read again at once)
  parquet        random 1-8 MiB ranges of the checkpoint file for a fixed time, cold caches
  small4k        4 KiB files, 1 and 4 threads: create (open+write+close), stat, read, delete
  small128k      the same with 128 KiB files
  meta           empty files: create, stat, rename, unlink
  agent          the agent workload: create .tmpN, write 4 KiB, close, rename to outN, every
                 10th file append a line to a journal and fsync it; 1 and 4 agents, each in its
                 own directory, for a fixed time

The object-store reference (the S3 target of issue 16: write and cold read >= 0.9x what
`strata objbench` measures for the same server): in every round of an S3-backed strata system
(strata-s3, strata-s3-wb), just before its ckpt-write, the harness runs `strata objbench` on a
bucket of its own on the same s3rver with big objects of the volume's block size (4 MiB, the
format default the harness uses) and as many objects as the checkpoint has blocks: once with
the mount's upload concurrency (20 threads, --max-uploads' default) for "put big", once with
its download concurrency (16 threads, --max-downloads' default) for "get big". The rows
"objbench put big" (ckpt-write table) and "objbench get big" (ckpt-read table) show them in the
S3 systems' columns, and "ratio to objbench" rows the system's own figure divided by the
reference of the same round (median over rounds). One asymmetry stays: objbench gets what it
has just put, from the server's page cache, while the cold read follows a drop of all kernel
caches, the s3rver's files included.

The daemon's peak RSS (VmHWM) is read after each system's round. Output: a Markdown report
(machine, commands, one table per workload) on stdout and, with --results FILE, replacing the
section between the harness markers in FILE.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BEGIN = "<!-- bench/run.sh: begin (generated; edit the harness, not this section) -->"
END = "<!-- bench/run.sh: end -->"


def log(msg):
    print(time.strftime("[%H:%M:%S] ") + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def drop_caches():
    subprocess.run(["sync"], check=False)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError as e:
        log(f"cannot drop kernel caches ({e}): cold reads may be warm")


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_gone(pid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


class Servers:
    """The shared servers: one s3rver and one redis-server on free loopback ports."""

    def __init__(self, work):
        self.work, self.procs = work, []
        self.s3_port = self.redis_port = None

    def s3(self):
        if self.s3_port is None:
            self.s3_port = free_port()
            d = os.path.join(self.work, "s3rver")
            os.makedirs(d, exist_ok=True)
            exe = os.path.join(ROOT, "tests/tools/node_modules/.bin/s3rver")
            p = subprocess.Popen(["node", "--openssl-legacy-provider", exe, "-d", d, "-a",
                                  "127.0.0.1", "-p", str(self.s3_port), "--no-vhost-buckets", "-s"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(p)
            if not wait_port(self.s3_port):
                raise RuntimeError("s3rver did not start")
        return f"http://127.0.0.1:{self.s3_port}"

    def bucket(self, name):
        endpoint = self.s3()
        subprocess.run(["curl", "-sf", "-X", "PUT", "--aws-sigv4", "aws:amz:us-east-1:s3",
                        "--user", "S3RVER:S3RVER", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                        f"{endpoint}/{name}"], check=True, stdout=subprocess.DEVNULL)
        return f"{endpoint}/{name}"

    def redis(self):
        if self.redis_port is None:
            self.redis_port = free_port()
            d = os.path.join(self.work, "redis")
            os.makedirs(d, exist_ok=True)
            p = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port",
                                  str(self.redis_port), "--save", "", "--appendonly", "no",
                                  "--dir", d], stdout=subprocess.DEVNULL)
            self.procs.append(p)
            if not wait_port(self.redis_port):
                raise RuntimeError("redis-server did not start")
        return f"redis://127.0.0.1:{self.redis_port}"

    def stop(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


class System:
    """One system under test. mount(cache) makes self.path usable: cache is "fresh" (empty
    local caches) or "keep" (the caches of the previous mount)."""

    fuse = True
    disk_cache = False  # has a local data cache a remount can keep

    def __init__(self, name, work, servers, args):
        self.name, self.servers, self.args = name, servers, args
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.path = os.path.join(self.dir, "mnt")
        os.makedirs(self.path, exist_ok=True)
        self.pid = None
        self.proc = None  # the daemon when it is our child (foreground FUSE processes)
        self.cache_seq = 0

    def setup(self):
        pass

    def mount(self, cache):
        pass

    def unmount(self):
        if self.fuse and is_mounted(self.path):
            r = subprocess.run(["umount", self.path], capture_output=True)
            if r.returncode != 0:
                time.sleep(1)
                subprocess.run(["umount", "-l", self.path], capture_output=True)
        if self.proc is not None:  # our child: reap it (a zombie still answers kill(pid, 0))
            try:
                self.proc.wait(300)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.pid is not None and not wait_gone(self.pid, 300):
            os.kill(self.pid, signal.SIGKILL)
        self.pid, self.proc = None, None

    def rss(self):
        return peak_rss_kib(self.pid) if self.pid else None

    def wait_mounted(self, proc_pid, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if is_mounted(self.path):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: not mounted after {timeout} s (pid {proc_pid})")


class Raw(System):
    fuse = False


class Passthrough(System):
    def mount(self, cache):
        src = os.path.join(self.dir, "src")
        os.makedirs(src, exist_ok=True)
        p = subprocess.Popen([self.args.passthrough, src, self.path, "-f", "-o", "allow_other"],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "a"))
        self.pid, self.proc = p.pid, p
        self.wait_mounted(p.pid)


OBJBENCH_PUT_THREADS = 20  # chunk::WriterOptions::max_uploads, the mount's default
OBJBENCH_GET_THREADS = 16  # chunk::ReaderOptions::max_downloads, the mount's default


def objbench_big(args, url, threads, count):
    """`strata objbench` of url with `count` 4 MiB objects on `threads` threads: its
    {"put big": MiB/s, "get big": MiB/s}."""
    r = subprocess.run([args.strata, "objbench", url, "--access-key", "S3RVER", "--secret-key",
                        "S3RVER", "--threads", str(threads), "--count", "1", "--big-count",
                        str(count), "--big-size", "4M"], capture_output=True, text=True,
                       timeout=args.op_timeout)
    if r.returncode != 0:
        raise RuntimeError(f"objbench: {r.stderr.strip()[-300:]}")
    rows = {}
    for line in r.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in ("put big", "get big"):
            rows[cells[0]] = float(cells[3])
    if len(rows) != 2:
        raise RuntimeError(f"objbench: no put/get big rows in {r.stdout[-300:]}")
    return rows


class Strata(System):
    disk_cache = True
    redis_db = 0  # each Redis-backed system gets its own database number on the one server

    def __init__(self, name, work, servers, args, meta, store, writeback):
        super().__init__(name, work, servers, args)
        self.meta_kind, self.store_kind, self.writeback = meta, store, writeback

    def setup(self):
        Strata.redis_db += 1
        meta = (f"sqlite3://{self.dir}/meta.db" if self.meta_kind == "sqlite"
                else self.servers.redis() + "/" + str(Strata.redis_db))
        store_args = (["--storage", f"file://{self.dir}/data"] if self.store_kind == "file" else
                      ["--storage", self.servers.bucket(self.name.replace("_", "-")),
                       "--access-key", "S3RVER", "--secret-key", "S3RVER"])
        self.meta_url = meta
        self.objbench_url = self.servers.bucket("objbench-ref") if self.store_kind == "s3" else None
        subprocess.run([self.args.strata, "format", meta, "bench", *store_args, "--trash-days", "0"],
                       check=True, capture_output=True)

    def mount(self, cache):
        if cache == "fresh":
            self.cache_seq += 1
            shutil.rmtree(os.path.join(self.dir, "cache"), ignore_errors=True)
        cache_dir = os.path.join(self.dir, "cache")
        extra = ["--writeback"] if self.writeback else []
        r = subprocess.run([self.args.strata, "mount", "-d", "--log", os.path.join(self.dir, "log"),
                            "-o", "allow_other", "--cache-dir", cache_dir, "--cache-size",
                            self.args.cache_size, *extra, self.meta_url, self.path],
                           capture_output=True, text=True)
        m = re.search(r"\(pid (\d+)\)", r.stdout)
        if r.returncode != 0 or not m:
            raise RuntimeError(f"{self.name}: mount failed: {r.stdout}{r.stderr}")
        self.pid = int(m.group(1))
        self.wait_mounted(self.pid)


class S3fs(System):
    def setup(self):
        self.url = self.servers.bucket("s3fs-bench")
        self.passwd = os.path.join(self.dir, "passwd")
        with open(self.passwd, "w") as f:
            f.write("S3RVER:S3RVER\n")
        os.chmod(self.passwd, 0o600)

    def mount(self, cache):
        endpoint = self.url.rsplit("/", 1)[0]
        p = subprocess.Popen(["s3fs", "s3fs-bench", self.path, "-f", "-o", f"passwd_file={self.passwd}",
                              "-o", f"url={endpoint}", "-o", "use_path_request_style", "-o",
                              "endpoint=us-east-1", "-o", "allow_other"],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "a"))
        self.pid, self.proc = p.pid, p
        self.wait_mounted(p.pid)


class Rclone(System):
    def setup(self):
        url = self.servers.bucket("rclone-bench")
        self.conf = os.path.join(self.dir, "rclone.conf")
        with open(self.conf, "w") as f:
            f.write("[s3r]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\n"
                    "secret_access_key = S3RVER\nendpoint = %s\nregion = us-east-1\n"
                    "force_path_style = true\n" % url.rsplit("/", 1)[0])

    def mount(self, cache):
        cache_dir = os.path.join(self.dir, "cache")
        if cache == "fresh":
            shutil.rmtree(cache_dir, ignore_errors=True)
        env = dict(os.environ)
        env.pop("AWS_CA_BUNDLE", None)
        p = subprocess.Popen(["rclone", "--config", self.conf, "mount", "s3r:rclone-bench", self.path,
                              "--vfs-cache-mode", "writes", "--cache-dir", cache_dir, "--allow-other"],
                             env=env, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(self.dir, "log"), "a"))
        self.pid, self.proc = p.pid, p
        self.wait_mounted(p.pid)


# ------------------------------------------------------------------------------- workloads

def fio(args, name, path, **kw):
    cmd = ["fio", "--output-format=json", f"--name={name}", f"--directory={path}",
           "--ioengine=psync", "--group_reporting=1"] + [f"--{k}={v}" for k, v in kw.items()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.op_timeout)
    if r.returncode != 0:
        raise RuntimeError(f"fio {name}: {r.stderr.strip()[-300:]}")
    job = json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]
    return job


def mib_s(job, kind):
    return job[kind]["io_bytes"] / 1048576 / max(job[kind]["runtime"] / 1000.0, 1e-9)


def small_phase(phase, dirs, count, size):
    """Runs one small-file phase over len(dirs) worker processes at once; returns files/s."""
    script = os.path.join(HERE, "mount", "smallfiles.py")
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, script, phase, d, str(count), str(size)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in dirs]
    # The script times its own phase (no interpreter start-up); the wall time of the slowest
    # worker is the phase's time, since the workers start together.
    times = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"small files {phase}: {err.strip()[-300:]}")
        times.append(float(out.strip()))
    del t0
    return count * len(dirs) / max(max(times), 1e-9)


def agent_run(root, agents, seconds):
    """The agent workload in `agents` threads; returns (files/s, p50 ms, p99 ms of close)."""
    stop = time.monotonic() + seconds
    done, lat, errors = [0] * agents, [[] for _ in range(agents)], []
    data = b"x" * 4096

    def agent(a):
        d = os.path.join(root, f"agent{a}")
        os.makedirs(d, exist_ok=True)
        journal = os.open(os.path.join(d, "journal"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
        try:
            n = 0
            while time.monotonic() < stop:
                tmp, out = os.path.join(d, f".tmp{n}"), os.path.join(d, f"out{n}")
                fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
                os.write(fd, data)
                t0 = time.monotonic()
                os.close(fd)
                lat[a].append((time.monotonic() - t0) * 1000)
                os.rename(tmp, out)
                if n % 10 == 9:
                    os.write(journal, b"record %d\n" % n)
                    os.fsync(journal)
                n += 1
            done[a] = n
        except OSError as e:
            errors.append(e)
        finally:
            os.close(journal)

    threads = [threading.Thread(target=agent, args=(a,)) for a in range(agents)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    if errors:
        raise RuntimeError(f"agent: {errors[0]}")
    all_lat = sorted(x for l in lat for x in l)
    q = lambda p: all_lat[min(len(all_lat) - 1, int(p * (len(all_lat) - 1) + 0.5))] if all_lat else 0
    return sum(done) / wall, q(0.5), q(0.99)


class Recorder:
    def __init__(self):
        self.values = {}  # (workload, metric, system) -> [values]
        self.order = []

    def declare(self, workload, metric, unit):
        """Fixes a row's place in its table before any system has a value for it."""
        if (workload, metric, unit) not in self.order:
            self.order.append((workload, metric, unit))

    def add(self, workload, metric, system, value, unit):
        self.declare(workload, metric, unit)
        self.values.setdefault((workload, metric, system), []).append(value)


def run_workloads(sysm, args, rec, workloads):
    """One round of every workload on one system (mounted fresh at the start)."""
    p = sysm.path
    size_mib = args.size_mib
    ref = None  # this round's objbench of the system's S3 server (see the header)
    if getattr(sysm, "objbench_url", None) and workloads & {"ckpt-write", "ckpt-read"}:
        count = max(1, size_mib // 4)
        # The system's own rows first, so each table lists them above the reference.
        rec.declare("ckpt-write", f"1 x {size_mib} MiB, 1 MiB writes + fsync", "MiB/s")
        rec.declare("ckpt-read", "cold (empty caches)", "MiB/s")
        put = objbench_big(args, sysm.objbench_url, OBJBENCH_PUT_THREADS, count)["put big"]
        get = objbench_big(args, sysm.objbench_url, OBJBENCH_GET_THREADS, count)["get big"]
        ref = {"put": put, "get": get}
        if "ckpt-write" in workloads:
            rec.add("ckpt-write", f"objbench put big (4 MiB, {OBJBENCH_PUT_THREADS} threads)",
                    sysm.name, put, "MiB/s")
        if "ckpt-read" in workloads:
            rec.add("ckpt-read", f"objbench get big (4 MiB, {OBJBENCH_GET_THREADS} threads)",
                    sysm.name, get, "MiB/s")
    sysm.mount("fresh")
    try:
        if "ckpt-write" in workloads or "ckpt-read" in workloads or "parquet" in workloads:
            job = fio(args, "ckpt", p, rw="write", bs="1M", size=f"{size_mib}M", end_fsync=1,
                      filename="ckpt.bin")
            if "ckpt-write" in workloads:
                rec.add("ckpt-write", f"1 x {size_mib} MiB, 1 MiB writes + fsync", sysm.name, mib_s(job, "write"), "MiB/s")
                if ref:
                    rec.add("ckpt-write", "ratio to objbench put big (same round)", sysm.name,
                            mib_s(job, "write") / ref["put"], "x")
        if "ckpt-write4" in workloads:
            t0 = time.monotonic()
            fio(args, "ckpt4", p, rw="write", bs="1M", size=f"{size_mib // 4}M", end_fsync=1, numjobs=4)
            rec.add("ckpt-write4", f"4 x {size_mib // 4} MiB at once", sysm.name,
                    size_mib / (time.monotonic() - t0), "MiB/s")
            for f in os.listdir(p):
                if f.startswith("ckpt4."):
                    os.unlink(os.path.join(p, f))
        if "ckpt-read" in workloads or "parquet" in workloads:
            sysm.unmount()
            drop_caches()
            sysm.mount("fresh")
            if "ckpt-read" in workloads:
                job = fio(args, "read", p, rw="read", bs="1M", size=f"{size_mib}M", filename="ckpt.bin")
                rec.add("ckpt-read", "cold (empty caches)", sysm.name, mib_s(job, "read"), "MiB/s")
                if ref:
                    rec.add("ckpt-read", "cold: ratio to objbench get big (same round)", sysm.name,
                            mib_s(job, "read") / ref["get"], "x")
                rec.declare("ckpt-read", "disk-cache hit", "MiB/s")
                if sysm.disk_cache:
                    sysm.unmount()
                    drop_caches()
                    sysm.mount("keep")
                    job = fio(args, "read", p, rw="read", bs="1M", size=f"{size_mib}M", filename="ckpt.bin")
                    rec.add("ckpt-read", "disk-cache hit", sysm.name, mib_s(job, "read"), "MiB/s")
                job = fio(args, "read", p, rw="read", bs="1M", size=f"{size_mib}M", filename="ckpt.bin")
                rec.add("ckpt-read", "page-cache hit", sysm.name, mib_s(job, "read"), "MiB/s")
            if "parquet" in workloads:
                sysm.unmount()
                drop_caches()
                sysm.mount("fresh")
                job = fio(args, "pq", p, rw="randread", bsrange="1M-8M", size=f"{size_mib}M",
                          filename="ckpt.bin", time_based=1, runtime=args.seconds)
                rec.add("parquet", f"random 1-8 MiB reads, {args.seconds} s, cold", sysm.name,
                        mib_s(job, "read"), "MiB/s")
        for wl, size in (("small4k", 4096), ("small128k", 131072)):
            if wl not in workloads:
                continue
            for threads in (1, 4):
                count = max(1, args.files // threads)
                dirs = [os.path.join(p, f"{wl}-{threads}-{i}") for i in range(threads)]
                for d in dirs:
                    os.makedirs(d)
                for phase in ("create", "stat", "read", "delete"):
                    if phase in ("stat", "read"):
                        drop_caches()
                    rate = small_phase(phase, dirs, count, size)
                    rec.add(wl, f"{phase}, {threads} thread(s)", sysm.name, rate, "files/s")
                for d in dirs:
                    os.rmdir(d)
        if "meta" in workloads:
            d = os.path.join(p, "meta")
            os.makedirs(d)
            n = args.files
            names = [os.path.join(d, f"e{i}") for i in range(n)]
            for label, op in (("create", lambda f: os.close(os.open(f, os.O_CREAT | os.O_WRONLY, 0o644))),
                              ("stat", os.stat),
                              ("rename", lambda f: os.rename(f, f + ".r")),
                              ("unlink", lambda f: os.unlink(f + ".r"))):
                t0 = time.monotonic()
                for f in names:
                    op(f)
                rec.add("meta", label, sysm.name, n / (time.monotonic() - t0), "ops/s")
            os.rmdir(d)
        if "agent" in workloads:
            for agents in (1, 4):
                root = os.path.join(p, f"agents{agents}")
                os.makedirs(root)
                rate, p50, p99 = agent_run(root, agents, args.seconds)
                rec.add("agent", f"{agents} agent(s): files/s", sysm.name, rate, "files/s")
                rec.add("agent", f"{agents} agent(s): close p50", sysm.name, p50, "ms")
                rec.add("agent", f"{agents} agent(s): close p99", sysm.name, p99, "ms")
                shutil.rmtree(root)
        rss = sysm.rss()
        if rss is not None:
            rec.add("rss", "peak RSS of the daemon (last mount of the round)", sysm.name, rss / 1024, "MiB")
        if os.path.exists(os.path.join(p, "ckpt.bin")):
            os.unlink(os.path.join(p, "ckpt.bin"))
    finally:
        sysm.unmount()


def fmt(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v if v >= 10 else "%.2f" % v


def report(rec, systems, args, commands):
    out = []
    out.append(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()}: "
               f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB, "
               f"kernel {platform.release()}; {args.rounds} round(s), systems alternating.")
    out.append("")
    out.append("Command: `" + " ".join(commands) + "`")
    out.append("")
    out.append("Each cell: median of the rounds, [min-max] when more than one; ratio to the FUSE "
               "passthrough in parentheses (for ms and MiB of RSS, lower is better).")
    names = [s.name for s in systems]
    workloads = []
    for key in rec.order:
        if key[0] not in workloads:
            workloads.append(key[0])
    for wl in workloads:
        out.append("")
        out.append(f"**{wl}**")
        out.append("")
        out.append("| measure | unit | " + " | ".join(names) + " |")
        out.append("|---|---|" + "---|" * len(names))
        for (w, metric, unit) in rec.order:
            if w != wl:
                continue
            ref = rec.values.get((w, metric, "passthrough"))
            refmed = statistics.median(ref) if ref else None
            cells = []
            for n in names:
                vals = rec.values.get((w, metric, n))
                if not vals:
                    cells.append("-")
                    continue
                med = statistics.median(vals)
                cell = fmt(med)
                if len(vals) > 1:
                    cell += f" [{fmt(min(vals))}-{fmt(max(vals))}]"
                if refmed and n != "passthrough":
                    cell += f" ({med / refmed:.2f}x)"
                cells.append(cell)
            out.append(f"| {metric} | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--passthrough", required=True)
    ap.add_argument("--systems", default="")
    ap.add_argument("--workloads", default="ckpt-write ckpt-write4 ckpt-read parquet small4k small128k meta agent")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=4096)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--cache-size", default="20G")
    ap.add_argument("--op-timeout", type=int, default=1800)
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--results", default="")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    has_wb = "--writeback " in subprocess.run([args.strata, "mount", "--help"], capture_output=True,
                                               text=True).stdout
    default = ["raw", "passthrough", "strata-sqlite", "strata-redis", "strata-s3"]
    if has_wb:
        default += ["strata-sqlite-wb", "strata-redis-wb", "strata-s3-wb"]
    default += [s for s in ("s3fs", "rclone") if shutil.which(s)]
    names = args.systems.split() or default
    workloads = set(args.workloads.split())
    work = tempfile.mkdtemp(prefix="strata-harness.", dir=args.workdir)
    servers = Servers(work)
    systems = []
    try:
        for n in names:
            base = n[:-3] if n.endswith("-wb") else n
            if n.endswith("-wb") and not has_wb:
                raise SystemExit(f"{n}: this strata binary has no --writeback")
            if base == "raw":
                s = Raw(n, work, servers, args)
                s.path = os.path.join(s.dir, "data")
                os.makedirs(s.path, exist_ok=True)
            elif base == "passthrough":
                s = Passthrough(n, work, servers, args)
            elif base in ("strata-sqlite", "strata-redis", "strata-s3"):
                meta = "sqlite" if base == "strata-sqlite" else "redis"
                s = Strata(n, work, servers, args, meta, "s3" if base == "strata-s3" else "file",
                           n.endswith("-wb"))
            elif base == "s3fs":
                s = S3fs(n, work, servers, args)
            elif base == "rclone":
                s = Rclone(n, work, servers, args)
            else:
                raise SystemExit(f"unknown system {n}")
            s.setup()
            systems.append(s)
        rec = Recorder()
        for rnd in range(args.rounds):
            order = systems[rnd % len(systems):] + systems[:rnd % len(systems)]
            for s in order:
                log(f"round {rnd + 1}/{args.rounds}: {s.name}")
                try:
                    run_workloads(s, args, rec, workloads)
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    log(f"{s.name}: failed: {e}")
        text = report(rec, systems, args, sys.argv)
        print(text)
        if args.results:
            old = ""  # a new results file is started
            if os.path.exists(args.results):
                with open(args.results) as f:
                    old = f.read()
            section = BEGIN + "\n" + text + END
            if BEGIN in old and END in old:
                new = old[:old.index(BEGIN)] + section + old[old.index(END) + len(END):]
            else:
                new = old.rstrip("\n") + "\n\n## Side-by-side harness (bench/run.sh)\n\n" + section + "\n"
            with open(args.results, "w") as f:
                f.write(new)
            log(f"wrote the tables into {args.results}")
    finally:
        for s in systems:
            try:
                s.unmount()
            except Exception as e:  # noqa: BLE001 -- cleanup goes on for the other systems
                log(f"{s.name}: unmount failed: {e}")
        servers.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
