"""Harness for the real-mount suite: formats a temporary volume, mounts it with
`strata mount -d` (which returns once the mount is ready), and unmounts it afterwards.

Backends (--backend): sqlite (SQLite + file://), redis (redis-server started here on a free
loopback port + file://), s3 (SQLite + s3rver started here). Servers are stopped by PID.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest


def pytest_addoption(parser):
    parser.addoption("--strata", default=os.environ.get("STRATA_BIN", "strata"),
                     help="path of the strata binary")
    parser.addoption("--backend", default="sqlite", choices=["sqlite", "redis", "s3"])


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
        yield info
    finally:
        for p in procs:
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
