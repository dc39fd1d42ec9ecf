"""Clear one-line errors from `strata mount` / `strata umount`, --subdir and --read-only."""
import os
import subprocess

import pytest


def run(strata, *args):
    return subprocess.run([strata, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.full_only
def test_mount_errors(strata, volume, tmp_path):
    mp = tmp_path / "mp"
    mp.mkdir()
    r = run(strata, "mount", "bogus://x", str(mp))
    assert r.returncode != 0 and "bogus" in r.stderr
    r = run(strata, "mount", f"sqlite3://{tmp_path}/empty.db", str(mp))
    assert r.returncode != 0 and "not formatted" in r.stderr
    r = run(strata, "mount", volume.meta_url, str(tmp_path / "missing"))
    assert r.returncode != 0 and "does not exist" in r.stderr
    m = volume.mount(str(mp))
    r = run(strata, "mount", "-d", volume.meta_url, str(mp))
    assert r.returncode != 0 and "already mounted" in r.stderr
    m.unmount()
    volume.mounts.remove(m)
    r = run(strata, "umount", str(mp))
    assert r.returncode != 0 and "not mounted" in r.stderr
    for err in (r.stderr,):
        assert len(err.strip().splitlines()) == 1


def test_subdir_and_read_only(volume, mount, tmp_path):
    os.makedirs(os.path.join(mount.path, "tenant", "a"))
    with open(os.path.join(mount.path, "tenant", "a", "f"), "wb") as f:
        f.write(b"tenant data")
    sub = volume.mount(str(tmp_path / "sub"), "--subdir", "tenant")
    assert sorted(os.listdir(sub.path)) == ["a"]
    with open(os.path.join(sub.path, "a", "f"), "rb") as f:
        assert f.read() == b"tenant data"
    sub.unmount()
    volume.mounts.remove(sub)
    ro = volume.mount(str(tmp_path / "ro"), "--read-only")
    with open(os.path.join(ro.path, "tenant", "a", "f"), "rb") as f:
        assert f.read() == b"tenant data"
    with pytest.raises(OSError):
        open(os.path.join(ro.path, "new"), "wb")
    ro.unmount()
    volume.mounts.remove(ro)


def test_sigterm_flushes_and_unmounts(fresh_volume, tmp_path):
    """SIGTERM: the mount commits what open files have written, then unmounts by itself."""
    import signal
    from conftest import is_mounted
    mp = str(tmp_path / "mnt")
    m = fresh_volume.mount(mp)
    fd = os.open(os.path.join(m.path, "open-at-exit"), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"written, never closed")
    os.kill(m.pid, signal.SIGTERM)
    assert m.wait_exit(30), "mount process did not exit on SIGTERM"
    assert not is_mounted(m.path)
    try:
        os.close(fd)
    except OSError:
        pass  # the mount is gone; the data must be there anyway
    fresh_volume.mounts.remove(m)
    m = fresh_volume.mount(mp)
    with open(os.path.join(m.path, "open-at-exit"), "rb") as f:
        assert f.read() == b"written, never closed"


@pytest.mark.full_only
def test_unreachable_engine(strata, tmp_path):
    from conftest import free_port
    mp = tmp_path / "mp"
    mp.mkdir()
    r = run(strata, "mount", f"redis://127.0.0.1:{free_port()}/0", str(mp))
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_writeback_cache_mount(volume, tmp_path):
    """With the kernel's write-back cache, appends from two handles and partial-page writes
    through a write-only descriptor still produce the right bytes."""
    m = volume.mount(str(tmp_path / "wb"), "--writeback-cache")
    p = os.path.join(m.path, "wb-append")
    a = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    b = os.open(p, os.O_WRONLY | os.O_APPEND)
    expect = b""
    for i in range(40):
        line = f"{i}\n".encode()
        os.write(a if i % 2 else b, line)
        expect += line
    os.close(a)
    os.close(b)
    with open(p, "rb") as f:
        assert f.read() == expect
    q = os.path.join(m.path, "wb-wo")
    fd = os.open(q, os.O_CREAT | os.O_WRONLY, 0o200)
    os.pwrite(fd, b"abc", 10)
    os.pwrite(fd, b"Z", 1)
    os.close(fd)
    with open(q, "rb") as f:
        assert f.read() == b"\0Z" + b"\0" * 8 + b"abc"
    m.unmount()
    volume.mounts.remove(m)


def test_o_ro_is_a_real_read_only_mount(volume, mount, tmp_path):
    """-o ro: reads work, every change is EROFS, and no session is written."""
    import errno
    import json
    with open(os.path.join(mount.path, "ro-probe"), "wb") as f:
        f.write(b"seen read-only")
    sessions = len(json.loads(volume.run("status", volume.meta_url).stdout)["sessions"])
    ro = volume.mount(str(tmp_path / "o-ro"), "-o", "ro")
    try:
        with open(os.path.join(ro.path, "ro-probe"), "rb") as f:
            assert f.read() == b"seen read-only"
        for change in (lambda: open(os.path.join(ro.path, "new"), "wb"),
                       lambda: os.mkdir(os.path.join(ro.path, "d")),
                       lambda: os.unlink(os.path.join(ro.path, "ro-probe"))):
            with pytest.raises(OSError) as e:
                change()
            assert e.value.errno == errno.EROFS
        after = json.loads(volume.run("status", volume.meta_url).stdout)["sessions"]
        assert len(after) == sessions, after
    finally:
        ro.unmount()
        volume.mounts.remove(ro)
