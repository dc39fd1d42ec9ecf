"""`strata format`, `strata status`, `strata config` as a user runs them (issue 3), on SQLite
and on Redis (a redis-server started here), with a file:// store: what they write, what they
show, and a one-line error, a non-zero exit and nothing written for each kind of bad input."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import (RUN_TIMEOUT, assert_one_line_error, clean_env, free_port, start_redis,
                      stop, tree_snapshot)

SECRET = "s3cr3t-Do-Not-Print-42"
_db_counter = [0]


class Meta:
    """One metadata location of the engine under test, and how to prove nothing was written."""

    def __init__(self, engine, tmp_path, redis=None, tag="m"):
        self.engine, self.redis = engine, redis
        if engine == "sqlite":
            self.dir = tmp_path / f"meta-{tag}"
            self.dir.mkdir()
            self.url = f"sqlite3://{self.dir}/meta.db"
        else:
            _db_counter[0] += 1
            self.db = _db_counter[0] % 16
            redis.cli("flushdb", db=self.db)
            self.url = redis.url(self.db)

    def snapshot(self):
        if self.engine == "sqlite":
            return tree_snapshot(str(self.dir))
        return self.redis.keys(self.db)

    def empty(self):
        return self.snapshot() in ({}, [])

    def assert_untouched(self, context=""):
        """Nothing written."""
        snap = self.snapshot()
        assert snap in ({}, []), (context, snap)


@pytest.fixture(params=["sqlite", "redis"])
def engine(request):
    return request.param


@pytest.fixture
def make_meta(engine, tmp_path, request):
    redis = request.getfixturevalue("redis") if engine == "redis" else None
    count = [0]

    def make():
        count[0] += 1
        return Meta(engine, tmp_path, redis, tag=str(count[0]))
    return make


@pytest.fixture
def meta(make_meta):
    return make_meta()


@pytest.fixture
def store(tmp_path):
    return tmp_path / "data"


def status(strata, url):
    r = strata.ok("status", url)
    assert SECRET not in r.stdout + r.stderr, r
    return json.loads(r.stdout)


def format_vol(strata, meta, store, *extra, name="vol"):
    return strata("format", meta.url, name, "--storage", f"file://{store}", *extra)


def test_format_then_status(strata, meta, store):
    r = format_vol(strata, meta, store, "--access-key", "AKID", "--secret-key", SECRET,
                   "--trash-days", "3", "--capacity", "5", "--inodes", "1000")
    assert r.returncode == 0, r
    assert SECRET not in r.stdout + r.stderr, r
    assert not meta.empty()
    # The store holds NAME/strata.uuid, naming the volume's uuid.
    uuid = (store / "vol" / "strata.uuid").read_text()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        uuid), uuid
    assert uuid in r.stdout, r

    st = status(strata, meta.url)
    s = st["setting"]
    assert s["name"] == "vol" and s["uuid"] == uuid
    assert s["storage"] == f"file://{store}"
    assert s["block_size"] == 4 << 20 and s["compression"] == "none"
    assert s["trash_days"] == 3 and s["capacity_bytes"] == 5 << 30 and s["max_inodes"] == 1000
    assert s["access_key"] == "AKID" and s["secret_key"] == "****"
    assert st["sessions"] == []
    assert st["usage"]["used_bytes"] == 0


def test_config_changes_settings(strata, meta, store):
    assert format_vol(strata, meta, store, "--secret-key", SECRET).returncode == 0
    before = status(strata, meta.url)["setting"]
    assert before["trash_days"] == 1 and before["capacity_bytes"] == 0  # the defaults

    r = strata.ok("config", meta.url, "--trash-days", "7", "--capacity", "10", "--inodes", "500")
    assert SECRET not in r.stdout + r.stderr, r
    after = status(strata, meta.url)["setting"]
    assert after["trash_days"] == 7
    assert after["capacity_bytes"] == 10 << 30
    assert after["max_inodes"] == 500
    # What may not change stays as it was.
    for k in ("name", "uuid", "block_size", "compression", "storage"):
        assert after[k] == before[k], k

    # Back to unlimited and no trash: zero is a value, not "unchanged".
    strata.ok("config", meta.url, "--trash-days", "0", "--capacity", "0", "--inodes", "0")
    after = status(strata, meta.url)["setting"]
    assert (after["trash_days"], after["capacity_bytes"], after["max_inodes"]) == (0, 0, 0)

    # Without a flag, config shows the settings and changes nothing.
    r = strata.ok("config", meta.url)
    assert json.loads(r.stdout)["trash_days"] == 0 and SECRET not in r.stdout

    r = strata("config", meta.url, "--trash-days", "-1")
    assert_one_line_error(r, "trash")
    r = strata("config", meta.url, "--capacity", str(1 << 40))  # GiB: would wrap around
    assert_one_line_error(r, "--capacity")
    after = status(strata, meta.url)["setting"]
    assert after["trash_days"] == 0 and after["capacity_bytes"] == 0


def test_reformat_needs_force_for_another_block_size(strata, meta, store, engine):
    assert format_vol(strata, meta, store).returncode == 0
    uuid_file = store / "vol" / "strata.uuid"
    uuid = uuid_file.read_text()
    # The same settings again: accepted, same volume.
    assert format_vol(strata, meta, store).returncode == 0
    assert uuid_file.read_text() == uuid

    before = meta.snapshot() if engine == "sqlite" else None
    r = format_vol(strata, meta, store, "--block-size", "1M")
    assert_one_line_error(r, "block size", "--force")
    if before is not None:
        assert meta.snapshot() == before
    assert status(strata, meta.url)["setting"]["block_size"] == 4 << 20

    r = format_vol(strata, meta, store, "--compress", "zstd")
    assert_one_line_error(r, "compression", "--force")
    assert status(strata, meta.url)["setting"]["compression"] == "none"

    r = format_vol(strata, meta, store, "--block-size", "1M", "--force")
    assert r.returncode == 0, r
    s = status(strata, meta.url)["setting"]
    assert s["block_size"] == 1 << 20 and s["uuid"] == uuid
    assert uuid_file.read_text() == uuid


def test_second_volume_on_the_same_store_prefix_refused(strata, make_meta, store):
    first, second = make_meta(), make_meta()
    assert format_vol(strata, first, store).returncode == 0
    data_before = tree_snapshot(str(store))
    r = format_vol(strata, second, store)
    assert_one_line_error(r, "vol/", "already")
    assert tree_snapshot(str(store)) == data_before
    # Another name (another prefix) in the same store is a volume of its own.
    third = make_meta()
    r = format_vol(strata, third, store, name="other")
    assert r.returncode == 0, r
    assert (store / "other" / "strata.uuid").read_text() != (store / "vol" /
                                                            "strata.uuid").read_text()
    second.assert_untouched()


def test_bad_format_arguments_write_nothing(strata, meta, store):
    for extra, named in [(["--block-size", "3M"], "block size"),
                         (["--block-size", "4X"], "block size"),
                         (["--compress", "brotli"], "brotli"),
                         (["--trash-days", "-2"], "trash"),
                         (["--capacity", str(1 << 40)], "--capacity")]:
        r = format_vol(strata, meta, store, *extra)
        assert_one_line_error(r, named)
        assert meta.empty(), (extra, meta.snapshot())
        assert tree_snapshot(str(store)) is None, extra
    r = format_vol(strata, meta, store, name="bad/name")
    assert_one_line_error(r, "bad/name")
    r = strata("format", meta.url, "vol", "--storage", "ftp://host/x")
    assert_one_line_error(r, "ftp")
    assert meta.empty()


@pytest.mark.parametrize("url,named", [
    ("bogus://127.0.0.1/x", "bogus"),
    ("sqlite3:/no/slashes.db", "sqlite3:/no/slashes.db"),
    ("redis://127.0.0.1:99999/0", "port"),
    ("redis://127.0.0.1:12ab/0", "port"),
    ("just-a-path.db", "scheme"),
])
def test_malformed_or_unknown_meta_url(strata, tmp_path, url, named):
    store = tmp_path / "data"
    before = tree_snapshot(str(tmp_path))
    for args in (["format", url, "vol", "--storage", f"file://{store}"], ["status", url],
                 ["config", url, "--trash-days", "2"]):
        r = strata(*args)
        assert_one_line_error(r, named)
    assert tree_snapshot(str(tmp_path)) == before
    assert not os.path.exists("just-a-path.db")


def test_unreachable_redis(strata, tmp_path):
    port = free_port()  # nothing listens there
    url = f"redis://127.0.0.1:{port}/0"
    store = tmp_path / "data"
    for args in (["format", url, "vol", "--storage", f"file://{store}"], ["status", url],
                 ["config", url, "--capacity", "1"]):
        r = strata(*args)
        assert_one_line_error(r, f"127.0.0.1:{port}")
        assert r.seconds < min(30, RUN_TIMEOUT), r  # a hang guard, not a timing claim
    assert tree_snapshot(str(store)) is None


def test_unformatted_volume(strata, meta, tmp_path):
    for args in (["status", meta.url], ["config", meta.url, "--trash-days", "2"]):
        r = strata(*args)
        assert_one_line_error(r, "not formatted")
    meta.assert_untouched()


def test_unformatted_existing_sqlite_file(strata, tmp_path):
    """An empty database file (e.g. made by `touch`) is an unformatted volume, left as it was."""
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    for args in (["status", f"sqlite3://{db}"], ["config", f"sqlite3://{db}", "--capacity", "1"]):
        r = strata(*args)
        assert_one_line_error(r, "not formatted")
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]
    assert db.read_bytes() == b""


def test_mount_and_gateway_of_missing_sqlite_file_create_nothing(strata, tmp_path):
    """Mounting (or serving) a volume whose database file does not exist is a one-line error,
    and no empty database is left behind for the next command to trip over."""
    db = tmp_path / "missing.db"
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    for args in (["mount", f"sqlite3://{db}", str(mnt)],
                 ["gateway", f"sqlite3://{db}", "127.0.0.1:1", "--access-key", "k",
                  "--secret-key", "s" * 16]):
        r = strata(*args)
        assert_one_line_error(r, "not formatted")
    assert sorted(os.listdir(tmp_path)) == ["mnt"]


def test_meta_url_from_environment(strata, meta, tmp_path):
    """`env:NAME` stands for the URL held by $NAME (keeps a password out of ps)."""
    store = tmp_path / "data"
    env = clean_env()
    env["MY_META"] = meta.url
    strata.ok("format", "env:MY_META", "envvol", "--storage", f"file://{store}", env=env)
    r = strata.ok("status", "env:MY_META", env=env)
    assert "envvol" in r.stdout
    for arg, why in (("env:UNSET_VAR", "UNSET_VAR is not set"),
                     ("env:", "variable name"), ("env:1A", "variable name")):
        r = strata("status", arg, env=env)
        assert r.returncode != 0 and why in r.stderr, r


def test_redis_that_evicts_keys_refused(strata, tmp_path):
    server = start_redis(tmp_path / "r", "--maxmemory", "64mb",
                         "--maxmemory-policy", "allkeys-lru")
    try:
        url = server.url(0)
        store = tmp_path / "data"
        for args in (["format", url, "vol", "--storage", f"file://{store}"], ["status", url],
                     ["config", url, "--capacity", "1"]):
            r = strata(*args)
            assert_one_line_error(r, "allkeys-lru")
        assert server.total_keys() == 0
        assert tree_snapshot(str(store)) is None
    finally:
        stop(server.proc)


def test_redis_password_masked_in_status(strata, tmp_path):
    server = start_redis(tmp_path / "r", "--requirepass", SECRET)
    try:
        url = f"redis://:{SECRET}@127.0.0.1:{server.port}/0"
        store = tmp_path / "data"
        r = strata("format", url, "vol", "--storage", f"file://{store}")
        assert r.returncode == 0, r
        assert SECRET not in r.stdout + r.stderr, r
        assert status(strata, url)["setting"]["name"] == "vol"
        # A wrong password is refused in one line that does not echo it.
        r = strata("status", f"redis://:wrong-pw@127.0.0.1:{server.port}/0")
        assert_one_line_error(r)
        assert "wrong-pw" not in r.stderr
    finally:
        stop(server.proc)


def _mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def test_status_lists_live_sessions(strata, meta, store, tmp_path):
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.skip("mounting needs root and /dev/fuse")
    assert format_vol(strata, meta, store).returncode == 0
    mp = tmp_path / "mnt"
    mp.mkdir()
    r = strata("mount", "-d", "--log", tmp_path / "mount.log", meta.url, mp)
    assert r.returncode == 0, r
    m = re.search(r"\(pid (\d+)\)", r.stdout)
    assert m, r
    pid = int(m.group(1))
    try:
        sessions = status(strata, meta.url)["sessions"]
        assert len(sessions) == 1, sessions
        assert sessions[0]["mount_point"] == str(mp)
        assert sessions[0]["pid"] == pid
        assert sessions[0]["host"]
    finally:
        if _mounted(str(mp)):
            subprocess.run([strata.path, "umount", str(mp)], capture_output=True, timeout=30)
        deadline = time.time() + 20
        while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.05)
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, 9)
    assert status(strata, meta.url)["sessions"] == []


def test_store_errors_write_nothing(strata, meta, s3rver, tmp_path):
    """The store is checked before anything is written: a missing bucket, a refused key, an
    unreachable endpoint or missing credentials leave the metadata engine as it was."""
    keys = ["--access-key", "S3RVER", "--secret-key", SECRET]
    name = f"vol-{meta.engine}"  # the bucket is shared by the tests of this module
    port = free_port()
    for storage, extra, named in [
            (f"{s3rver.endpoint}/no-such-bucket", keys, "no-such-bucket"),
            (f"{s3rver.endpoint}/{s3rver.bucket}",
             ["--access-key", "NOTAKEY", "--secret-key", SECRET], "403"),
            (f"http://127.0.0.1:{port}/{s3rver.bucket}", keys, f"127.0.0.1:{port}"),
            (f"{s3rver.endpoint}/{s3rver.bucket}", [], "credentials")]:
        # No AWS_* variables and no ~/.aws/credentials to fall back on.
        r = strata("format", meta.url, name, "--storage", storage, *extra,
                   env=clean_env(HOME=str(tmp_path)))
        assert_one_line_error(r, named)
        assert SECRET not in r.stderr, r
        assert r.seconds < min(30, RUN_TIMEOUT), r  # a hang guard, not a timing claim
    # And with a working store the same command formats the volume there.
    meta.assert_untouched()
    r = strata("format", meta.url, name, "--storage", f"{s3rver.endpoint}/{s3rver.bucket}",
               *keys)
    assert r.returncode == 0, r
    assert status(strata, meta.url)["setting"]["secret_key"] == "****"


def test_status_says_how_durable_the_engine_is(strata, redis, tmp_path):
    """A Redis that persists nothing is named at format (a warning) and in status."""
    url = redis.url(5)
    redis.cli("flushdb", db=5)
    store = tmp_path / "store"
    r = strata("format", url, "vol", "--storage", f"file://{store}")
    assert r.returncode == 0, r
    assert "warning" in r.stderr and "appendonly" in r.stderr, r
    s = status(strata, url)["metadata"]
    assert s["survives_restart"] is False, s
    assert "persists nothing" in s["durability"], s


def test_status_of_sqlite_is_durable(strata, tmp_path):
    url = f"sqlite3://{tmp_path}/meta.db"
    r = strata("format", url, "vol", "--storage", f"file://{tmp_path}/store")
    assert r.returncode == 0 and "warning" not in r.stderr, r
    s = status(strata, url)["metadata"]
    assert s["survives_restart"] is True and "WAL" in s["durability"], s
