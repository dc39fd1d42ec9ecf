"""Directory quotas on a real mount (`strata quota`, EDQUOT, statfs, `strata summary`): nested
quotas refuse growth at the right call and commit nothing over the limit; renames move usage;
usage stays exact after a random workload (`strata quota check` finds nothing and agrees with
a walk of the tree); two mounts sharing a quota pass it by at most the stated bound."""
import errno
import json
import os
import random
import threading

import pytest

MiB = 1 << 20
# The bound `strata quota --help` states: per other mount, 4 MiB of slack plus one commit.
SLACK = 4 * MiB


def quota(vol, *args, check=True):
    return vol.run("quota", *args, check=check)


def qget(vol, path):
    return json.loads(quota(vol, "get", vol.meta_url, "--path", path, "--json").stdout)[0]


def walk_usage(root):
    """(bytes, inodes) of the tree below root as quotas count it: each entry one inode,
    regular files their length."""
    b = n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            n += 1
            if os.path.isfile(p) and not os.path.islink(p):
                b += st.st_size
    return b, n


def expect_edquot(fn):
    with pytest.raises(OSError) as e:
        fn()
    assert e.value.errno == errno.EDQUOT, e.value


def write_file(path, size):
    """Writes and closes; EDQUOT may come from write() or, at the latest, close()."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"q" * size)
    finally:
        os.close(fd)


def test_nested_quotas_edquot_rename_statfs(fresh_volume):
    vol = fresh_volume
    mnt = vol.mount()
    q = os.path.join(mnt.path, "q")
    n = os.path.join(q, "n")
    os.makedirs(n)
    outside = os.path.join(mnt.path, "outside")
    os.mkdir(outside)
    # Bad input: one clear line, non-zero exit, nothing changed.
    r = quota(vol, "set", vol.meta_url, "--path", "/q", "--capacity", "lots", check=False)
    assert r.returncode != 0 and "capacity" in r.stderr and r.stderr.count("\n") == 1
    r = quota(vol, "set", vol.meta_url, "--path", "/nope", "--capacity", "1M", check=False)
    assert r.returncode != 0 and "no such directory" in r.stderr
    assert json.loads(quota(vol, "list", vol.meta_url, "--json").stdout) == []

    quota(vol, "set", vol.meta_url, "--path", "/q", "--capacity", "8M", "--inodes", "10")
    quota(vol, "set", vol.meta_url, "--path", "/q/n", "--capacity", "2M")

    # statfs inside a quota reports it (the innermost one).
    st = os.statvfs(q)
    assert st.f_blocks * st.f_frsize == 8 * MiB and st.f_files == 10
    assert os.statvfs(n).f_blocks * os.statvfs(n).f_frsize == 2 * MiB
    assert os.statvfs(outside).f_blocks * os.statvfs(outside).f_frsize > 8 * MiB

    # write: the nested quota's 2 MiB; nothing over it is committed.
    write_file(os.path.join(n, "a"), MiB + MiB // 2)
    # A write that alone would pass the quota is refused by write() itself, data not taken.
    fd = os.open(os.path.join(n, "b"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        expect_edquot(lambda: os.write(fd, b"q" * MiB))
        os.write(fd, b"q" * (MiB // 4))  # what fits is taken
    finally:
        os.close(fd)
    assert os.path.getsize(os.path.join(n, "b")) == MiB // 4
    # Writes that each fit but not together (still buffered): refused at the latest by close().
    def two_writes():
        fd = os.open(os.path.join(n, "c"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"q" * (MiB // 5))
            os.write(fd, b"q" * (MiB // 5))
        finally:
            os.close(fd)
    expect_edquot(two_writes)
    assert qget(vol, "/q/n")["used_bytes"] <= 2 * MiB
    assert os.path.getsize(os.path.join(n, "c")) == 0
    os.unlink(os.path.join(n, "b"))
    os.unlink(os.path.join(n, "c"))
    # The outer quota counts the nested one's files too.
    assert qget(vol, "/q")["used_bytes"] == MiB + MiB // 2
    # create / mkdir / symlink / link: the inode limit (n, a used: 2 of 10).
    for i in range(8):
        open(os.path.join(q, f"f{i}"), "w").close()
    expect_edquot(lambda: open(os.path.join(n, "c"), "w"))
    expect_edquot(lambda: os.mkdir(os.path.join(q, "d")))
    expect_edquot(lambda: os.symlink("x", os.path.join(q, "s")))
    expect_edquot(lambda: os.link(os.path.join(q, "f0"), os.path.join(q, "l")))
    assert not os.path.exists(os.path.join(q, "d"))
    # rename into: a file from outside that would pass the inode limit is refused.
    open(os.path.join(outside, "x"), "w").close()
    expect_edquot(lambda: os.rename(os.path.join(outside, "x"), os.path.join(q, "x")))
    assert os.path.exists(os.path.join(outside, "x"))
    # Moving out frees, moving in charges.
    os.rename(os.path.join(q, "f0"), os.path.join(outside, "f0"))
    os.rename(os.path.join(outside, "x"), os.path.join(q, "x"))
    # A directory whose subtree does not fit into /q/n is refused whole.
    big = os.path.join(outside, "big")
    os.mkdir(big)
    write_file(os.path.join(big, "data"), MiB)
    expect_edquot(lambda: os.rename(big, os.path.join(n, "big")))
    assert os.path.getsize(os.path.join(big, "data")) == MiB
    # Raising a quota takes effect on the running mount within the refresh bound.
    quota(vol, "set", vol.meta_url, "--path", "/q", "--inodes", "100")
    quota(vol, "set", vol.meta_url, "--path", "/q/n", "--capacity", "4M")
    os.rename(big, os.path.join(n, "big"))
    assert qget(vol, "/q/n")["used_bytes"] == MiB + MiB // 2 + MiB
    assert qget(vol, "/q")["used_inodes"] == walk_usage(q)[1]
    st = os.statvfs(n)
    assert st.f_blocks * st.f_frsize == 4 * MiB
    assert (st.f_blocks - st.f_bfree) * st.f_frsize >= MiB + MiB // 2 + MiB

    listed = {row["path"]: row for row in json.loads(quota(vol, "list", vol.meta_url,
                                                           "--json").stdout)}
    assert set(listed) == {"/q", "/q/n"}
    quota(vol, "delete", vol.meta_url, "--path", "/q/n")
    write_file(os.path.join(n, "free"), 3 * MiB)  # only /q's 8 MiB holds now
    expect_edquot(lambda: write_file(os.path.join(n, "more"), 3 * MiB))
    r = quota(vol, "check", vol.meta_url)
    assert "/q: ok" in r.stdout, r.stdout


def test_usage_exact_after_random_workload_and_summary(fresh_volume):
    vol = fresh_volume
    mnt = vol.mount()
    root = os.path.join(mnt.path, "t")
    dirs = [os.path.join(root, p) for p in ("", "a", "a/b", "c")]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    other = os.path.join(mnt.path, "other")
    os.mkdir(other)
    quota(vol, "set", vol.meta_url, "--path", "/t", "--capacity", "1G", "--inodes", "100000")
    quota(vol, "set", vol.meta_url, "--path", "/t/a", "--capacity", "1G")
    rnd = random.Random(1515)
    files = []
    for i in range(150):
        op = rnd.randrange(8)
        if op <= 2 or not files:
            p = os.path.join(rnd.choice(dirs + [other]), f"f{i}")
            with open(p, "wb") as f:
                f.write(os.urandom(rnd.randrange(0, 50000)))
            files.append(p)
        elif op == 3:
            p = rnd.choice(files)
            os.truncate(p, rnd.randrange(0, 80000))
        elif op == 4:  # across quota boundaries and out of them
            p = rnd.choice(files)
            dst = os.path.join(rnd.choice(dirs + [other]), os.path.basename(p) + "m")
            os.rename(p, dst)
            files[files.index(p)] = dst
        elif op == 5:
            p = files.pop(rnd.randrange(len(files)))
            os.unlink(p)
        elif op == 6:
            p = rnd.choice(files)
            link = os.path.join(rnd.choice(dirs), f"l{i}")
            os.link(p, link)
            files.append(link)
        else:
            p = rnd.choice(files)
            with open(p, "ab") as f:
                f.write(b"y" * rnd.randrange(1, 9000))
    # A directory moved across a boundary and back.
    os.rename(os.path.join(root, "c"), os.path.join(other, "c"))
    os.rename(os.path.join(other, "c"), os.path.join(root, "a", "c"))
    r = quota(vol, "check", vol.meta_url, "--json")
    rows = {row["path"]: row for row in json.loads(r.stdout)}
    assert all(row["ok"] for row in rows.values()), rows
    for path, real in (("/t", root), ("/t/a", os.path.join(root, "a"))):
        b, n = walk_usage(real)
        assert (rows[path]["used_bytes"], rows[path]["used_inodes"]) == (b, n), path

    # The directory usage records agree with the tree for fsck too (quotas never write them).
    vol.run("fsck", vol.meta_url)

    # strata summary: the same figures, per directory, through the mount.
    s = json.loads(vol.run("summary", root, "--depth", "1", "--json").stdout)
    by_path = {row["path"]: row for row in s}
    assert (by_path[root]["bytes"], by_path[root]["inodes"]) == walk_usage(root)
    assert by_path[root]["dirs"] == sum(len(dn) for _, dn, _ in os.walk(root))
    a = os.path.join(root, "a")
    assert (by_path[a]["bytes"], by_path[a]["inodes"]) == walk_usage(a)
    r = vol.run("summary", os.path.join(root, "f0"), check=False)
    assert r.returncode != 0


def test_two_mounts_sharing_a_quota_stay_within_the_bound(fresh_volume):
    vol = fresh_volume
    m1 = vol.mount()
    m2 = vol.mount()
    os.mkdir(os.path.join(m1.path, "shared"))
    limit = 16 * MiB
    quota(vol, "set", vol.meta_url, "--path", "/shared", "--capacity", str(limit))
    refused = [0, 0]

    def fill(k, mnt):
        for i in range(64):
            try:
                write_file(os.path.join(mnt.path, "shared", f"m{k}-{i}"), MiB)
            except OSError as e:
                assert e.errno == errno.EDQUOT, e
                refused[k] += 1
                if refused[k] >= 3:
                    return

    threads = [threading.Thread(target=fill, args=(k, m)) for k, m in enumerate((m1, m2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused[0] and refused[1]
    used = qget(vol, "/shared")["used_bytes"]
    # Two mounts: one other mount's slack and one 1 MiB commit at most.
    assert limit - 2 * MiB <= used <= limit + SLACK + MiB, used
    assert walk_usage(os.path.join(m1.path, "shared"))[0] == used
    # A --subdir mount of the quota directory reports the quota as its size.
    m3 = vol.mount(None, "--subdir", "shared")
    st = os.statvfs(m3.path)
    assert st.f_blocks * st.f_frsize == limit
