"""`strata fsck` and `strata gc` on bad input: a malformed or unknown META_URL, an unformatted
volume, a store that cannot be used. Each is one line on stderr, exit status 2, and nothing
written. (Checks of real volumes written through a mount are in tests/mount/test_fsck_gc.py.)
"""
import os

import pytest

from conftest import RUN_TIMEOUT, assert_one_line_error, stop, tree_snapshot

COMMANDS = [["fsck"], ["fsck", "--repair"], ["fsck", "--path", "/a"], ["gc"],
            ["gc", "--delete", "--age", "0s"]]


def run_all(strata, url, *words):
    for cmd in COMMANDS:
        r = strata(cmd[0], url, *cmd[1:])
        assert_one_line_error(r, *words)
        assert r.returncode == 2, r


@pytest.mark.parametrize("url,named", [
    ("nosuch://host/x", "nosuch"),
    ("sqlite3:/no/slashes.db", "sqlite3:/no/slashes.db"),
    ("redis://127.0.0.1:99999/0", "port"),
    ("just-a-path.db", "scheme"),
])
def test_malformed_meta_url(strata, tmp_path, url, named):
    before = tree_snapshot(str(tmp_path))
    run_all(strata, url, named)
    assert tree_snapshot(str(tmp_path)) == before
    assert not os.path.exists("just-a-path.db")


def test_unformatted_volume(strata, tmp_path):
    missing = tmp_path / "missing.db"
    run_all(strata, f"sqlite3://{missing}", "not formatted")
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    run_all(strata, f"sqlite3://{empty}", "not formatted")
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]
    assert empty.read_bytes() == b""


def test_unusable_store(strata, tmp_path):
    db, data = tmp_path / "meta.db", tmp_path / "data"
    strata.ok("format", f"sqlite3://{db}", "vol", "--storage", f"file://{data}")
    # The store's directory replaced by a plain file: the volume's store cannot be used.
    os.rename(data, tmp_path / "data.moved")
    data.write_bytes(b"not a directory")
    before = tree_snapshot(str(tmp_path))
    run_all(strata, f"sqlite3://{db}", "object store", str(data))
    assert tree_snapshot(str(tmp_path)) == before
    # Put back, the same volume is clean.
    data.unlink()
    os.rename(tmp_path / "data.moved", data)
    r = strata.ok("fsck", f"sqlite3://{db}")
    assert "fsck: clean" in r.stdout, r


def test_bad_options(strata, tmp_path):
    db, data = tmp_path / "meta.db", tmp_path / "data"
    strata.ok("format", f"sqlite3://{db}", "vol", "--storage", f"file://{data}")
    for args, named in [(["--age", "5x"], "--age"), (["--age", "-1h"], "--age"),
                        (["--threads", "0"], "--threads")]:
        r = strata("gc", f"sqlite3://{db}", *args)
        assert_one_line_error(r, named)
        assert r.returncode == 2, r
    r = strata("fsck", f"sqlite3://{db}", "--path", "/no/such/dir")
    assert_one_line_error(r, "/no/such/dir")
    assert r.returncode == 2, r


def test_unreachable_store(strata, tmp_path, s3rver):
    """The volume's S3 endpoint stops answering: one line naming it, exit 2, within the I/O
    budget; the metadata is left as it was."""
    db = tmp_path / "meta.db"
    url = f"sqlite3://{db}"
    strata.ok("format", url, "vol-unreachable", "--storage", f"{s3rver.endpoint}/{s3rver.bucket}",
              "--access-key", "S3RVER", "--secret-key", "S3RVER")
    r = strata.ok("fsck", url)
    assert "fsck: clean" in r.stdout, r
    stop(s3rver.proc)  # the last test of the module that uses it
    before = tree_snapshot(str(tmp_path))
    for cmd in (["fsck", "--repair"], ["gc", "--delete", "--age", "0s"]):  # each retries ~9 s
        r = strata(cmd[0], url, *cmd[1:])
        assert_one_line_error(r, f"127.0.0.1:{s3rver.port}")
        assert r.returncode == 2, r
        assert r.seconds < RUN_TIMEOUT, r  # a hang guard, not a timing claim
    assert tree_snapshot(str(tmp_path)) == before
