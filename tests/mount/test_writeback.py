"""Writeback mode (DESIGN.md §6, issue 9): close() returns after the local staging and the
metadata commit; staged blocks survive SIGKILL and are uploaded by the next mount (or
`strata sync-staging`); status, fsck, gc and umount know about them; a stopped store does not
stop writes; a full staging disk never acknowledges what is not durable somewhere."""
import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import time

import pytest

from conftest import Volume, create_bucket, is_mounted

pytestmark = pytest.mark.full_only


def staged(mount_path):
    """The mount's strata.staging xattr as a dict."""
    return json.loads(os.getxattr(mount_path, "strata.staging"))


def wait_drained(mount_path, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        s = staged(mount_path)
        if s["blocks"] == 0:
            return s
        assert time.monotonic() < deadline, f"staging did not drain: {s}"
        time.sleep(0.1)


def log_records(path):
    """Keys of the whole records of a staging log segment (docs/format/staging.md, version
    2: a 16-byte header "STL2", then block records up to the first one cut short)."""
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:4] == b"STL2", path
    keys, pos = [], 16
    while pos + 22 <= len(raw) and raw[pos:pos + 4] == b"STG1":
        klen = int.from_bytes(raw[pos + 16:pos + 18], "big")
        dlen = int.from_bytes(raw[pos + 18 + klen:pos + 22 + klen], "big")
        end = pos + 26 + klen + dlen
        if end > len(raw):
            break
        keys.append(raw[pos + 18:pos + 18 + klen].decode().rsplit("/", 1)[-1])
        pos = end
    return keys


def block_files(d):
    """Blocks staged in d: files of their own (large blocks) and records of log segments
    (small ones). A segment keeps the records of blocks uploaded since (until it is rotated,
    or at exit when none is staged), so this is what is staged only while nothing of the
    segment was uploaded or removed: in the tests below, an --upload-delay, a store that is
    down, or after an unmount."""
    b, lg = os.path.join(d, "blocks"), os.path.join(d, "log")
    out = [n for n in os.listdir(b) if ".tmp." not in n] if os.path.isdir(b) else []
    if os.path.isdir(lg):
        for n in os.listdir(lg):
            if n.endswith(".log"):
                out += log_records(os.path.join(lg, n))
    return sorted(out)


def store_blocks(root):
    out = []
    for dirpath, _, files in os.walk(os.path.join(root, "data")):
        out += [f for f in files if ".tmp." not in f and f != "strata.uuid"]
    return out


def session_staging(vol):
    st = json.loads(vol.run("status", vol.meta_url).stdout)
    return [s["writeback"] for s in st["sessions"] if "writeback" in s]


def test_close_returns_before_upload_and_tools_see_staging(fresh_volume, tmp_path):
    vol = fresh_volume
    wb = str(tmp_path / "wb")
    m = vol.mount(None, "--writeback", "--writeback-dir", wb, "--upload-delay", "3600")
    files = {f"f{i}": os.urandom(4096 * (i + 1)) for i in range(5)}
    files["big"] = os.urandom(9 << 20)  # three blocks
    for name, data in files.items():
        with open(os.path.join(m.path, name), "wb") as f:
            f.write(data)
    assert len(block_files(wb)) == 8  # staged (fsync'ed) and committed, not uploaded
    assert store_blocks(vol.root) == []
    for name, data in files.items():  # served from staging
        with open(os.path.join(m.path, name), "rb") as f:
            assert f.read() == data
    s = staged(m.path)
    assert s["blocks"] == 8 and s["dir"] == wb, s
    assert s["held_back"] == 0, s  # nothing was due: the delay, not the writers, held them
    # The session record says so (published at once when staging became non-empty).
    deadline = time.monotonic() + 15
    while not any(w["staged_blocks"] == 8 for w in session_staging(vol)):
        assert time.monotonic() < deadline, session_staging(vol)
        time.sleep(0.2)
    assert session_staging(vol)[0]["dir"] == wb
    # Another mount finds the blocks in no tier: it waits (bounded), then EIO, and logs it.
    other = vol.mount(None, "--staged-wait", "1")
    with pytest.raises(OSError) as e:
        with open(os.path.join(other.path, "f0"), "rb") as f:
            f.read()
    assert e.value.errno == errno.EIO, e.value
    other.unmount()
    vol.mounts.remove(other)
    with open(other.log) as lf:
        assert "is in no tier after 1000 ms" in lf.read()
    # fsck: pending upload, not missing; gc: nothing to delete, staged blocks reported.
    fsck = vol.run("fsck", vol.meta_url, check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert fsck.stdout.count("pending-upload ") == 8, fsck.stdout
    assert "missing-block" not in fsck.stdout
    gc = vol.run("gc", vol.meta_url, "--delete", "--age", "0s", check=False)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert "pending upload, not in the store yet): 8," in gc.stdout, gc.stdout
    assert len(block_files(wb)) == 8
    # umount --force leaves them, and says so.
    r = subprocess.run([vol.strata, "umount", "--force", m.path], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "leaving 8 staged blocks" in r.stdout and wb in r.stdout, r.stdout
    assert m.wait_exit()
    vol.mounts.remove(m)
    assert len(block_files(wb)) == 8
    # The next mount with the same directory uploads them; umount waits for that.
    m = vol.mount(None, "--writeback", "--writeback-dir", wb)
    r = subprocess.run([vol.strata, "umount", m.path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert m.wait_exit()
    vol.mounts.remove(m)
    assert block_files(wb) == []
    assert len(store_blocks(vol.root)) == 8
    fsck = vol.run("fsck", vol.meta_url, check=False)
    assert fsck.returncode == 0 and "pending-upload" not in fsck.stdout, fsck.stdout
    m = vol.mount()  # no writeback, empty cache: everything from the store
    for name, data in files.items():
        with open(os.path.join(m.path, name), "rb") as f:
            assert f.read() == data


def test_bad_writeback_arguments_change_nothing(fresh_volume, tmp_path):
    vol = fresh_volume
    mp = tmp_path / "mnt"
    mp.mkdir()
    for args, text in [(["--writeback-dir", str(tmp_path / "x")], "needs --writeback"),
                       (["--writeback", "--upload-delay", "-1"], "upload-delay"),
                       (["--writeback", "--writeback-limit", "1X"], "writeback-limit"),
                       (["--writeback", "--uploads-while-writing", "0"],
                        "uploads-while-writing")]:
        r = vol.run("mount", vol.meta_url, str(mp), *args, check=False)
        assert r.returncode != 0 and text in r.stderr, r.stderr
        assert not is_mounted(str(mp))
    assert not (tmp_path / "x").exists()
    r = vol.run("sync-staging", vol.meta_url, str(tmp_path / "nothing"), check=False)
    assert r.returncode == 2 and "not a writeback directory" in r.stderr, r.stderr
    # A staging directory is one mount's: a second mount on it is refused.
    wb = str(tmp_path / "wb")
    vol.mount(None, "--writeback", "--writeback-dir", wb)
    r = vol.run("mount", vol.meta_url, str(mp), "--writeback", "--writeback-dir", wb, check=False)
    assert r.returncode != 0 and "in use by another strata process" in r.stderr, r.stderr
    r = vol.run("sync-staging", vol.meta_url, wb, check=False)
    assert r.returncode == 2 and "in use" in r.stderr, r.stderr


WRITER = r"""
import hashlib, os, sys
root, record = sys.argv[1], sys.argv[2]
rec = open(record, "a")
i = 0
while True:
    name = f"f{os.getpid()}-{i}"
    size = (i * 7919) % (1 << 20) + 1 if i % 3 else (i * 104729) % (9 << 20) + 1
    data = (hashlib.sha256(name.encode()).digest() * (size // 32 + 1))[:size]
    # Started, not acknowledged yet: the kill may cut this one off (see unacknowledged_blocks).
    rec.write(f"? {name} {size}\n")
    rec.flush()
    try:
        fd = os.open(os.path.join(root, name), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, data)
        if i % 2:
            os.fsync(fd)
        os.close(fd)  # writeback: returns after staging + commit
    except OSError:
        break
    rec.write(f"{name} {hashlib.sha256(data).hexdigest()}\n")
    rec.flush()
    os.fsync(rec.fileno())
    i += 1
"""

def unacknowledged_blocks(lines, block_size=4 << 20):
    """Lengths of the blocks of the files a writer had started but not recorded as closed
    (the "? name size" lines of WRITER's record without a "name digest" line)."""
    done = {line.split()[0] for line in lines if not line.startswith("? ")}
    out = []
    for line in lines:
        if line.startswith("? ") and line.split()[1] not in done:
            size = int(line.split()[2])
            out += [min(block_size, size - off) for off in range(0, size, block_size)]
    return out


# CI runs a few rounds; bench/RESULTS.md records a long run (STRATA_WB_SIGKILL_ROUNDS=100).
ROUNDS = int(os.environ.get("STRATA_WB_SIGKILL_ROUNDS", "3"))


def test_acknowledged_writes_survive_sigkill_in_writeback(fresh_volume, tmp_path):
    vol = fresh_volume
    rng = random.Random(int(time.time()))
    record = tmp_path / "record.txt"
    record.touch()
    mp = str(tmp_path / "mnt")
    wb = str(tmp_path / "wb")
    # A short delay so that blocks of a slice whose commit the kill cut off are seldom
    # uploaded first (garbage in the store for gc, below); recovery removes them from staging.
    # No free-space ratio: a shared machine's nearly full disk must not turn staging into
    # direct uploads (then every kill during a write leaves its blocks in the store).
    args = ["--writeback", "--writeback-dir", wb, "--upload-delay", "1",
            "--free-space-ratio", "0"]
    checked = 0
    owners = []
    fallbacks = 0
    for round_ in range(ROUNDS):
        m = vol.mount(mp, *args)
        out = os.path.join(m.path, f"round{round_}")
        os.mkdir(out)
        w = subprocess.Popen([sys.executable, "-c", WRITER, out, str(record)],
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.5))
        fallbacks += staged(m.path)["fallbacks"]
        m.kill()
        w.wait(timeout=60)
        vol.mounts.remove(m)
        m = vol.mount(mp, *args)
        lines = [l for l in record.read_text().splitlines() if not l.startswith("? ")]
        assert len(lines) > checked, "the writer recorded nothing before the kill"
        new = [(round_, line) for line in lines[checked:]]
        owners.extend(new)
        for k, line in new:
            name, digest = line.split()
            path = os.path.join(m.path, f"round{k}", name)
            assert os.path.exists(path), f"{name} lost"
            with open(path, "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest, f"{name} corrupt"
        checked = len(lines)
        if round_ == ROUNDS - 1:
            wait_drained(m.path)
            m.unmount()
        else:
            m.kill()  # killed again, with leftovers from this round's uploads still staged
        vol.mounts.remove(m)
    assert block_files(wb) == []
    fsck = vol.run("fsck", vol.meta_url, check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert "pending-upload" not in fsck.stdout
    assert fallbacks == 0, "blocks went direct: this test is about staging"
    # A block in the store that nothing references is one of a file the kill cut off before
    # its close() returned, uploaded (after the delay) before its slice's commit: garbage by
    # design (upload before commit), which gc finds and removes. Anything else is a leak.
    gc = vol.run("gc", vol.meta_url, "--age", "0s", check=False)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    leaked = [int(line.split()[-2].rsplit("_", 1)[-1]) for line in gc.stdout.splitlines()
              if line.startswith("unreferenced ")]
    cut_off = unacknowledged_blocks(record.read_text().splitlines())
    for n in leaked:
        assert n in cut_off, f"unreferenced block of {n} bytes, no cut-off file has one:\n" + gc.stdout
        cut_off.remove(n)
    if leaked:
        gc = vol.run("gc", vol.meta_url, "--age", "0s", "--delete", check=False)
        assert gc.returncode == 0, gc.stdout + gc.stderr
        gc = vol.run("gc", vol.meta_url, "--age", "0s", check=False)
    assert "unreferenced blocks older than 0s: 0," in gc.stdout, gc.stdout
    m = vol.mount(mp)  # no writeback: every byte from the store
    for k, line in owners:
        name, digest = line.split()
        with open(os.path.join(m.path, f"round{k}", name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, f"{name} corrupt"


def test_store_down_writes_continue_and_a_new_mount_uploads(strata, tmp_path):
    from test_outages import S3rver
    s3 = S3rver(tmp_path / "s3")
    if not os.path.exists(s3.bin):
        pytest.skip("s3rver not installed (scripts/install-deps)")
    os.makedirs(s3.dir)
    os.chmod(tmp_path, 0o755)
    s3.start()
    try:
        endpoint = f"http://127.0.0.1:{s3.port}"
        create_bucket(endpoint, "wbdown")
        vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db",
                     f"{endpoint}/wbdown", ["--access-key", "S3RVER", "--secret-key", "S3RVER"])
        vol.format()
        wb = str(tmp_path / "wb")
        args = ["--writeback", "--writeback-dir", wb, "--io-timeout", "2"]
        m = vol.mount(None, *args)
        with open(os.path.join(m.path, "before"), "wb") as f:  # > 1 MiB: not in the log
            f.write(b"stored before" * 100000)
        wait_drained(m.path)

        s3.kill()
        files = {f"small{i}": os.urandom(4096) for i in range(20)}
        files["large"] = os.urandom(6 << 20)
        for name, data in files.items():
            with open(os.path.join(m.path, name), "wb") as f:  # close() succeeds
                f.write(data)
        for name, data in files.items():
            with open(os.path.join(m.path, name), "rb") as f:
                assert f.read() == data
        m.kill()
        vol.mounts.remove(m)
        assert len(block_files(wb)) == 22
        s3.start()  # same port, same data
        m = vol.mount(None, *args)
        wait_drained(m.path)
        m.unmount()
        vol.mounts.remove(m)
        assert block_files(wb) == []
        m2 = vol.mount()  # another mount point, empty cache, no writeback
        with open(os.path.join(m2.path, "before"), "rb") as f:
            assert f.read() == b"stored before" * 100000
        for name, data in files.items():
            with open(os.path.join(m2.path, name), "rb") as f:
                assert f.read() == data, name
        vol.close()
    finally:
        s3.close()


def test_sync_staging_uploads_a_killed_mounts_blocks(fresh_volume, tmp_path):
    vol = fresh_volume
    wb = str(tmp_path / "wb")
    m = vol.mount(None, "--writeback", "--writeback-dir", wb, "--upload-delay", "3600")
    data = os.urandom(5 << 20)
    with open(os.path.join(m.path, "f"), "wb") as f:
        f.write(data)
    m.kill()
    vol.mounts.remove(m)
    assert len(block_files(wb)) == 2
    r = vol.run("sync-staging", vol.meta_url, wb)
    assert "2 blocks" in r.stdout and "0 blocks (0 B) left" in r.stdout, r.stdout
    assert block_files(wb) == []
    m = vol.mount()
    with open(os.path.join(m.path, "f"), "rb") as f:
        assert f.read() == data


def test_copy_of_a_staged_file_survives_the_source_and_a_kill(fresh_volume, tmp_path):
    """copy_file_range from a file whose blocks are still staged copies the bytes (the copy
    must not share a staged slice recorded for its source only): the source is then truncated
    and the mount killed before any upload, and the copy still reads back whole."""
    vol = fresh_volume
    wb = str(tmp_path / "wb")
    m = vol.mount(None, "--writeback", "--writeback-dir", wb, "--upload-delay", "3600")
    data = os.urandom((4 << 20) + 12345)
    src, dst = os.path.join(m.path, "src"), os.path.join(m.path, "dst")
    with open(src, "wb") as f:
        f.write(data)
    fi, fo = os.open(src, os.O_RDONLY), os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        left = len(data)
        while left:
            n = os.copy_file_range(fi, fo, left)
            assert n > 0
            left -= n
        os.fsync(fo)
    finally:
        os.close(fi)
        os.close(fo)
    os.truncate(src, 0)  # src's slices are dropped while their blocks are staged
    m.kill()
    vol.mounts.remove(m)
    m = vol.mount(None, "--writeback", "--writeback-dir", wb)
    with open(os.path.join(m.path, "dst"), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    wait_drained(m.path)
    assert os.path.getsize(os.path.join(m.path, "src")) == 0


def test_full_staging_disk_goes_direct_and_loses_nothing(fresh_volume, tmp_path):
    vol = fresh_volume
    wb = tmp_path / "wb"
    wb.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(wb)], check=True)
    try:
        # Nothing leaves staging (delay), the ratio is off: the disk itself fills (ENOSPC).
        args = ["--writeback", "--writeback-dir", str(wb), "--upload-delay", "3600",
                "--free-space-ratio", "0"]
        m = vol.mount(None, *args)
        files = {f"f{i}": os.urandom(1 << 20) for i in range(10)}
        for name, data in files.items():
            with open(os.path.join(m.path, name), "wb") as f:
                f.write(data)  # close() succeeds: staged, or uploaded directly
        assert 0 < len(block_files(str(wb))) < 10
        assert len(store_blocks(vol.root)) + len(block_files(str(wb))) == 10
        assert staged(m.path)["fallbacks"] >= 1
        m.kill()  # what was staged must come back from the disk
        vol.mounts.remove(m)
        m = vol.mount(None, "--writeback", "--writeback-dir", str(wb))
        wait_drained(m.path)
        m.unmount()
        vol.mounts.remove(m)
        m = vol.mount()
        for name, data in files.items():
            with open(os.path.join(m.path, name), "rb") as f:
                assert f.read() == data, name
        # Writers wait for room instead of failing: a limit smaller than what is written.
        m2 = vol.mount(None, "--writeback", "--writeback-dir", str(wb), "--writeback-limit", "2M")
        more = {f"g{i}": os.urandom(1 << 20) for i in range(8)}
        for name, data in more.items():
            with open(os.path.join(m2.path, name), "wb") as f:
                f.write(data)
        s = wait_drained(m2.path)
        assert s["fallbacks"] == 0, s
        for name, data in more.items():
            with open(os.path.join(m2.path, name), "rb") as f:
                assert f.read() == data
    finally:
        vol.close()
        vol.mounts.clear()
        subprocess.run(["umount", "-l", str(wb)])
