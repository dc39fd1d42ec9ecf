"""Harness for the real-mount suite: formats a temporary volume, mounts it with
`strata mount -d` (which returns once the mount is ready), and unmounts it afterwards.

Backends (--backend): sqlite (SQLite + file://), redis (redis-server started here on a free
loopback port + file://), s3 (SQLite + s3rver started here), etcd (one etcd member started
here, a key prefix per volume + file://), postgres (PostgreSQL 15 started here, a database per
volume + file://). Servers are stopped by PID.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import json
import time
import urllib.request

import pytest


def pytest_addoption(parser):
    parser.addoption("--strata", default=os.environ.get("STRATA_BIN", "strata"),
                     help="path of the strata binary")
    parser.addoption("--backend", default="sqlite", choices=["sqlite", "redis", "s3", "etcd", "postgres"])


def pytest_configure(config):
    config.addinivalue_line("markers", "full_only: run only on the sqlite backend")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def is_mounted(path):
    path = os.path.realpath(path) if os.path.exists(path) else path
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[1].replace("\\040", " ") == path:
                return True
    return False


class EtcdCluster:
    """`members` etcd processes on free loopback ports (TESTING.md recipe), each with its own
    data directory; members can be SIGKILLed and started again (they rejoin)."""

    def __init__(self, base, members=1):
        # Data on /dev/shm when there is one: etcd fsyncs every commit, free on tmpfs.
        self.base = tempfile.mkdtemp(prefix="etcd-", dir="/dev/shm"
                                     if os.path.isdir("/dev/shm") else str(base))
        self.ports = [(free_port(), free_port()) for _ in range(members)]
        self.procs = [None] * members
        self.token = f"tok-{os.getpid()}-{free_port()}"

    def _launch(self, i, state):
        cluster = ",".join(f"m{j}=http://127.0.0.1:{p}" for j, (_, p) in enumerate(self.ports))
        c, p = self.ports[i]
        log = open(os.path.join(self.base, f"etcd-m{i}.log"), "a")
        self.procs[i] = subprocess.Popen(
            ["etcd", "--name", f"m{i}", "--data-dir", os.path.join(self.base, f"etcd-m{i}"),
             "--listen-client-urls", f"http://127.0.0.1:{c}",
             "--advertise-client-urls", f"http://127.0.0.1:{c}",
             "--listen-peer-urls", f"http://127.0.0.1:{p}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
             "--initial-cluster", cluster, "--initial-cluster-token", self.token,
             "--initial-cluster-state", state, "--heartbeat-interval", "50",
             "--election-timeout", "500", "--max-txn-ops", "10000", "--log-level", "warn"],
            stdout=log, stderr=log)

    def post(self, i, path, body, timeout=1.0):
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports[i][0]}{path}",
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def wait_healthy(self, i, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                self.post(i, "/v3/kv/range", {"key": "AA=="})
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"etcd member {i} not healthy")

    def start(self):
        if shutil.which("etcd") is None:
            pytest.skip("etcd not installed (scripts/install-deps)")
        for i in range(len(self.ports)):
            self._launch(i, "new")
        for i in range(len(self.ports)):
            self.wait_healthy(i)
        return self

    def url(self, prefix):
        return "etcd://" + ",".join(f"127.0.0.1:{c}" for c, _ in self.ports) + "/" + prefix

    def leader(self):
        for i, p in enumerate(self.procs):
            if p is None or p.poll() is not None:
                continue
            try:
                st = self.post(i, "/v3/maintenance/status", {})
            except Exception:
                continue
            if st.get("leader") and st["leader"] == st["header"]["member_id"]:
                return i
        return -1

    def kill(self, i):
        self.procs[i].kill()
        self.procs[i].wait(10)

    def restart(self, i):
        self._launch(i, "existing")
        self.wait_healthy(i)

    def close(self):
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.base, ignore_errors=True)


PGBIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """PostgreSQL 15 in a temporary directory (TESTING.md recipe: initdb as the postgres user,
    which initdb requires when we are root), on a free loopback port; stopped by pg_ctl."""

    def __init__(self, base, password=None):
        self.dir = tempfile.mkdtemp(prefix="pg-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                                    else None)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.password = password
        self.running = False

    def _run(self, *args, check=True):
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {r.stdout}{r.stderr}")
        return r

    def _opts(self):
        return f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"

    def start(self):
        if not os.path.exists(f"{PGBIN}/initdb"):
            pytest.skip("PostgreSQL 15 not installed (scripts/install-deps)")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        auth = ["-A", "trust"]
        if self.password:
            pw = os.path.join(self.dir, "pw")
            with open(pw, "w") as f:
                f.write(self.password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pw, "postgres", "postgres")
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pw}"]
        self._run(f"{PGBIN}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", *auth,
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._run(f"{PGBIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/pg.log", "-w",
                  "-o", self._opts(), "start")
        self.running = True
        return self

    def restart(self):
        self._run(f"{PGBIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/pg.log",
                  "-m", "fast", "-w", "-o", self._opts(), "restart")

    def psql(self, sql, db="postgres"):
        r = self._run("/usr/bin/psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                      "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql)
        return r.stdout

    def url(self, db, password=None):
        pw = f":{password}" if password else ""
        return f"postgres://postgres{pw}@127.0.0.1:{self.port}/{db}"

    def close(self):
        if self.running:
            self.running = False
            self._run(f"{PGBIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop",
                      check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Mount:
    """One `strata mount -d` process serving `path`."""

    def __init__(self, strata, meta_url, path, pid, log):
        self.strata, self.meta_url, self.path, self.pid, self.log = strata, meta_url, path, pid, log

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        # A zombie is not alive; the daemon is not our child, so read its state.
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    def wait_exit(self, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline and self.alive():
            time.sleep(0.05)
        return not self.alive()

    def unmount(self, force=False):
        if is_mounted(self.path):
            args = [self.strata, "umount", self.path] + (["--force"] if force else [])
            r = subprocess.run(args, capture_output=True, text=True)
            if r.returncode != 0 and not force:
                subprocess.run([self.strata, "umount", "--force", self.path],
                               capture_output=True, text=True)
        if not self.wait_exit():
            os.kill(self.pid, signal.SIGKILL)
            self.wait_exit(5)

    def kill(self):
        """SIGKILL the mount process, then detach its dead mount."""
        os.kill(self.pid, signal.SIGKILL)
        self.wait_exit(10)
        subprocess.run([self.strata, "umount", "--force", self.path], capture_output=True)


class Volume:
    def __init__(self, strata, root, meta_url, storage, extra_format):
        self.strata, self.root, self.meta_url, self.storage = strata, root, meta_url, storage
        self.extra_format = extra_format
        self.mounts = []

    def run(self, *args, check=True):
        r = subprocess.run([self.strata, *args], capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"strata {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r

    def format(self, name="testvol"):
        # No trash: an unlinked file's nlink drops to 0 as POSIX says (with the trash on, its
        # last link moves to /.trash instead).
        self.run("format", self.meta_url, name, "--storage", self.storage, "--trash-days", "0",
                 *self.extra_format)

    def mount(self, path=None, *extra):
        if path is None:
            path = tempfile.mkdtemp(prefix="mnt-", dir=self.root)
        os.makedirs(path, exist_ok=True)
        log = os.path.join(self.root, f"mount-{len(self.mounts)}.log")
        r = self.run("mount", "-d", "--log", log, "-o", "allow_other", self.meta_url, path,
                     *extra)
        m = re.search(r"\(pid (\d+)\)", r.stdout)
        assert m, r.stdout + r.stderr
        mount = Mount(self.strata, self.meta_url, os.path.realpath(path), int(m.group(1)), log)
        assert is_mounted(mount.path)
        self.mounts.append(mount)
        return mount

    def close(self):
        for m in self.mounts:
            m.unmount()


@pytest.fixture(scope="session")
def strata(request):
    path = request.config.getoption("--strata")
    path = shutil.which(path) or path
    assert os.access(path, os.X_OK), f"strata binary not found: {path}"
    if os.geteuid() != 0:
        pytest.skip("the mount suite needs root")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def backend(request):
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def servers(backend, tmp_path_factory):
    """Starts what the backend needs; yields {'redis': port} or {'s3': port}."""
    procs = []
    info = {}
    base = tmp_path_factory.mktemp("servers")
    try:
        if backend == "redis":
            port = free_port()
            procs.append(subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                 "--appendonly", "no", "--dir", str(base)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(port)
            info["redis"] = port
        elif backend == "s3":
            src = os.environ.get("STRATA_SOURCE_DIR",
                                 os.path.join(os.path.dirname(__file__), "..", ".."))
            s3rver = os.path.join(src, "tests", "tools", "node_modules", ".bin", "s3rver")
            if not os.path.exists(s3rver):
                pytest.skip("s3rver not installed (scripts/install-deps)")
            port = free_port()
            procs.append(subprocess.Popen(
                ["node", "--openssl-legacy-provider", s3rver, "-d", str(base), "-a",
                 "127.0.0.1", "-p", str(port), "--no-vhost-buckets", "-s"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(port)
            info["s3"] = port
        elif backend == "etcd":
            cluster = EtcdCluster(base, 1).start()
            procs.append(cluster)
            info["etcd"] = cluster
        elif backend == "postgres":
            pg = Postgres(base).start()
            procs.append(pg)
            info["postgres"] = pg
        yield info
    finally:
        for p in procs:
            if isinstance(p, (EtcdCluster, Postgres)):
                p.close()
                continue
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


_counter = [0]


def make_volume(strata, backend, servers, root):
    _counter[0] += 1
    n = _counter[0]
    extra = []
    if backend == "redis":
        meta_url = f"redis://127.0.0.1:{servers['redis']}/{n % 16}"
        subprocess.run(["redis-cli", "-p", str(servers["redis"]), "-n", str(n % 16), "flushdb"],
                       capture_output=True)
    elif backend == "etcd":
        meta_url = servers["etcd"].url(f"vol{os.getpid()}-{n}")
    elif backend == "postgres":
        servers["postgres"].psql(f"CREATE DATABASE vol{n}")
        meta_url = servers["postgres"].url(f"vol{n}")
    else:
        meta_url = f"sqlite3://{root}/meta.db"
    if backend == "s3":
        bucket = f"strata-test-{os.getpid()}-{n}"
        endpoint = f"http://127.0.0.1:{servers['s3']}"
        create_bucket(endpoint, bucket)
        storage = f"{endpoint}/{bucket}"
        extra = ["--access-key", "S3RVER", "--secret-key", "S3RVER"]
    else:
        storage = f"file://{root}/data"
    vol = Volume(strata, str(root), meta_url, storage, extra)
    vol.format()
    return vol


def create_bucket(endpoint, bucket):
    import botocore.session
    s = botocore.session.get_session()
    c = s.create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                        config=botocore.config.Config(s3={"addressing_style": "path"}))
    c.create_bucket(Bucket=bucket)


@pytest.fixture(scope="module")
def volume(strata, backend, servers, tmp_path_factory):
    root = tmp_path_factory.mktemp("vol")
    os.chmod(root, 0o755)
    vol = make_volume(strata, backend, servers, root)
    yield vol
    vol.close()


@pytest.fixture(scope="module")
def mount(volume):
    return volume.mount()


@pytest.fixture
def d(mount, request):
    """A fresh directory inside the shared mount, named after the test."""
    path = os.path.join(mount.path, re.sub(r"[^A-Za-z0-9_]", "_", request.node.name))
    os.mkdir(path)
    os.chmod(path, 0o777)
    return path


@pytest.fixture
def fresh_volume(strata, backend, servers, tmp_path_factory):
    """A volume of its own (for tests that kill or remount)."""
    root = tmp_path_factory.mktemp("own")
    os.chmod(root, 0o755)
    vol = make_volume(strata, backend, servers, root)
    yield vol
    vol.close()
