"""A mount never hangs on a dead engine or store, says what went wrong, and works again when
the remote side returns (no remount). Runs once (sqlite job): it starts its own redis-server
with an append-only file, so a stop and a restart on the same port keep the data."""
import errno
import os
import signal
import subprocess
import time

import pytest

from conftest import Volume, free_port, wait_port

pytestmark = pytest.mark.full_only

META_TIMEOUT = 3  # seconds: --meta-timeout of the mount under test


class Redis:
    def __init__(self, base):
        self.port = free_port()
        self.dir = base
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)  # graceful: the AOF is complete
        self.proc.wait(10)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def redis_volume(strata, tmp_path):
    os.chmod(tmp_path, 0o755)
    r = Redis(tmp_path)
    r.start()
    vol = Volume(strata, str(tmp_path), f"redis://127.0.0.1:{r.port}/0",
                 f"file://{tmp_path}/data", [])
    vol.format()
    yield vol, r
    try:
        if r.proc.poll() is not None:
            r.start()
        vol.close()
    finally:
        r.close()


def timed_errno(fn):
    start = time.monotonic()
    try:
        fn()
    except OSError as e:
        return e.errno, time.monotonic() - start
    return 0, time.monotonic() - start


def test_stopped_engine_gives_eio_within_the_budget_then_recovers(redis_volume):
    vol, redis = redis_volume
    m = vol.mount(None, "--meta-timeout", str(META_TIMEOUT), "--attr-timeout", "0",
                  "--entry-timeout", "0")
    with open(os.path.join(m.path, "before"), "w") as f:
        f.write("kept")

    redis.stop()
    err, took = timed_errno(lambda: os.stat(os.path.join(m.path, "missing")))
    assert err == errno.EIO, err
    # A hang guard, not a speed test: the budget plus generous slack for a loaded machine.
    assert took < META_TIMEOUT + 20, took
    err, took = timed_errno(lambda: open(os.path.join(m.path, "new"), "w").close())
    assert err == errno.EIO, err
    assert took < 2 * META_TIMEOUT + 20, took
    assert m.alive()

    redis.start()  # same port, same data
    deadline = time.monotonic() + 30
    while True:
        try:
            with open(os.path.join(m.path, "after"), "w") as f:
                f.write("back")
            break
        except OSError:
            assert time.monotonic() < deadline, "the mount did not recover"
            time.sleep(0.2)
    with open(os.path.join(m.path, "before")) as f:
        assert f.read() == "kept"
    with open(os.path.join(m.path, "after")) as f:
        assert f.read() == "back"
    m.unmount()
    with open(m.log) as f:
        log = f.read()
    assert "gave up on transaction" in log, log
    assert "Connection refused" in log or "cannot connect" in log, log


def test_a_failing_store_is_logged_with_the_key(strata, tmp_path):
    """The store is a 2 MiB tmpfs: a 4 MiB file cannot be stored; close() fails with ENOSPC,
    the mount goes on, and its log names the block key and the error."""
    os.chmod(tmp_path, 0o755)
    data = tmp_path / "data"
    data.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(data)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db", f"file://{data}", [])
        vol.format()
        m = vol.mount()
        f = open(os.path.join(m.path, "big"), "wb")
        f.write(os.urandom(4 << 20))
        with pytest.raises(OSError) as e:
            f.close()
        assert e.value.errno in (errno.ENOSPC, errno.EIO), e.value
        with open(os.path.join(m.path, "small"), "w") as g:  # the mount goes on
            g.write("ok")
        vol.close()
        with open(m.log) as lf:
            log = lf.read()
        lines = [l for l in log.splitlines() if "upload of block" in l]
        assert lines, log
        assert "/chunks/" in lines[0] and "NoSpace" in lines[0], lines[0]
    finally:
        subprocess.run(["umount", "-l", str(data)])


class S3rver:
    def __init__(self, base):
        src = os.environ.get("STRATA_SOURCE_DIR",
                             os.path.join(os.path.dirname(__file__), "..", ".."))
        self.bin = os.path.join(src, "tests", "tools", "node_modules", ".bin", "s3rver")
        self.port = free_port()
        self.dir = base
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["node", "--openssl-legacy-provider", self.bin, "-d", str(self.dir), "-a",
             "127.0.0.1", "-p", str(self.port), "--no-vhost-buckets", "-s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.kill()


def test_store_outage_fails_close_then_recovers(strata, tmp_path):
    """The S3 server dies mid-write: close() fails with EIO after --io-timeout, nothing is
    half-committed, the mount stays up, and writes work again soon after the server returns."""
    from conftest import create_bucket
    s3 = S3rver(tmp_path / "s3")
    if not os.path.exists(s3.bin):
        pytest.skip("s3rver not installed (scripts/install-deps)")
    os.makedirs(s3.dir)
    os.chmod(tmp_path, 0o755)
    s3.start()
    try:
        endpoint = f"http://127.0.0.1:{s3.port}"
        create_bucket(endpoint, "outage")
        vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db",
                     f"{endpoint}/outage", ["--access-key", "S3RVER", "--secret-key", "S3RVER"])
        vol.format()
        m = vol.mount(None, "--io-timeout", "4")
        with open(os.path.join(m.path, "before"), "wb") as f:
            f.write(b"stored before" * 1000)

        s3.kill()
        f = open(os.path.join(m.path, "during"), "wb")
        f.write(os.urandom(1 << 20))
        start = time.monotonic()
        with pytest.raises(OSError) as e:
            f.close()
        assert e.value.errno == errno.EIO, e.value
        assert time.monotonic() - start < 4 + 30  # a hang guard, not a speed test
        assert m.alive()
        assert os.path.getsize(os.path.join(m.path, "during")) == 0  # nothing half-committed
        assert "before" in os.listdir(m.path)  # metadata still served

        s3.start()  # same port, same data directory
        deadline = time.monotonic() + 30
        while True:
            try:
                with open(os.path.join(m.path, "after"), "wb") as g:
                    g.write(b"back")
                break
            except OSError:
                assert time.monotonic() < deadline, "writes did not recover"
                time.sleep(0.5)
        vol.close()
        m2 = vol.mount()  # a fresh client (empty memory cache) reads every byte from the store
        with open(os.path.join(m2.path, "before"), "rb") as r:
            assert r.read() == b"stored before" * 1000
        with open(os.path.join(m2.path, "after"), "rb") as r:
            assert r.read() == b"back"
        vol.close()
        with open(m.log) as lf:
            log = lf.read()
        assert "gave up on put" in log, log
    finally:
        s3.close()


def _files_under(path):
    out = []
    for root, _, files in os.walk(path):
        out += [os.path.join(root, f) for f in files if not f.startswith(".")]
    return sorted(out)


def _flip_byte(path, at=100):
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0xFF]))


def test_corrupt_blocks_are_never_returned(strata, tmp_path):
    """A corrupt cache file is dropped and the block re-fetched; a corrupt store object gives
    EIO and a log line naming its key, never wrong bytes."""
    os.chmod(tmp_path, 0o755)
    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db", f"file://{data_dir}", [])
    vol.format()
    payload = os.urandom(3 << 20)
    m = vol.mount(None, "--cache-dir", str(cache))
    with open(os.path.join(m.path, "f"), "wb") as f:
        f.write(payload)
    vol.close()
    vol.mounts.clear()
    m = vol.mount(None, "--cache-dir", str(cache))
    with open(os.path.join(m.path, "f"), "rb") as f:
        assert f.read() == payload
    vol.close()
    vol.mounts.clear()
    assert not [p for p in _files_under(cache) if "chunks" in p], _files_under(cache)
    # A file:// store's blocks go into the disk cache neither when written nor when read (the
    # store is a local disk already), except for a cache group, whose members serve each other
    # from their disk caches: a one-member group's read fills it.
    # --free-space-ratio 0: the cache must not decline the fill because the shared disk the
    # tests run on is momentarily near 10% free (other benchmarks fill it).
    m = vol.mount(None, "--cache-dir", str(cache), "--cache-group", "corrupt",
                  "--group-listen", f"127.0.0.1:{free_port()}", "--free-space-ratio", "0")
    with open(os.path.join(m.path, "f"), "rb") as f:
        assert f.read() == payload
    vol.close()
    vol.mounts.clear()

    cached = [p for p in _files_under(cache) if "chunks" in p]
    assert cached, _files_under(cache)
    for p in cached:
        _flip_byte(p)
    m = vol.mount(None, "--cache-dir", str(cache))
    with open(os.path.join(m.path, "f"), "rb") as f:
        assert f.read() == payload  # re-fetched from the store
    vol.close()
    vol.mounts.clear()

    blocks = [p for p in _files_under(data_dir) if "/chunks/" in p]
    assert blocks
    _flip_byte(blocks[0])
    m = vol.mount()  # no cache: the store copy is read
    with pytest.raises(OSError) as e:
        with open(os.path.join(m.path, "f"), "rb") as f:
            f.read()
    assert e.value.errno == errno.EIO
    vol.close()
    with open(m.log) as lf:
        log = lf.read()
    key = os.path.relpath(blocks[0], data_dir)
    assert key in log and "Corruption" in log, (key, log)
