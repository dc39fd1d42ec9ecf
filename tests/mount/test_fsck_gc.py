"""`strata fsck` and `strata gc` on volumes written through a real mount (docs/operations.md).

A volume with directories, files of several blocks, hard links, a deleted file and a truncated
file is clean; a block deleted by hand makes fsck fail naming the file; an object nobody
references, older than --age, is listed by gc and removed by gc --delete (and only it); a
writer SIGKILLed mid-upload leaves blocks that gc finds. The store is changed by hand, so these
run where it is a directory (file://).
"""
import glob
import os
import shutil
import subprocess
import sys
import time

import pytest

MiB = 1 << 20


def store_dir(volume):
    if not volume.storage.startswith("file://"):
        pytest.skip("needs a file:// store to change by hand")
    return os.path.join(volume.storage[len("file://"):], "testvol")


def fsck(volume, *args):
    return volume.run("fsck", volume.meta_url, *args, check=False)


def gc(volume, *args):
    return volume.run("gc", volume.meta_url, *args, check=False)


def unreferenced(out):
    return sorted(line.split()[1] for line in out.splitlines() if line.startswith("unreferenced "))


def write(path, size, seed):
    data = (bytes([seed]) * 4096 + os.urandom(64)) * (size // 4160 + 1)
    with open(path, "wb") as f:
        f.write(data[:size])


def populate(root):
    os.makedirs(os.path.join(root, "a", "b"))
    write(os.path.join(root, "a", "small"), 100 * 1024, 1)
    write(os.path.join(root, "a", "big"), 9 * MiB, 2)             # 3 blocks: 4 + 4 + 1 MiB
    write(os.path.join(root, "a", "b", "mid"), 3 * MiB, 3)
    os.link(os.path.join(root, "a", "small"), os.path.join(root, "a", "b", "small-link"))
    os.link(os.path.join(root, "a", "small"), os.path.join(root, "top-link"))
    write(os.path.join(root, "gone"), 2 * MiB, 4)
    os.unlink(os.path.join(root, "gone"))
    write(os.path.join(root, "trunc"), 3 * MiB, 5)
    os.truncate(os.path.join(root, "trunc"), 1000)
    os.symlink("a/big", os.path.join(root, "sym"))


def written_volume(vol):
    m = vol.mount()
    populate(m.path)
    m.unmount()
    vol.mounts.remove(m)


def test_a_written_volume_is_clean_and_holds_no_garbage(fresh_volume):
    """On every backend: what the mount wrote is clean, and nothing in the store is garbage
    (the deleted file's blocks went at unmount)."""
    vol = fresh_volume
    written_volume(vol)
    r = fsck(vol)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "fsck: clean" in r.stdout
    assert "6 files, 4 slices, 6 objects" in r.stdout, r.stdout
    r = gc(vol, "--age", "0s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert unreferenced(r.stdout) == [], r.stdout
    assert "blocks of referenced slices: 6," in r.stdout, r.stdout


def test_missing_block_named_and_only_old_garbage_deleted(fresh_volume):
    vol = fresh_volume
    chunks = os.path.join(store_dir(vol), "chunks")
    written_volume(vol)
    assert fsck(vol).returncode == 0

    # A block of a/big deleted by hand: fsck fails and names the file (only a/big has full
    # 4 MiB blocks).
    full = sorted(glob.glob(os.path.join(chunks, "*", "*", "*_4194304")))
    assert len(full) == 2, full
    aside = os.path.join(vol.root, "aside")
    shutil.move(full[1], aside)
    r = fsck(vol)
    assert r.returncode == 1, r.stdout + r.stderr
    missing = [line for line in r.stdout.splitlines() if line.startswith("missing-block")]
    assert len(missing) == 1, r.stdout
    assert "/a/big" in missing[0] and os.path.basename(full[1]) in missing[0], r.stdout
    r = fsck(vol, "--path", "/a/b")  # the subtree does not hold a/big
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped (--path)" in r.stdout
    r = fsck(vol, "--path", "/a")
    assert r.returncode == 1 and "/a/big" in r.stdout, r.stdout
    shutil.move(aside, full[1])
    assert fsck(vol).returncode == 0

    # Objects nobody references: one old (an hour back), one new, and a key that is no block.
    # Slice ids below the counter (a mount took a batch of 1000 ids), never used by this volume.
    old = os.path.join(chunks, "0", "0", "990_0_10")
    new = os.path.join(chunks, "0", "0", "991_0_10")
    other = os.path.join(chunks, "README")
    for p in (old, new, other):
        with open(p, "wb") as f:
            f.write(b"x" * 26)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    blocks_before = sorted(glob.glob(os.path.join(chunks, "*", "*", "*")))

    r = gc(vol)
    assert r.returncode == 0, r.stdout + r.stderr
    assert unreferenced(r.stdout) == ["testvol/chunks/0/0/990_0_10"], r.stdout
    assert "kept: unreferenced, younger than 1h: 1" in r.stdout, r.stdout
    assert "never deleted): 1" in r.stdout, r.stdout
    assert os.path.exists(old)  # only listed

    r = gc(vol, "--delete", "--threads", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert unreferenced(r.stdout) == ["testvol/chunks/0/0/990_0_10"], r.stdout
    after = sorted(glob.glob(os.path.join(chunks, "*", "*", "*")))
    assert after == [p for p in blocks_before if p != old]
    assert os.path.exists(new) and os.path.exists(other)
    r = fsck(vol)
    assert r.returncode == 0, r.stdout + r.stderr

    # The volume still reads back after gc.
    m = vol.mount()
    assert os.path.getsize(os.path.join(m.path, "a", "big")) == 9 * MiB
    with open(os.path.join(m.path, "a", "big"), "rb") as f:
        assert len(f.read()) == 9 * MiB


WRITER = r"""
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
block = os.urandom(1 << 20)
sys.stdout.write("started\n"); sys.stdout.flush()
while True:  # never idle, never closes: the slice stays open until the kill
    os.write(fd, block)
    time.sleep(0.05)
"""


def test_gc_finds_uploads_of_a_killed_writer(fresh_volume):
    vol = fresh_volume
    chunks = os.path.join(store_dir(vol), "chunks")
    m = vol.mount()
    w = subprocess.Popen([sys.executable, "-c", WRITER, os.path.join(m.path, "stream")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert w.stdout.readline().strip() == "started"
    # Wait until some full blocks of the open slice are in the store, then kill the mount.
    deadline = time.time() + 30
    while time.time() < deadline and not glob.glob(os.path.join(chunks, "*", "*", "*_4194304")):
        time.sleep(0.05)
    m.kill()
    vol.mounts.remove(m)
    w.kill()
    w.wait(10)
    left = glob.glob(os.path.join(chunks, "*", "*", "*"))
    assert left, "the writer uploaded nothing before the kill"

    r = gc(vol)  # the blocks are new: kept by the safety window
    assert r.returncode == 0, r.stdout + r.stderr
    assert unreferenced(r.stdout) == [], r.stdout
    r = gc(vol, "--age", "0s")
    assert r.returncode == 0, r.stdout + r.stderr
    found = unreferenced(r.stdout)
    assert found, r.stdout
    r = gc(vol, "--age", "0s", "--delete")
    assert r.returncode == 0, r.stdout + r.stderr
    for key in found:
        assert not os.path.exists(os.path.join(os.path.dirname(store_dir(vol)), key)), key
    assert unreferenced(gc(vol, "--age", "0s").stdout) == []
    r = fsck(vol)
    assert r.returncode == 0, r.stdout + r.stderr


def test_fsck_repair_moves_an_orphan_to_lost_and_found(fresh_volume):
    """An entry removed from the engine by hand (as a bug or a torn restore might): fsck names
    the orphan and the directory whose usage is now wrong, --repair fixes both, and the file
    is readable in /lost+found afterwards."""
    vol = fresh_volume
    if not vol.meta_url.startswith("sqlite3://"):
        pytest.skip("changes the SQLite database by hand")
    import sqlite3
    m = vol.mount()
    populate(m.path)
    parent = os.stat(os.path.join(m.path, "a", "b")).st_ino
    ino = os.stat(os.path.join(m.path, "a", "b", "mid")).st_ino
    with open(os.path.join(m.path, "a", "b", "mid"), "rb") as f:
        content = f.read()
    m.unmount()
    vol.mounts.remove(m)

    db = sqlite3.connect(vol.meta_url[len("sqlite3://"):])
    key = b"A" + parent.to_bytes(8, "big") + b"D" + b"mid"
    assert db.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount == 1
    db.commit()
    db.close()

    r = fsck(vol)
    assert r.returncode == 1, r.stdout + r.stderr
    kinds = sorted(line.split()[0] for line in r.stdout.splitlines()
                   if not line.startswith("fsck:"))
    assert kinds == ["dir-usage", "orphan"], r.stdout
    assert f"inode {ino}" in r.stdout
    r = fsck(vol, "--repair")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 problems, 2 repaired, 0 left" in r.stdout, r.stdout
    r = fsck(vol)
    assert r.returncode == 0, r.stdout + r.stderr

    m = vol.mount()
    with open(os.path.join(m.path, "lost+found", f"#{ino}"), "rb") as f:
        assert f.read() == content
    assert not os.path.exists(os.path.join(m.path, "a", "b", "mid"))


def test_fsck_repair_refuses_while_mounted(fresh_volume):
    vol = fresh_volume
    m = vol.mount()
    os.mkdir(os.path.join(m.path, "x"))
    r = fsck(vol, "--repair")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == "" and "live session" in r.stderr, r.stderr
    r = fsck(vol)  # a plain check is allowed
    assert r.returncode == 0, r.stdout + r.stderr
