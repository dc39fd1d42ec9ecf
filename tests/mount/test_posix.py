"""POSIX behaviour over a real StrataFS mount, through os.* system calls."""
import errno
import fcntl
import hashlib
import os
import stat
import subprocess
import time

import pytest


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def pattern(n, seed=0):
    block = hashlib.sha256(str(seed).encode()).digest() * 4096  # 128 KiB
    return (block * (n // len(block) + 1))[:n]


def in_child(fn):
    """Runs fn() in a forked child; returns its exit code (fn's return value, 0..255)."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = fn()
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


# ---- open flags, offsets, holes


def test_open_flags(d):
    p = os.path.join(d, "f")
    with pytest.raises(FileNotFoundError):
        os.open(p, os.O_RDONLY)
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
    os.write(fd, b"hello")
    os.close(fd)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    with pytest.raises(FileExistsError):
        os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    # O_CREAT without O_EXCL opens the existing file and keeps its data.
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY))
    assert read_file(p) == b"hello"
    # O_APPEND writes at the end whatever the offset.
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b" world")
    os.close(fd)
    assert read_file(p) == b"hello world"
    # O_TRUNC empties it.
    os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
    assert os.stat(p).st_size == 0 and read_file(p) == b""
    # A read-only descriptor refuses writes; a write-only one refuses reads.
    fd = os.open(p, os.O_RDONLY)
    with pytest.raises(OSError) as e:
        os.write(fd, b"x")
    assert e.value.errno == errno.EBADF
    os.close(fd)
    # O_DIRECT: aligned I/O goes straight through.
    buf = pattern(1 << 16, 3)
    fd = os.open(p, os.O_RDWR | os.O_DIRECT)
    import mmap
    m = mmap.mmap(-1, len(buf))
    m.write(buf)
    assert os.pwrite(fd, m, 0) == len(buf)
    os.close(fd)
    assert read_file(p) == buf
    # Opening a directory for writing fails.
    with pytest.raises(IsADirectoryError):
        os.open(d, os.O_WRONLY)


def test_read_write_at_offsets(d):
    p = os.path.join(d, "f")
    write_file(p, b"0123456789")
    fd = os.open(p, os.O_RDWR)
    assert os.pwrite(fd, b"AB", 3) == 2
    assert os.pread(fd, 10, 0) == b"012AB56789"
    assert os.pwrite(fd, b"XYZ", 12) == 3  # past the end: a 2-byte hole
    assert os.pread(fd, 100, 0) == b"012AB56789\0\0XYZ"
    assert os.pread(fd, 10, 100) == b""
    os.close(fd)
    assert read_file(p) == b"012AB56789\0\0XYZ"


def test_sparse_file(d):
    p = os.path.join(d, "sparse")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    os.pwrite(fd, b"end", 10 << 20)
    os.close(fd)
    assert os.stat(p).st_size == (10 << 20) + 3
    fd = os.open(p, os.O_RDONLY)
    assert os.pread(fd, 4096, 5 << 20) == b"\0" * 4096
    assert os.pread(fd, 3, 10 << 20) == b"end"
    os.close(fd)


@pytest.mark.full_only
def test_file_larger_than_a_chunk(d):
    p = os.path.join(d, "big")
    size = 70 << 20  # crosses the 64 MiB chunk boundary
    h = hashlib.sha256()
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    for i in range(0, size, 1 << 20):
        chunk = pattern(1 << 20, i)
        h.update(chunk)
        os.write(fd, chunk)
    os.close(fd)
    assert os.stat(p).st_size == size
    g = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            g.update(b)
    assert g.hexdigest() == h.hexdigest()
    # A read straddling the chunk boundary, and an overwrite across it.
    fd = os.open(p, os.O_RDWR)
    edge = 64 << 20
    assert os.pread(fd, 8, edge - 4) == pattern(1 << 20, edge - (1 << 20))[-4:] + \
        pattern(1 << 20, edge)[:4]
    os.pwrite(fd, b"#" * 10, edge - 5)
    os.close(fd)
    fd = os.open(p, os.O_RDONLY)
    assert os.pread(fd, 10, edge - 5) == b"#" * 10
    os.close(fd)


def test_append_from_two_handles(d):
    p = os.path.join(d, "log")
    a = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    b = os.open(p, os.O_WRONLY | os.O_APPEND)
    expect = b""
    for i in range(50):
        line = f"{'ab'[i % 2]}{i}\n".encode()
        os.write(a if i % 2 == 0 else b, line)
        expect += line
    os.close(a)
    os.close(b)
    assert read_file(p) == expect


def test_truncate_up_and_down(d):
    p = os.path.join(d, "t")
    data = pattern(300000, 1)
    write_file(p, data)
    os.truncate(p, 1000)
    assert os.stat(p).st_size == 1000
    assert read_file(p) == data[:1000]
    os.truncate(p, 5000)
    assert read_file(p) == data[:1000] + b"\0" * 4000
    fd = os.open(p, os.O_RDWR)
    os.ftruncate(fd, 10)
    os.write(fd, b"abc")  # at offset 0 of the open file
    os.close(fd)
    assert read_file(p) == b"abc" + data[3:10]


# ---- names


def test_rename_over_open_file_and_across_dirs(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"old contents")
    write_file(b, b"new contents")
    fd = os.open(a, os.O_RDONLY)
    os.rename(b, a)
    assert os.pread(fd, 100, 0) == b"old contents"  # the open file is the old inode
    os.close(fd)
    assert read_file(a) == b"new contents"
    assert not os.path.exists(b)
    sub1, sub2 = os.path.join(d, "s1"), os.path.join(d, "s2")
    os.mkdir(sub1)
    os.mkdir(sub2)
    os.rename(a, os.path.join(sub1, "moved"))
    os.rename(sub1, os.path.join(sub2, "inner"))
    assert read_file(os.path.join(sub2, "inner", "moved")) == b"new contents"
    with pytest.raises(OSError) as e:
        os.rename(sub2, os.path.join(sub2, "inner", "loop"))
    assert e.value.errno == errno.EINVAL
    os.mkdir(os.path.join(d, "full"))
    write_file(os.path.join(d, "full", "x"), b"")
    with pytest.raises(OSError) as e:
        os.rename(sub2, os.path.join(d, "full"))
    assert e.value.errno in (errno.ENOTEMPTY, errno.EEXIST)


def test_hard_links(d):
    p, q = os.path.join(d, "p"), os.path.join(d, "q")
    write_file(p, b"shared")
    os.link(p, q)
    assert os.stat(p).st_nlink == 2 and os.stat(p).st_ino == os.stat(q).st_ino
    with open(q, "ab") as f:
        f.write(b"!")
    assert read_file(p) == b"shared!"
    os.unlink(p)
    assert os.stat(q).st_nlink == 1 and read_file(q) == b"shared!"
    with pytest.raises(PermissionError):
        os.link(d, os.path.join(d, "dirlink"))


def test_symlinks(d):
    target = os.path.join(d, "target")
    write_file(target, b"via link")
    os.symlink("target", os.path.join(d, "l"))
    assert os.readlink(os.path.join(d, "l")) == "target"
    assert read_file(os.path.join(d, "l")) == b"via link"
    assert stat.S_ISLNK(os.lstat(os.path.join(d, "l")).st_mode)
    os.symlink("missing", os.path.join(d, "dangling"))
    with pytest.raises(FileNotFoundError):
        read_file(os.path.join(d, "dangling"))
    long = "x/" * 1000
    os.symlink(long, os.path.join(d, "long"))
    assert os.readlink(os.path.join(d, "long")) == long


@pytest.mark.full_only
def test_directory_of_10000_entries(d):
    big = os.path.join(d, "big")
    os.mkdir(big)
    names = {f"entry-{i:05d}" for i in range(10000)}
    for n in names:
        os.mknod(os.path.join(big, n), 0o644 | stat.S_IFREG)
    assert os.stat(big).st_nlink >= 2
    listed = os.listdir(big)
    assert len(listed) == len(names) and set(listed) == names
    with pytest.raises(OSError) as e:
        os.rmdir(big)
    assert e.value.errno == errno.ENOTEMPTY
    for n in names:
        os.unlink(os.path.join(big, n))
    assert os.listdir(big) == []
    os.rmdir(big)
    assert not os.path.exists(big)


def test_mkdir_rmdir_readdir(d):
    os.mkdir(os.path.join(d, "x"))
    with pytest.raises(FileExistsError):
        os.mkdir(os.path.join(d, "x"))
    write_file(os.path.join(d, "x", "f"), b"")
    os.mkdir(os.path.join(d, "x", "y"))
    assert sorted(os.listdir(os.path.join(d, "x"))) == ["f", "y"]
    with os.scandir(os.path.join(d, "x")) as it:
        kinds = {e.name: (e.is_dir(), e.is_file()) for e in it}
    assert kinds == {"f": (False, True), "y": (True, False)}
    assert os.stat(os.path.join(d, "x")).st_nlink == 3
    with pytest.raises(NotADirectoryError):
        os.rmdir(os.path.join(d, "x", "f"))
    os.rmdir(os.path.join(d, "x", "y"))
    with pytest.raises(IsADirectoryError):
        os.unlink(os.path.join(d, "x"))


# ---- attributes and permissions


def test_chmod_chown_utimens(d):
    p = os.path.join(d, "f")
    write_file(p, b"x")
    os.chmod(p, 0o4751)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o4751
    os.chown(p, 1234, 5678)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    os.utime(p, ns=(1_000_000_123, 2_000_000_456))
    st = os.stat(p)
    assert st.st_atime_ns == 1_000_000_123 and st.st_mtime_ns == 2_000_000_456
    before = time.time_ns()
    os.utime(p)  # UTIME_NOW
    assert os.stat(p).st_mtime_ns >= before - 2_000_000_000
    # Writing updates mtime.
    os.utime(p, ns=(0, 0))
    with open(p, "ab") as f:
        f.write(b"y")
    assert os.stat(p).st_mtime_ns > 0


def test_permissions_as_non_root(d):
    owned = os.path.join(d, "root-file")
    write_file(owned, b"secret", mode=0o640)
    os.chmod(owned, 0o640)
    private_dir = os.path.join(d, "private")
    os.mkdir(private_dir, 0o755)
    os.chmod(private_dir, 0o755)
    sticky = os.path.join(d, "sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    write_file(os.path.join(sticky, "roots"), b"")
    readable = os.path.join(d, "readable")
    write_file(readable, b"public", mode=0o644)
    os.chmod(readable, 0o644)

    # The mount point's parents (pytest's temporary directories) are private to root: work
    # from inside the test directory with relative paths.
    owned, private_dir, sticky, readable = (os.path.relpath(x, d) for x in
                                            (owned, private_dir, sticky, readable))

    def as_user():
        os.chdir(d)
        os.setgroups([])
        os.setresgid(4321, 4321, 4321)
        os.setresuid(4321, 4321, 4321)
        checks = []
        try:
            open(owned, "rb")
            checks.append("read 0640 root file")
        except PermissionError:
            pass
        try:
            open(readable, "ab")
            checks.append("write 0644 root file")
        except PermissionError:
            pass
        try:
            write_file(os.path.join(private_dir, "mine"), b"")
            checks.append("create in 0755 root dir")
        except PermissionError:
            pass
        try:
            os.unlink(os.path.join(sticky, "roots"))
            checks.append("unlink other's file in sticky dir")
        except PermissionError:
            pass
        try:
            os.chmod(readable, 0o777)
            checks.append("chmod other's file")
        except PermissionError:
            pass
        # What must work: read a 0644 file, create and remove own files in a 1777 dir.
        if open(readable, "rb").read() != b"public":
            checks.append("read 0644")
        mine = os.path.join(sticky, "mine")
        write_file(mine, b"ok", mode=0o600)
        if os.stat(mine).st_uid != 4321:
            checks.append("owner of new file")
        os.unlink(mine)
        return 10 + len(checks) if checks else 0

    assert in_child(as_user) == 0


def test_xattrs(d):
    p = os.path.join(d, "f")
    write_file(p, b"")
    os.setxattr(p, "user.color", b"blue")
    assert os.getxattr(p, "user.color") == b"blue"
    assert "user.color" in os.listxattr(p)
    with pytest.raises(OSError) as e:
        os.setxattr(p, "user.color", b"red", os.XATTR_CREATE)
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        os.setxattr(p, "user.size", b"x", os.XATTR_REPLACE)
    assert e.value.errno == errno.ENODATA
    os.setxattr(p, "user.big", b"v" * 60000)
    assert os.getxattr(p, "user.big") == b"v" * 60000
    os.removexattr(p, "user.color")
    with pytest.raises(OSError) as e:
        os.getxattr(p, "user.color")
    assert e.value.errno == errno.ENODATA


# ---- locks


def test_flock_and_fcntl_locks(d):
    p = os.path.join(d, "lock")
    write_file(p, b"0" * 100)
    f1 = os.open(p, os.O_RDWR)
    f2 = os.open(p, os.O_RDWR)
    fcntl.flock(f1, fcntl.LOCK_EX)
    with pytest.raises(BlockingIOError):
        fcntl.flock(f2, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(f1, fcntl.LOCK_UN)
    fcntl.flock(f2, fcntl.LOCK_SH | fcntl.LOCK_NB)
    fcntl.flock(f1, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared with shared is fine
    os.close(f2)
    os.close(f1)  # close drops flock

    fd = os.open(p, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)  # bytes [0, 10)

    def other_process():
        g = os.open(p, os.O_RDWR)
        try:
            fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
            return 1  # should have conflicted
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                return 2
        fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 20)  # a disjoint range is free
        # F_GETLK names the holder's range.
        import struct
        req = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 10, 0)
        got = fcntl.fcntl(g, fcntl.F_GETLK, req)
        ltype, _, start, length, _ = struct.unpack("hhqqi", got)
        if ltype != fcntl.F_WRLCK or start != 0 or length != 10:
            return 3
        return 0

    assert in_child(other_process) == 0
    os.close(fd)  # drops the POSIX lock

    def after_close():
        g = os.open(p, os.O_RDWR)
        fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        return 0

    assert in_child(after_close) == 0


def test_blocking_lock_waits_for_release(d):
    p = os.path.join(d, "wait")
    write_file(p, b"")
    fd = os.open(p, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        g = os.open(p, os.O_RDWR)
        fcntl.lockf(g, fcntl.LOCK_EX)  # blocks until the parent unlocks
        os.write(w, b"got")
        os._exit(0)
    os.close(w)
    time.sleep(0.5)
    fcntl.lockf(fd, fcntl.LOCK_UN)
    assert os.read(r, 3) == b"got"
    os.waitpid(pid, 0)
    os.close(fd)


# ---- lifetime and durability calls


def test_unlink_while_open(d):
    p = os.path.join(d, "u")
    data = pattern(200000, 7)
    write_file(p, data)
    fd = os.open(p, os.O_RDWR)
    os.unlink(p)
    assert not os.path.exists(p)
    assert os.pread(fd, len(data) + 10, 0) == data
    os.pwrite(fd, b"still writable", 0)
    assert os.pread(fd, 14, 0) == b"still writable"
    assert os.fstat(fd).st_nlink == 0
    os.close(fd)


def test_fsync_and_fdatasync(d):
    p = os.path.join(d, "s")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, pattern(1 << 20, 9))
    os.fsync(fd)
    os.write(fd, b"tail")
    os.fdatasync(fd)
    os.close(fd)
    assert os.stat(p).st_size == (1 << 20) + 4


def test_statfs(mount):
    st = os.statvfs(mount.path)
    assert st.f_bsize > 0 and st.f_namemax == 255
    assert st.f_blocks >= st.f_bfree


def test_fallocate_and_copy_file_range(d):
    p = os.path.join(d, "fa")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, 100000)
    assert os.fstat(fd).st_size == 100000
    assert os.pread(fd, 10, 50000) == b"\0" * 10
    os.pwrite(fd, b"source bytes", 0)
    os.close(fd)
    q = os.path.join(d, "copy")
    src = os.open(p, os.O_RDONLY)
    dst = os.open(q, os.O_CREAT | os.O_WRONLY, 0o644)
    n = os.copy_file_range(src, dst, 12, 0, 0)
    os.close(src)
    os.close(dst)
    assert n == 12 and read_file(q) == b"source bytes"


def test_strata_info(volume, d):
    p = os.path.join(d, "infofile")
    write_file(p, pattern(300000, 2))
    r = subprocess.run([volume.strata, "info", p], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "length: 300000" in r.stdout
    keys = [line.strip() for line in r.stdout.splitlines() if "/chunks/" in line]
    assert keys, r.stdout
    if volume.storage.startswith("file://"):
        for k in keys:
            assert os.path.exists(os.path.join(volume.storage[len("file://"):], k)), k
    r = subprocess.run([volume.strata, "info", "/"], capture_output=True, text=True)
    assert r.returncode != 0 and "not on a StrataFS mount" in r.stderr


def test_cached_paths_are_still_permission_checked(d):
    """A path component found in the kernel's dentry cache still needs search permission, and
    ftruncate on a descriptor open for writing works whatever the file's mode."""
    closed = os.path.join(d, "closed")
    os.mkdir(closed)
    write_file(os.path.join(closed, "f"), b"data")
    os.chmod(closed, 0o700)
    assert read_file(os.path.join(closed, "f")) == b"data"  # root fills the dentry cache

    def as_user():
        os.chdir(d)
        os.setgroups([])
        os.setresgid(4321, 4321, 4321)
        os.setresuid(4321, 4321, 4321)
        try:
            open("closed/f", "rb")
            return 1
        except PermissionError:
            pass
        fd = os.open("mode0", os.O_CREAT | os.O_RDWR, 0)
        os.ftruncate(fd, 100)
        os.close(fd)
        return 0 if os.stat("mode0").st_size == 100 else 2

    assert in_child(as_user) == 0


def test_killed_lock_waiter_does_not_keep_the_lock(d):
    p = os.path.join(d, "contended")
    write_file(p, b"")
    holder = os.open(p, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    pid = os.fork()
    if pid == 0:
        g = os.open(p, os.O_RDWR)
        fcntl.flock(g, fcntl.LOCK_EX)  # blocks
        os._exit(0)
    time.sleep(0.5)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    fcntl.flock(holder, fcntl.LOCK_UN)
    time.sleep(0.3)
    other = os.open(p, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it now
    os.close(other)
    os.close(holder)
