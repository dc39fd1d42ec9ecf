"""strata usage: subtree bytes and inodes from the usage records, checked against what a walk
of the real mount finds (every file's length, every entry), after a mixed workload of creates,
writes, truncates, renames across directories, hard links and removals."""
import json
import os
import random
import subprocess

import pytest

pytestmark = pytest.mark.full_only


def walk_usage(root):
    """(bytes, inodes) below root as the usage records define them: each entry one inode,
    regular files their length (a hard link counts in each directory holding it)."""
    b = n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            n += 1
            if os.path.isfile(os.path.join(dirpath, name)) and not os.path.islink(
                    os.path.join(dirpath, name)):
                b += st.st_size
    return b, n


def usage(vol, *args):
    r = vol.run("usage", vol.meta_url, *args, "--json")
    return {row["path"]: row for row in json.loads(r.stdout)}


def test_usage_matches_the_tree_after_a_workload(fresh_volume):
    mnt = fresh_volume.mount()
    root = os.path.join(mnt.path, "tenants")
    rnd = random.Random(15)
    tenants = [os.path.join(root, f"t{i}") for i in range(4)]
    for t in tenants:
        os.makedirs(os.path.join(t, "deep", "er"))
    files = []
    for i in range(120):
        d = rnd.choice(tenants)
        d = os.path.join(d, rnd.choice(["", "deep", "deep/er"]))
        p = os.path.join(d, f"f{i}")
        with open(p, "wb") as f:
            f.write(os.urandom(rnd.randrange(0, 70000)))
        files.append(p)
    for _ in range(40):
        p = rnd.choice(files)
        op = rnd.randrange(4)
        if op == 0:
            os.truncate(p, rnd.randrange(0, 100000))
        elif op == 1:  # rename into another tenant: its usage moves
            q = os.path.join(rnd.choice(tenants), os.path.basename(p) + "-moved")
            os.rename(p, q)
            files[files.index(p)] = q
        elif op == 2:
            with open(p, "ab") as f:
                f.write(b"x" * rnd.randrange(1, 5000))
        else:
            q = p + "-link"
            if not os.path.exists(q):
                os.link(p, q)
    for p in rnd.sample(files, 15):
        os.unlink(p)
    os.rename(os.path.join(tenants[3], "deep"), os.path.join(tenants[0], "from-t3"))

    got = usage(fresh_volume, "--path", "/tenants", "--depth", "2")
    assert set(got) >= {"/tenants"} | {f"/tenants/t{i}" for i in range(4)}
    for path, row in got.items():
        real = os.path.join(mnt.path, path.lstrip("/"))
        assert (row["bytes"], row["inodes"]) == walk_usage(real), path
        assert row["depth"] == path.count("/") - 1
    assert got["/tenants/t0/from-t3"]["depth"] == 2
    whole = usage(fresh_volume, "--depth", "0")
    assert list(whole) == ["/"]
    assert (whole["/"]["bytes"], whole["/"]["inodes"]) == walk_usage(mnt.path)

    text = fresh_volume.run("usage", fresh_volume.meta_url, "--path", "tenants").stdout
    assert text.splitlines()[0].split() == ["SIZE", "BYTES", "INODES", "PATH"]
    assert any(l.endswith("/tenants/t1") for l in text.splitlines())


def test_usage_bad_input(fresh_volume, tmp_path):
    mnt = fresh_volume.mount()
    with open(os.path.join(mnt.path, "file"), "w") as f:
        f.write("x")
    for args, words in ((["--path", "/nope"], "no such directory"),
                        (["--path", "/file"], "not a directory"),
                        (["--depth", "-1"], "depth")):
        r = fresh_volume.run("usage", fresh_volume.meta_url, *args, check=False)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    r = fresh_volume.run("usage", f"sqlite3://{tmp_path}/absent.db", check=False)
    assert r.returncode != 0 and "not formatted" in r.stderr
    assert not os.path.exists(tmp_path / "absent.db")
