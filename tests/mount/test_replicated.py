"""The replicated engines under a real mount: a writer that records each file's checksum after
close() goes on when the etcd leader is SIGKILLed (three members on loopback) and across a
PostgreSQL `pg_ctl restart -m fast`, and every recorded file reads back intact; without an
etcd quorum the mount answers EIO within its --meta-timeout instead of hanging, and works
again when a member returns. Bad metadata URLs get one clear line and exit 1, and change
nothing. Each test starts its own servers; they run in the etcd and postgres jobs."""
import errno
import hashlib
import os
import subprocess
import threading
import time

import pytest

from conftest import EtcdCluster, Postgres, Volume, free_port

META_TIMEOUT = 6  # seconds: --meta-timeout of the mounts under test


class Writer(threading.Thread):
    """Writes files of 64 KiB in a loop; records (name, sha256, when) after each close()."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.root = root
        self.done = []
        self.errors = []
        self.stop_flag = threading.Event()

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            name = os.path.join(self.root, f"f{i:05d}")
            data = os.urandom(65536)
            try:
                with open(name, "wb") as f:
                    f.write(data)
                self.done.append((name, hashlib.sha256(data).hexdigest(), time.monotonic()))
            except OSError as e:
                self.errors.append(f"{name}: {e}")
                return
            i += 1

    def wait_for(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.done) < n and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.02)
        return len(self.done) >= n

    def finish(self):
        self.stop_flag.set()
        self.join(60)

    def longest_gap(self, after):
        times = [after] + [t for _, _, t in self.done if t >= after]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def verify(files):
    for name, digest, _ in files:
        with open(name, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


def timed_errno(fn):
    start = time.monotonic()
    try:
        fn()
    except OSError as e:
        return e.errno, time.monotonic() - start
    return 0, time.monotonic() - start


def run_strata(strata, *args):
    return subprocess.run([strata, *args], capture_output=True, text=True, timeout=120)


def one_line_error(r):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture
def etcd3(backend, tmp_path):
    if backend != "etcd":
        pytest.skip("runs in the etcd job")
    os.chmod(tmp_path, 0o755)
    cluster = EtcdCluster(tmp_path, 3).start()
    yield cluster
    cluster.close()


@pytest.fixture
def pg(backend, tmp_path):
    if backend != "postgres":
        pytest.skip("runs in the postgres job")
    os.chmod(tmp_path, 0o755)
    server = Postgres(tmp_path).start()
    yield server
    server.close()


def test_etcd_leader_kill_quorum_loss_and_return(strata, etcd3, tmp_path):
    vol = Volume(strata, str(tmp_path), etcd3.url("failover"), f"file://{tmp_path}/data", [])
    vol.format()
    try:
        m = vol.mount(None, "--meta-timeout", str(META_TIMEOUT))
        w = Writer(m.path)
        w.start()
        assert w.wait_for(20, 60), w.errors
        leader = etcd3.leader()
        assert leader >= 0
        before = len(w.done)
        etcd3.kill(leader)
        killed = time.monotonic()
        # The writer goes on through the survivors (a hang guard, not a speed test).
        assert w.wait_for(before + 20, 30), w.errors
        w.finish()
        assert not w.errors, w.errors
        print(f"etcd leader SIGKILL: longest pause of the writer {w.longest_gap(killed):.2f} s")
        verify(w.done)

        # A second member down: no quorum. EIO within the deadline, not a hang.
        second = next(i for i in range(3) if i != leader)
        etcd3.kill(second)
        err, took = timed_errno(lambda: open(os.path.join(m.path, "no-quorum"), "w").close())
        assert err == errno.EIO, err
        assert took < 2 * META_TIMEOUT + 20, took
        assert m.alive()
        # A member returns: the quorum is back, and so is the mount (no remount).
        etcd3.restart(second)
        deadline = time.monotonic() + 30
        while True:
            try:
                with open(os.path.join(m.path, "back"), "w") as f:
                    f.write("back")
                break
            except OSError:
                assert time.monotonic() < deadline, "the mount did not recover"
                time.sleep(0.2)
        verify(w.done)
        with open(os.path.join(m.path, "back")) as f:
            assert f.read() == "back"
    finally:
        vol.close()


def test_postgres_fast_restart_under_a_writer(strata, pg, tmp_path):
    pg.psql("CREATE DATABASE failover")
    vol = Volume(strata, str(tmp_path), pg.url("failover"), f"file://{tmp_path}/data", [])
    vol.format()
    try:
        m = vol.mount(None, "--meta-timeout", "20")
        w = Writer(m.path)
        w.start()
        assert w.wait_for(20, 60), w.errors
        before = len(w.done)
        restarted = time.monotonic()
        pg.restart()
        assert w.wait_for(before + 20, 30), w.errors
        w.finish()
        assert not w.errors, w.errors
        print(f"pg_ctl restart -m fast: longest pause of the writer "
              f"{w.longest_gap(restarted):.2f} s")
        verify(w.done)
        m.unmount()
        # And from a fresh mount: what was acknowledged is in the database.
        m2 = vol.mount()
        verify([(os.path.join(m2.path, os.path.basename(n)), d, t) for n, d, t in w.done])
    finally:
        vol.close()


def test_etcd_bad_urls_get_one_line_and_change_nothing(strata, etcd3, tmp_path):
    storage = f"file://{tmp_path}/data"
    # Unreachable cluster.
    dead = f"etcd://127.0.0.1:{free_port()},127.0.0.1:{free_port()}/v"
    line = one_line_error(run_strata(strata, "format", dead, "x", "--storage", storage))
    assert "etcd" in line and "answered" in line, line
    # A prefix that holds another volume.
    url = etcd3.url("taken")
    assert run_strata(strata, "format", url, "first", "--storage", storage).returncode == 0
    line = one_line_error(run_strata(strata, "format", url, "second", "--storage",
                                     f"file://{tmp_path}/data2"))
    assert "first" in line, line
    st = run_strata(strata, "status", url)
    assert st.returncode == 0 and "first" in st.stdout, st.stdout + st.stderr
    # A prefix holding keys of another program.
    etcd3.post(0, "/v3/kv/put", {"key": "Zm9yZWlnbi9jb25m", "value": "eA=="})  # foreign/conf
    line = one_line_error(run_strata(strata, "format", etcd3.url("foreign"), "x", "--storage",
                                     f"file://{tmp_path}/data3"))
    assert "not a strata volume" in line, line
    got = etcd3.post(0, "/v3/kv/range", {"key": "Zm9yZWlnbi8=", "range_end": "Zm9yZWlnbjA="})
    assert int(got.get("count", 0)) == 1, got


def test_postgres_bad_urls_get_one_line_and_change_nothing(strata, pg, tmp_path):
    storage = f"file://{tmp_path}/data"
    # A database without the table: status and mount refuse, and no table appears.
    pg.psql("CREATE DATABASE empty")
    line = one_line_error(run_strata(strata, "status", pg.url("empty")))
    assert "not formatted" in line, line
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    line = one_line_error(run_strata(strata, "mount", "-d", pg.url("empty"), str(mnt)))
    assert "not formatted" in line, line
    assert pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'kv'", "empty") == "0\n"
    # A missing database, an unreachable server.
    line = one_line_error(run_strata(strata, "format", pg.url("nosuchdb"), "x", "--storage",
                                     storage))
    assert "nosuchdb" in line, line
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/x"
    line = one_line_error(run_strata(strata, "format", dead, "x", "--storage", storage))
    assert "postgres" in line, line
    # A wrong password (a server that asks for one).
    locked = Postgres(tmp_path, password="right-pw").start()
    try:
        line = one_line_error(run_strata(strata, "format", locked.url("postgres", "wrong-pw"),
                                         "x", "--storage", storage))
        assert "password" in line and "wrong-pw" not in line, line
        assert locked.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'kv'") == "0\n"
        ok = run_strata(strata, "format", locked.url("postgres", "right-pw"), "x", "--storage",
                        storage)
        assert ok.returncode == 0, ok.stderr
    finally:
        locked.close()
