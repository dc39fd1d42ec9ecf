"""The promises of issue 8 through a real mount: write errors reach every descriptor that was
open when they happened (a read-only descriptor closing first, or another descriptor's
truncate, cannot hide them: errseq semantics), fstat of an unlinked open file reports nlink 0,
fsync of a directory succeeds, and an O_SYNC/O_DSYNC write() is durable when it returns (the
mount process SIGKILLed right after it)."""
import errno
import mmap
import os
import subprocess
import time

import pytest

from conftest import Volume

MiB = 1 << 20


@pytest.fixture
def full_store_volume(strata, backend, tmp_path):
    """SQLite metadata on the ordinary disk, blocks on a 20 MiB tmpfs (file://) that a 30 MiB
    write overflows."""
    if backend != "sqlite":
        pytest.skip("own file:// store on a tmpfs")
    store = tmp_path / "store"
    store.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(store)], check=True)
    vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db", f"file://{store}", [])
    try:
        vol.format()
        yield vol
    finally:
        vol.close()
        subprocess.run(["umount", "-l", str(store)], check=False)


def overflow(fd, size=30 * MiB):
    """Writes until the store is full; write() itself may already fail with ENOSPC."""
    chunk = os.urandom(MiB)
    try:
        for _ in range(size // MiB):
            os.write(fd, chunk)
    except OSError as e:
        assert e.errno in (errno.ENOSPC, errno.EIO), e
    # Let the upload failures be recorded before anything closes (freeze timers are ~1 s):
    # the bug this guards against was an early close taking the error away.
    time.sleep(2)


def close_error(fd):
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    return 0


@pytest.mark.full_only
def test_read_only_close_first_leaves_the_error_to_the_writer(full_store_volume):
    m = full_store_volume.mount()
    path = os.path.join(m.path, "big")
    w = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    r = os.open(path, os.O_RDONLY)
    overflow(w)
    assert close_error(r) == 0
    assert close_error(w) in (errno.ENOSPC, errno.EIO)
    # The failed slices' blocks were deleted: the store has room again, and a new file works.
    with open(os.path.join(m.path, "small"), "wb") as f:
        f.write(b"fits")
    with open(os.path.join(m.path, "small"), "rb") as f:
        assert f.read() == b"fits"


@pytest.mark.full_only
def test_truncate_and_o_trunc_from_other_descriptors_leave_the_error(full_store_volume):
    m = full_store_volume.mount()
    path = os.path.join(m.path, "big")
    w = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    other = os.open(path, os.O_RDWR)  # open when the error happens: it hears of it too
    overflow(w)
    os.ftruncate(other, 0)  # succeeds, and does not consume the error
    t = os.open(path, os.O_WRONLY | os.O_TRUNC)  # opened after the error: not told
    assert close_error(t) == 0
    assert close_error(w) in (errno.ENOSPC, errno.EIO)
    assert close_error(other) in (errno.ENOSPC, errno.EIO)
    assert os.stat(path).st_size == 0
    # An fsync of a descriptor opened afterwards is clean too.
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def test_fstat_after_unlink_reports_nlink_zero(d):
    path = os.path.join(d, "f")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"data")
    os.link(path, path + ".2")
    os.unlink(path)
    assert os.fstat(fd).st_nlink == 1
    os.unlink(path + ".2")
    st = os.fstat(fd)
    assert st.st_nlink == 0
    assert st.st_size == 4
    assert os.pread(fd, 10, 0) == b"data"
    os.close(fd)


@pytest.mark.full_only
def test_fstat_after_unlink_reports_nlink_zero_with_the_trash(strata, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("own SQLite + file:// volume")
    vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db",
                 f"file://{tmp_path}/data", [])
    try:
        vol.run("format", vol.meta_url, "trashvol", "--storage", vol.storage, "--trash-days", "1")
        m = vol.mount()
        path = os.path.join(m.path, "f")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"data")
        os.unlink(path)  # the file moves to /.trash, yet it is unlinked: nlink 0
        assert os.fstat(fd).st_nlink == 0  # pjdfstest unlink/14.t
        assert os.pread(fd, 10, 0) == b"data"
        os.close(fd)
    finally:
        vol.close()


def test_fsync_of_a_directory(d):
    os.mkdir(os.path.join(d, "sub"))
    open(os.path.join(d, "sub", "f"), "w").close()
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)


@pytest.mark.parametrize("flags", ["O_SYNC", "O_DSYNC|O_DIRECT"])
def test_o_sync_write_survives_sigkill_before_close(fresh_volume, tmp_path, flags):
    mp = str(tmp_path / "mnt")
    m = fresh_volume.mount(mp)
    open_flags = os.O_WRONLY | os.O_CREAT
    for name in flags.split("|"):
        open_flags |= getattr(os, name)
    data = os.urandom(64 * 1024)
    buf = mmap.mmap(-1, len(data))  # page-aligned, for O_DIRECT
    buf.write(data)
    fd = os.open(os.path.join(m.path, "synced"), open_flags, 0o644)
    assert os.write(fd, buf) == len(data)
    m.kill()  # right after write() returned: no close, no fsync, no idle timer
    fresh_volume.mounts.remove(m)
    try:
        os.close(fd)
    except OSError:
        pass  # the mount is gone
    m = fresh_volume.mount(mp)
    with open(os.path.join(m.path, "synced"), "rb") as f:
        assert f.read() == data
