"""The trash through a real mount: an unlinked file shows in `strata trash list`, comes back
with its content by `strata trash restore`, and its owner (not only root) restores it with
`mv` out of /.trash/HOUR while another user cannot, and nobody can create inside the trash."""
import errno
import json
import os

import pytest

from conftest import Volume
from test_posix import in_child

ALICE, BOB = 1000, 1001


@pytest.fixture
def trash_volume(strata, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("own SQLite + file:// volume")
    os.chmod(tmp_path, 0o755)
    vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db",
                 f"file://{tmp_path}/data", [])
    vol.run("format", vol.meta_url, "trashvol", "--storage", vol.storage, "--trash-days", "1")
    # No kernel caches: the CLI changes the namespace behind the mount's back.
    m = vol.mount(None, "--entry-timeout", "0", "--attr-timeout", "0")
    yield vol, m
    vol.close()


def trash_list(vol, *extra):
    return json.loads(vol.run("trash", "list", vol.meta_url, "--json", *extra).stdout)


def test_list_and_restore_with_the_cli(trash_volume):
    vol, m = trash_volume
    d = os.path.join(m.path, "docs")
    os.mkdir(d)
    os.mkdir(os.path.join(m.path, "other"))
    data = os.urandom(300_000)
    with open(os.path.join(d, "report.bin"), "wb") as f:
        f.write(data)
    os.unlink(os.path.join(d, "report.bin"))
    assert not os.path.exists(os.path.join(d, "report.bin"))

    entries = trash_list(vol)
    assert len(entries) == 1
    e = entries[0]
    assert (e["name"], e["parent"], e["size"], e["uid"]) == ("report.bin", "/docs", 300_000, 0)
    assert os.path.exists(os.path.join(m.path, ".trash", e["entry"]))
    assert trash_list(vol, "--path", "/docs") == entries
    assert trash_list(vol, "--path", "/other") == []
    text = vol.run("trash", "list", vol.meta_url).stdout
    assert e["entry"] in text and "/docs/report.bin" in text

    # The name is taken: refused in one line, nothing moves.
    open(os.path.join(d, "report.bin"), "w").close()
    r = vol.run("trash", "restore", vol.meta_url, e["entry"], check=False)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "already exists" in r.stderr
    assert len(trash_list(vol)) == 1
    os.unlink(os.path.join(d, "report.bin"))  # an empty file: trashed too
    assert len(trash_list(vol)) == 2

    r = vol.run("trash", "restore", vol.meta_url, e["entry"])
    assert "/docs/report.bin" in r.stdout
    with open(os.path.join(d, "report.bin"), "rb") as f:
        assert f.read() == data
    assert [x["size"] for x in trash_list(vol)] == [0]

    # --to: into another directory.
    empty = trash_list(vol)[0]
    vol.run("trash", "restore", vol.meta_url, "/.trash/" + empty["entry"], "--to", "/other")
    assert os.path.getsize(os.path.join(m.path, "other", "report.bin")) == 0
    assert trash_list(vol) == []
    r = vol.run("trash", "restore", vol.meta_url, empty["entry"], check=False)
    assert r.returncode == 1 and "no trash entry" in r.stderr


def become(uid, cwd):
    """In a forked child: cd to cwd (the test's parents are root-only), then drop to uid."""
    os.chdir(cwd)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def try_errno(fn):
    try:
        fn()
    except OSError as err:
        return err.errno
    return 0


def test_owner_restores_with_mv_and_others_cannot(trash_volume):
    vol, m = trash_volume
    os.mkdir(os.path.join(m.path, "home"))
    os.chmod(os.path.join(m.path, "home"), 0o777)
    path = "home/mine.txt"  # paths relative to the mount root from here on

    def write_and_remove():
        become(ALICE, m.path)
        with open(path, "wb") as f:
            f.write(b"alice's data")
        os.unlink(path)
        return 0

    assert in_child(write_and_remove) == 0
    [e] = trash_list(vol)
    assert e["uid"] == ALICE
    trashed = os.path.join(".trash", e["entry"])
    hour_dir = os.path.dirname(trashed)
    os.chdir(m.path)  # root's own checks below use the same relative paths
    try:
        assert os.stat(hour_dir).st_mode & 0o7777 == 0o1777

        def as_user(uid, fn):
            def child():
                become(uid, m.path)
                return try_errno(fn)
            return in_child(child)

        # Bob: the sticky rule refuses moving or removing alice's file.
        assert as_user(BOB, lambda: os.rename(trashed, "home/x")) in (errno.EPERM, errno.EACCES)
        assert as_user(BOB, lambda: os.unlink(trashed)) in (errno.EPERM, errno.EACCES)
        # Nobody, root included, creates or moves anything into the trash.
        for who in (ALICE, BOB):
            assert as_user(who, lambda: open(os.path.join(hour_dir, "new"), "w")) == errno.EPERM
        assert try_errno(lambda: open(os.path.join(hour_dir, "new"), "w")) == errno.EPERM
        assert try_errno(lambda: os.mkdir(os.path.join(hour_dir, "d"))) == errno.EPERM
        assert try_errno(lambda: os.rename("home", os.path.join(hour_dir, "h"))) == errno.EPERM
        assert os.path.exists(trashed)

        # Alice restores her file with mv.
        assert as_user(ALICE, lambda: os.rename(trashed, path)) == 0
        with open(path, "rb") as f:
            assert f.read() == b"alice's data"
        assert os.stat(path).st_uid == ALICE
        assert trash_list(vol) == []
    finally:
        os.chdir("/")


def test_subdir_mount_sees_only_its_own_trash(trash_volume, tmp_path):
    """Under --subdir, .trash at the mount root is the trash of that subtree only: a tenant
    finds and restores its own deleted files and never sees another tenant's."""
    vol, m = trash_volume
    for t in ("tenant-a", "tenant-b"):
        os.makedirs(os.path.join(m.path, t, "work"))
        with open(os.path.join(m.path, t, "work", f"{t}.txt"), "w") as f:
            f.write(f"data of {t}")
        os.unlink(os.path.join(m.path, t, "work", f"{t}.txt"))
    a = vol.mount(str(tmp_path / "a"), "--subdir", "tenant-a", "--entry-timeout", "0",
                  "--attr-timeout", "0")
    try:
        trash = os.path.join(a.path, ".trash")
        hours = os.listdir(trash)
        assert len(hours) == 1, hours
        entries = os.listdir(os.path.join(trash, hours[0]))
        assert len(entries) == 1 and entries[0].endswith("-tenant-a.txt"), entries
        # The other tenant's entry is not reachable by name either.
        b_entry = [e["entry"] for e in trash_list(vol) if e["name"] == "tenant-b.txt"][0]
        assert not os.path.exists(os.path.join(trash, b_entry))
        # ".." of the trash is the mounted root, never the volume's.
        assert sorted(os.listdir(os.path.join(trash, ".."))) == ["work"]
        # Restore by mv, inside the subtree.
        os.rename(os.path.join(trash, hours[0], entries[0]),
                  os.path.join(a.path, "work", "tenant-a.txt"))
        with open(os.path.join(a.path, "work", "tenant-a.txt")) as f:
            assert f.read() == "data of tenant-a"
    finally:
        a.unmount()
        vol.mounts.remove(a)
