"""Two mounts of one volume on one machine: close-to-open visibility, locks between mounts,
concurrent creates in one directory."""
import errno
import fcntl
import os
import threading
import time

import pytest


@pytest.fixture(scope="module")
def pair(volume):
    return volume.mount(), volume.mount()


def test_close_to_open_visibility(pair):
    a, b = pair
    pa, pb = os.path.join(a.path, "c2o"), os.path.join(b.path, "c2o")
    with open(pa, "wb") as f:
        f.write(b"version 1")
    with open(pb, "rb") as f:  # opened after a's close() returned
        assert f.read() == b"version 1"
    with open(pa, "r+b") as f:
        f.write(b"VERSION 2 longer")
    with open(pb, "rb") as f:
        assert f.read() == b"VERSION 2 longer"
    os.unlink(pa)


def test_directory_attrs_between_mounts(pair):
    # A mount's own changes to a directory show in its attributes at once (they are answered
    # from what its commit wrote); another mount's within the attribute timeout (1 s).
    a, b = pair
    da, db = os.path.join(a.path, "dattr"), os.path.join(b.path, "dattr")
    os.mkdir(da)
    for i in range(3):
        os.mkdir(os.path.join(da, f"mine{i}"))
        assert os.stat(da).st_nlink == 3 + i
        before = os.stat(da).st_mtime_ns
        with open(os.path.join(da, f"f{i}"), "wb") as f:
            f.write(b"x")
        os.rename(os.path.join(da, f"f{i}"), os.path.join(da, f"g{i}"))
        assert os.stat(da).st_mtime_ns > before
    os.mkdir(os.path.join(db, "theirs"))
    deadline = time.time() + 3
    while os.stat(da).st_nlink != 6:
        assert time.time() < deadline, "another mount's mkdir unseen after 3 s"
        time.sleep(0.05)
    os.chmod(db, 0o700)
    deadline = time.time() + 3
    while os.stat(da).st_mode & 0o777 != 0o700:
        assert time.time() < deadline, "another mount's chmod unseen after 3 s"
        time.sleep(0.05)
    os.chmod(da, 0o755)
    assert os.stat(da).st_mode & 0o777 == 0o755


def test_names_between_mounts(pair):
    # In a directory a mount created and keeps changing, its lookups of absent names are
    # answered from its own commits; another mount's new name there shows within the attribute
    # timeout (1 s), at once after the first mount's next change there, and is never
    # overwritten by an exclusive create.
    a, b = pair
    da, db = os.path.join(a.path, "dnames"), os.path.join(b.path, "dnames")
    os.mkdir(da)
    for i in range(5):
        tmp, out = os.path.join(da, f".tmp{i}"), os.path.join(da, f"out{i}")
        assert not os.path.exists(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"agent %d" % i)
        os.close(fd)
        assert not os.path.exists(out)
        os.rename(tmp, out)
    with open(os.path.join(db, "theirs"), "wb") as f:
        f.write(b"from b")
    # O_EXCL on a's side asks the engine in its own transaction: the name is taken.
    with pytest.raises(FileExistsError):
        os.open(os.path.join(da, "theirs"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    deadline = time.time() + 3
    while not os.path.exists(os.path.join(da, "theirs")):
        assert time.time() < deadline, "another mount's file unseen after 3 s"
        time.sleep(0.05)
    with open(os.path.join(da, "theirs"), "rb") as f:
        assert f.read() == b"from b"
    # After a's own next change there, b's next name is seen without waiting for the timeout.
    with open(os.path.join(db, "theirs2"), "wb") as f:
        f.write(b"2")
    os.rename(os.path.join(da, "out0"), os.path.join(da, "out0.renamed"))
    assert os.path.exists(os.path.join(da, "theirs2"))
    assert sorted(os.listdir(db)) == sorted(os.listdir(da))


def test_locks_between_mounts(pair):
    a, b = pair
    pa, pb = os.path.join(a.path, "lk"), os.path.join(b.path, "lk")
    with open(pa, "wb") as f:
        f.write(b"x" * 10)
    fa = os.open(pa, os.O_RDWR)
    fb = os.open(pb, os.O_RDWR)
    fcntl.flock(fa, fcntl.LOCK_EX)
    with pytest.raises(BlockingIOError):
        fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(fa, fcntl.LOCK_UN)
    fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(fb, fcntl.LOCK_UN)
    # POSIX record locks: same process, but the mounts are different clients (sessions).
    fcntl.lockf(fa, fcntl.LOCK_EX, 5, 0)
    with pytest.raises(OSError) as e:
        fcntl.lockf(fb, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 0)
    assert e.value.errno in (errno.EAGAIN, errno.EACCES)
    fcntl.lockf(fa, fcntl.LOCK_UN, 5, 0)
    fcntl.lockf(fb, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 0)
    os.close(fa)
    os.close(fb)


def test_concurrent_creates_in_one_directory(pair):
    a, b = pair
    os.mkdir(os.path.join(a.path, "crowd"))
    errors = []

    def create(root, prefix):
        try:
            for i in range(200):
                with open(os.path.join(root, "crowd", f"{prefix}-{i}"), "wb") as f:
                    f.write(prefix.encode())
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=create, args=(m.path, f"{n}{t}"))
               for n, m in (("a", a), ("b", b)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    want = {f"{n}{t}-{i}" for n in "ab" for t in range(3) for i in range(200)}
    assert set(os.listdir(os.path.join(a.path, "crowd"))) == want
    assert set(os.listdir(os.path.join(b.path, "crowd"))) == want
    with open(os.path.join(b.path, "crowd", "a1-7"), "rb") as f:
        assert f.read() == b"a1"
