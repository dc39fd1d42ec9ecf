"""Virtual files at the mount root: .stats (metrics text), .config (options as JSON) and
.accesslog (one line per operation while it is open). None can be changed, and no listing
shows them."""
import errno
import json
import os
import select
import subprocess
import time

import pytest

NAMES = [".stats", ".accesslog", ".config"]


def parse_prometheus(text):
    from prometheus_client.parser import text_string_to_metric_families
    samples = {}
    for family in text_string_to_metric_families(text):  # raises on malformed text
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_stats_and_config_read_back(fresh_volume):
    pytest.importorskip("prometheus_client")
    m = fresh_volume.mount(None, "--buffer-size", "64M", "--max-uploads", "7")
    with open(os.path.join(m.path, "one"), "wb") as f:
        f.write(b"x" * 5000)
    with open(os.path.join(m.path, ".stats")) as f:
        text = f.read()
    samples = parse_prometheus(text)
    labels = {"volume": "testvol", "mount_point": m.path}
    key = ("strata_fuse_ops_total", tuple(sorted({**labels, "op": "create"}.items())))
    assert samples.get(key) == 1, sorted(k for k in samples if k[0] == "strata_fuse_ops_total")
    key = ("strata_fuse_written_bytes_total", tuple(sorted(labels.items())))
    assert samples.get(key) == 5000
    # stat() reports the text's length, and reading it again gives a fresh text.
    assert os.stat(os.path.join(m.path, ".stats")).st_size > 0

    with open(os.path.join(m.path, ".config")) as f:
        cfg = json.load(f)
    assert cfg["volume"] == "testvol"
    assert cfg["mount_point"] == m.path
    assert cfg["writer"]["buffer_size"] == 64 << 20
    assert cfg["writer"]["max_uploads"] == 7
    assert cfg["meta_url"] == fresh_volume.meta_url  # no password in a sqlite3 URL


def test_virtual_files_are_hidden_and_permanent(fresh_volume):
    m = fresh_volume.mount()
    root = m.path
    open(os.path.join(root, "plain"), "w").close()
    listed = os.listdir(root)
    assert listed == ["plain"], listed
    assert {e.name for e in os.scandir(root)} == {"plain"}
    ls = subprocess.run(["ls", "-a", root], capture_output=True, text=True, check=True)
    assert sorted(ls.stdout.split()) == [".", "..", "plain"], ls.stdout

    for name in NAMES:
        p = os.path.join(root, name)
        assert os.path.isfile(p)
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_RDWR | os.O_APPEND):
            with pytest.raises(OSError) as e:
                os.close(os.open(p, flags))
            assert e.value.errno in (errno.EPERM, errno.EACCES), (name, flags)
        with pytest.raises(FileExistsError):
            os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        with pytest.raises(FileExistsError):
            os.mkdir(p)
        with pytest.raises(PermissionError):
            os.unlink(p)
        with pytest.raises(PermissionError):
            os.rename(p, os.path.join(root, "moved"))
        with pytest.raises(PermissionError):
            os.rename(os.path.join(root, "plain"), p)
        with pytest.raises(PermissionError):
            os.chmod(p, 0o666)
        with pytest.raises(PermissionError):
            os.chown(p, 1, 1)
        with pytest.raises(OSError) as e:
            os.truncate(p, 0)
        assert e.value.errno in (errno.EPERM, errno.EACCES)
        with pytest.raises(PermissionError):
            os.utime(p, (1, 1))
        with pytest.raises(PermissionError):
            os.link(p, os.path.join(root, "hard"))
        with pytest.raises(PermissionError):
            os.setxattr(p, "user.x", b"1")
        with pytest.raises(OSError):
            os.rmdir(p)
        assert os.path.exists(p)
    assert sorted(os.listdir(root)) == ["plain"]
    # Still there and still readable after all that.
    with open(os.path.join(root, ".config")) as f:
        assert json.load(f)["volume"] == "testvol"


class LogReader:
    """`cat .accesslog` in a child process; lines collected with a deadline."""

    def __init__(self, path):
        self.proc = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
        self.buf = b""
        self.lines = []

    def until(self, pred, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.lines:
                if pred(line):
                    return line
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.buf += chunk
                *done, self.buf = self.buf.split(b"\n")
                self.lines += [d.decode() for d in done]
        raise AssertionError(f"no matching line in {self.lines[-20:]}")

    def close(self):
        self.proc.kill()
        self.proc.wait(10)


def stats_value(m, name):
    """One unlabelled-by-op series from .stats (parsed, not grepped)."""
    with open(os.path.join(m.path, ".stats")) as f:
        for sample in parse_prometheus(f.read()).items():
            if sample[0][0] == name:
                return sample[1]
    raise AssertionError(f"{name} not in .stats")


def fields(line):
    return line.split("\t")


def test_accesslog_shows_operations_while_open_and_keeps_nothing_after(fresh_volume):
    pytest.importorskip("prometheus_client")
    m = fresh_volume.mount()
    log = os.path.join(m.path, ".accesslog")
    r = LogReader(log)
    try:
        r.until(lambda l: l.startswith("# strata accesslog v1"))
        path = os.path.join(m.path, "probe-one")
        with open(path, "wb") as f:
            f.write(b"y" * 1234)
        os.stat(path)
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(m.path, "no-such-name"))
        os.unlink(path)
        create = r.until(lambda l: "\tcreate\t" in l and '"probe-one"' in l)
        f = fields(create)
        assert len(f) == 8, f
        assert f[1] == str(os.getuid()) and f[2] == str(os.getgid())
        assert int(f[3]) > 0  # the caller's pid
        assert f[6] == "OK"
        assert 0 <= float(f[7]) < 60
        assert f[0].endswith("Z") and f[0][:4].isdigit()
        write = r.until(lambda l: "\twrite_buf\t" in l)
        assert fields(write)[5].endswith(",1234") or ",1234," in fields(write)[5], write
        miss = r.until(lambda l: "\tlookup\t" in l and '"no-such-name"' in l)
        assert fields(miss)[6] == "ENOENT"
        r.until(lambda l: "\tunlink\t" in l and '"probe-one"' in l)
        # Its own reads are not logged (they would wake themselves forever).
        assert not any("\tread\t" in l and str(0x7FFFFFFF00000002) in l for l in r.lines)
    finally:
        r.close()

    # Nobody reads now (the kernel's release of the killed reader may trail a little): what
    # happens meanwhile is neither formatted nor kept.
    deadline = time.time() + 10
    while stats_value(m, "strata_accesslog_readers") != 0 and time.time() < deadline:
        time.sleep(0.05)
    assert stats_value(m, "strata_accesslog_readers") == 0
    open(os.path.join(m.path, "while-closed"), "w").close()
    os.stat(os.path.join(m.path, "while-closed"))
    assert stats_value(m, "strata_accesslog_lines") == 0
    r = LogReader(log)
    try:
        r.until(lambda l: l.startswith("# strata accesslog v1"))
        os.stat(os.path.join(m.path, "."))
        open(os.path.join(m.path, "marker-after"), "w").close()
        r.until(lambda l: '"marker-after"' in l)
        assert not any("while-closed" in l for l in r.lines), r.lines
    finally:
        r.close()


def test_two_readers_each_get_every_line(fresh_volume):
    m = fresh_volume.mount()
    log = os.path.join(m.path, ".accesslog")
    a, b = LogReader(log), LogReader(log)
    try:
        for r in (a, b):
            r.until(lambda l: l.startswith("# strata accesslog v1"))
        os.mkdir(os.path.join(m.path, "both-see-this"))
        for r in (a, b):
            r.until(lambda l: "\tmkdir\t" in l and '"both-see-this"' in l)
    finally:
        a.close()
        b.close()


def test_stats_of_a_writeback_mount_show_its_staging(fresh_volume, tmp_path):
    pytest.importorskip("prometheus_client")
    m = fresh_volume.mount(None, "--writeback", "--writeback-dir", str(tmp_path / "staging"))
    with open(os.path.join(m.path, "wb"), "wb") as f:
        f.write(os.urandom(100 << 10))
    with open(os.path.join(m.path, ".stats")) as f:
        samples = parse_prometheus(f.read())
    names = {k[0] for k in samples}
    for name in ("strata_staging_bytes", "strata_staging_blocks", "strata_staging_uploading",
                 "strata_staging_upload_errors_total"):
        assert name in names, sorted(n for n in names if "staging" in n)
    tiers = {dict(k[1]).get("tier") for k in samples if k[0] == "strata_cache_hits_total"}
    assert "staging" in tiers, tiers  # the staging tier, counted by its name
    # The staged bytes are those not yet uploaded: never more than what was written.
    staged = [v for k, v in samples.items() if k[0] == "strata_staging_bytes"]
    assert len(staged) == 1 and 0 <= staged[0] <= 100 << 10
