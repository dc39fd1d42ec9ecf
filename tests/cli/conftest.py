"""Harness for the user-level CLI acceptance suite: runs the `strata` binary named by
$STRATA_BIN as a user would, and starts the servers a test needs (redis-server, s3rver) on free
127.0.0.1 ports, stopping each by its PID.
"""
import hashlib
import os
import shutil
import socket
import subprocess
import time

import pytest

# No test may hang the suite: every strata run is killed after this many seconds. Tests about
# unreachable servers assert a much smaller bound themselves.
RUN_TIMEOUT = 60


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def clean_env(**extra):
    """The environment without AWS_* credentials, so only what a test passes is used."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    env.update(extra)
    return env


class Result:
    def __init__(self, proc, seconds):
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.seconds = seconds

    def __repr__(self):
        return (f"exit {self.returncode} after {self.seconds:.1f} s\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


class Strata:
    def __init__(self, path):
        self.path = path

    def __call__(self, *args, env=None):
        t0 = time.monotonic()
        p = subprocess.run([self.path, *map(str, args)], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT, env=env if env is not None else clean_env())
        return Result(p, time.monotonic() - t0)

    def ok(self, *args, env=None):
        r = self(*args, env=env)
        assert r.returncode == 0, r
        return r


def assert_one_line_error(r, *words):
    """A failed run: non-zero exit, nothing on stdout, exactly one line on stderr that names
    every one of `words` (case-insensitive)."""
    assert r.returncode != 0, r
    assert r.stdout == "", r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r
    for w in words:
        assert w.lower() in lines[0].lower(), f"{w!r} not named in the error\n{r}"
    return lines[0]


def tree_snapshot(path):
    """Every file under `path` with a digest of its content (None when path does not exist),
    to prove a failed command wrote nothing."""
    if not os.path.exists(path):
        return None
    snap = {}
    for root, dirs, files in os.walk(path):
        for d in dirs:
            snap[os.path.relpath(os.path.join(root, d), path) + "/"] = "dir"
        for f in files:
            full = os.path.join(root, f)
            with open(full, "rb") as fh:
                snap[os.path.relpath(full, path)] = hashlib.sha256(fh.read()).hexdigest()
    return snap


@pytest.fixture(scope="session")
def strata():
    path = os.environ.get("STRATA_BIN") or shutil.which("strata")
    assert path and os.access(path, os.X_OK), "set STRATA_BIN to the strata binary"
    return Strata(os.path.abspath(path))


@pytest.fixture(scope="session")
def source_dir():
    return os.environ.get("STRATA_SOURCE_DIR",
                          os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class RedisServer:
    def __init__(self, port, proc):
        self.port, self.proc = port, proc

    def cli(self, *args, db=0):
        p = subprocess.run(["redis-cli", "-p", str(self.port), "-n", str(db), *map(str, args)],
                           capture_output=True, text=True, timeout=10, check=True)
        return p.stdout.strip()

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def keys(self, db=0):
        out = self.cli("--scan", db=db)
        return sorted(out.splitlines()) if out else []

    def total_keys(self):
        """Keys in every database (INFO keyspace lists only non-empty ones)."""
        n = 0
        for line in self.cli("info", "keyspace").splitlines():
            if line.startswith("db"):
                n += int(line.split("keys=")[1].split(",")[0])
        return n


def start_redis(tmp_dir, *extra):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed (scripts/install-deps)")
    os.makedirs(tmp_dir, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_dir), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
    except Exception:
        stop(proc)
        raise
    return RedisServer(port, proc)


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    stop(server.proc)


class S3rver:
    def __init__(self, port, proc, bucket):
        self.port, self.proc, self.bucket = port, proc, bucket
        self.endpoint = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def s3rver(source_dir, tmp_path_factory):
    binary = os.path.join(source_dir, "tests", "tools", "node_modules", ".bin", "s3rver")
    if not os.path.exists(binary) or not shutil.which("node"):
        pytest.skip("s3rver not installed (scripts/install-deps)")
    port = free_port()
    bucket = "strata-cli"
    proc = subprocess.Popen(
        ["node", "--openssl-legacy-provider", binary, "-d", str(tmp_path_factory.mktemp("s3")),
         "-a", "127.0.0.1", "-p", str(port), "--no-vhost-buckets", "-s",
         "--configure-bucket", bucket],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
    except Exception:
        stop(proc)
        raise
    yield S3rver(port, proc, bucket)
    stop(proc)
