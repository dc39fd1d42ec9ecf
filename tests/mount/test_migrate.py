"""Moving between clouds (issue 13): a whole volume moves SQLite + file:// -> Redis + s3rver ->
SQLite + file:// by `strata dump | load` and `strata sync` of the block objects, and one
tenant directory moves between two volumes with `strata sync strata:///DIR` (no FUSE) while
the source is written. Every check goes through real mounts. Runs once (sqlite backend entry);
it starts its own redis-server and s3rver on free loopback ports and stops them by PID."""
import hashlib
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import Volume, create_bucket, free_port, wait_port

pytestmark = pytest.mark.full_only


@pytest.fixture(scope="module")
def clouds(tmp_path_factory):
    """{'redis': port, 's3': port}, both started here."""
    base = tmp_path_factory.mktemp("clouds")
    src = os.environ.get("STRATA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    s3rver = os.path.join(src, "tests", "tools", "node_modules", ".bin", "s3rver")
    if not os.path.exists(s3rver):
        pytest.skip("s3rver not installed (scripts/install-deps)")
    procs, info = [], {}
    try:
        info["redis"] = free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(info["redis"]), "--save", "",
             "--appendonly", "no", "--dir", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        info["s3"] = free_port()
        os.makedirs(base / "s3")
        procs.append(subprocess.Popen(
            ["node", "--openssl-legacy-provider", s3rver, "-d", str(base / "s3"), "-a",
             "127.0.0.1", "-p", str(info["s3"]), "--no-vhost-buckets", "-s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(info["redis"])
        wait_port(info["s3"])
        yield info
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def run(strata, *args, check=True, stdin=None):
    r = subprocess.run([strata, *args], capture_output=True, text=True, timeout=300, input=stdin)
    if check and r.returncode != 0:
        raise AssertionError(f"strata {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r


def populate(root):
    os.makedirs(os.path.join(root, "proj", "data"))
    os.makedirs(os.path.join(root, "empty"))
    with open(os.path.join(root, "proj", "big.bin"), "wb") as f:
        f.write(os.urandom(5 << 20) + b"tail")  # spans two 4 MiB blocks
    for i in range(20):
        with open(os.path.join(root, "proj", "data", f"f{i:02d}"), "wb") as f:
            f.write(os.urandom(100 + i * 997))
    with open(os.path.join(root, "proj", "empty-file"), "wb"):
        pass
    os.symlink("data/f01", os.path.join(root, "proj", "ln"))
    os.symlink("/nowhere/dangling", os.path.join(root, "dangling"))
    os.link(os.path.join(root, "proj", "data", "f02"), os.path.join(root, "proj", "hard"))
    os.setxattr(os.path.join(root, "proj", "big.bin"), "user.tag", b"\x00bin\xff")
    os.setxattr(os.path.join(root, "proj"), "user.owner", b"team-a")
    os.chown(os.path.join(root, "proj", "data", "f03"), 1234, 5678)
    os.chmod(os.path.join(root, "proj", "data", "f04"), 0o4751)
    os.chmod(os.path.join(root, "empty"), 0o1777)
    os.utime(os.path.join(root, "proj", "data", "f05"), ns=(1500000000123456789, 1600000000987654321))
    os.utime(os.path.join(root, "proj", "data"), ns=(1400000000000000001, 1400000000000000002))


def snapshot(root):
    """Everything a user sees: per path type, mode, owner, times, size, xattrs, link target,
    content digest, and the hard-link groups. Stats first, contents after (reads move atime)."""
    stats = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".trash"]
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            xattrs = {}
            for x in os.listxattr(p, follow_symlinks=False):
                if x.startswith("user."):
                    xattrs[x] = os.getxattr(p, x, follow_symlinks=False)
            stats[rel] = dict(mode=st.st_mode, uid=st.st_uid, gid=st.st_gid,
                              mtime=st.st_mtime_ns, atime=st.st_atime_ns,
                              size=st.st_size if not os.path.isdir(p) or os.path.islink(p) else 0,
                              nlink=st.st_nlink, xattrs=xattrs, ino=st.st_ino)
    groups = {}
    for rel, s in stats.items():
        if s["nlink"] > 1 and not (s["mode"] & 0o040000):
            groups.setdefault(s["ino"], set()).add(rel)
    for rel, s in stats.items():
        p = os.path.join(root, rel)
        del s["ino"]
        if os.path.islink(p):
            s["target"] = os.readlink(p)
        elif os.path.isfile(p):
            with open(p, "rb") as f:
                s["sha"] = hashlib.sha256(f.read()).hexdigest()
        if os.path.isdir(p):
            del s["nlink"]  # counts subdirectories: compared through the tree itself
    return stats, sorted(sorted(g) for g in groups.values())


def setting(path):
    with open(path) as f:
        return next(r for r in map(json.loads, f) if r["t"] == "setting")["value"]


def records(path):
    """The dump's records, normalised: sorted, without the header and the settings."""
    with open(path) as f:
        lines = [json.loads(l) for l in f]
    assert lines[0]["t"] == "header" and lines[-1]["t"] == "end"
    return sorted(json.dumps(r, sort_keys=True) for r in lines[1:-1] if r["t"] != "setting")


def test_volume_moves_sqlite_redis_s3_and_back(strata, tmp_path, clouds):
    a_root = tmp_path / "a"
    a_root.mkdir()
    vol_a = Volume(strata, str(a_root), f"sqlite3://{a_root}/meta.db", f"file://{a_root}/data", [])
    vol_a.format()
    try:
        ma = vol_a.mount()
        populate(ma.path)
        before, links = snapshot(ma.path)
        assert links == [["proj/data/f02", "proj/hard"]]

        # Dump while the mount runs (one SQLite snapshot).
        d1 = tmp_path / "a.json"
        r = run(strata, "dump", vol_a.meta_url, str(d1))
        assert "consistency: snapshot" in r.stderr
        assert "secret_key" not in setting(d1)

        # -> Redis + s3rver: metadata by load (pointed at the new store), blocks by sync.
        bucket = f"migrate-{os.getpid()}"
        endpoint = f"http://127.0.0.1:{clouds['s3']}"
        create_bucket(endpoint, bucket)
        keys = ["--access-key", "S3RVER", "--secret-key", "S3RVER"]
        redis_url = f"redis://127.0.0.1:{clouds['redis']}/3"
        run(strata, "load", redis_url, str(d1), "--storage", f"{endpoint}/{bucket}", *keys)
        s = run(strata, "sync", f"file://{a_root}/data/", f"{endpoint}/{bucket}/", *keys)
        assert " failed 0 " in s.stdout, s.stdout
        again = run(strata, "sync", f"file://{a_root}/data/", f"{endpoint}/{bucket}/", *keys)
        assert "copied 0 " in again.stdout, again.stdout  # resumable: nothing left to copy

        b_root = tmp_path / "b"
        b_root.mkdir()
        vol_b = Volume(strata, str(b_root), redis_url, f"{endpoint}/{bucket}", keys)
        mb = vol_b.mount()
        assert snapshot(mb.path) == (before, links)
        mb.unmount()

        # -> SQLite + file:// again.
        d2 = tmp_path / "b.json"
        run(strata, "dump", redis_url, str(d2), "--keep-secret-key")
        assert setting(d2)["secret_key"] == "S3RVER"
        d2_plain = tmp_path / "b-plain.json"
        run(strata, "dump", redis_url, str(d2_plain))
        assert "secret_key" not in setting(d2_plain) and "S3RVER" in setting(d2_plain)["access_key"]
        c_root = tmp_path / "c"
        c_root.mkdir()
        c_meta = f"sqlite3://{c_root}/meta.db"
        run(strata, "load", c_meta, str(d2), "--storage", f"file://{c_root}/data")
        s = run(strata, "sync", f"{endpoint}/{bucket}/", f"file://{c_root}/data/", *keys)
        assert " failed 0 " in s.stdout, s.stdout
        vol_c = Volume(strata, str(c_root), c_meta, f"file://{c_root}/data", [])
        mc = vol_c.mount()
        assert snapshot(mc.path) == (before, links)
        mc.unmount()

        # dump -> load -> dump is identical after normalising order.
        d3 = tmp_path / "c.json"
        run(strata, "dump", c_meta, str(d3))
        # (the mounts in between took session ids: nothing else differs)
        def without_sessions(path):
            return [r for r in records(path) if '"nextSession"' not in r]
        assert without_sessions(d1) == without_sessions(d2) == without_sessions(d3)
        # A straight round trip, no mount in between, is identical as it is.
        e_root = tmp_path / "e"
        e_root.mkdir()
        run(strata, "load", f"sqlite3://{e_root}/meta.db", str(d3))
        d4 = tmp_path / "e.json"
        run(strata, "dump", f"sqlite3://{e_root}/meta.db", str(d4))
        assert records(d3) == records(d4)
        r = run(strata, "fsck", c_meta, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        vol_a.close()


def test_tenant_moves_between_volumes_while_written(strata, tmp_path):
    vols = []
    for name in ("a", "b"):
        root = tmp_path / name
        root.mkdir()
        v = Volume(strata, str(root), f"sqlite3://{root}/meta.db", f"file://{root}/data", [])
        v.format()
        vols.append(v)
    va, vb = vols
    try:
        ma = va.mount()
        tenant = os.path.join(ma.path, "tenant1")
        populate(tenant)
        os.makedirs(os.path.join(ma.path, "tenant2"))
        with open(os.path.join(ma.path, "tenant2", "not-moved"), "wb") as f:
            f.write(b"x")

        stop = threading.Event()
        written = []

        def writer():
            i = 0
            while not stop.is_set():
                p = os.path.join(tenant, "live", f"w{i % 7}")
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "ab") as f:
                    f.write(os.urandom(1000))
                written.append(f"live/w{i % 7}")
                i += 1
                time.sleep(0.005)

        args = ["sync", "strata:///tenant1", "strata:///tenant1", "--src-meta", va.meta_url,
                "--dst-meta", vb.meta_url, "--threads", "4"]
        t = threading.Thread(target=writer)
        t.start()
        try:
            first = run(strata, *args)
        finally:
            stop.set()
            t.join()
        assert " failed 0 " in first.stdout, first.stdout
        assert written

        # Known changes after the first sync; the second copies only what differs.
        with open(os.path.join(tenant, "proj", "data", "f07"), "ab") as f:
            f.write(b"more")
        with open(os.path.join(tenant, "new-file"), "wb") as f:
            f.write(b"new")
        plan = run(strata, *args, "--dry-run")
        # Files to copy, and directories to make (the writer's "live/" when the first listing
        # ran before the writer created it): both count as copied.
        planned = {l.split(" ", 1)[1] for l in plan.stdout.splitlines() if l.startswith("copy ")}
        planned |= {l[len("make directory "):] for l in plan.stdout.splitlines()
                    if l.startswith("make directory ")}
        assert {"proj/data/f07", "new-file"} <= planned, plan.stdout
        assert planned <= {"proj/data/f07", "new-file", "live/"} | set(written), plan.stdout
        second = run(strata, *args)
        assert f"copied {len(planned)} " in second.stdout, second.stdout
        third = run(strata, *args)
        assert "copied 0 " in third.stdout and " failed 0 " in third.stdout, third.stdout

        mb = vb.mount()
        got, want = snapshot(os.path.join(mb.path, "tenant1")), snapshot(tenant)
        diff = {k: (got[0].get(k), want[0].get(k)) for k in set(got[0]) | set(want[0])
                if got[0].get(k) != want[0].get(k)}
        assert not diff and got[1] == want[1], (diff, got[1], want[1])
        assert not os.path.exists(os.path.join(mb.path, "tenant2"))

        # --delete-dst removes what the source no longer has.
        os.unlink(os.path.join(tenant, "new-file"))
        run(strata, *args, "--delete-dst")
        mb.unmount()
        mb = vb.mount()
        assert not os.path.exists(os.path.join(mb.path, "tenant1", "new-file"))
    finally:
        for v in vols:
            v.close()


def test_bad_input_is_refused_and_changes_nothing(strata, tmp_path, clouds):
    root = tmp_path / "v"
    root.mkdir()
    vol = Volume(strata, str(root), f"sqlite3://{root}/meta.db", f"file://{root}/data", [])
    vol.format()
    m = vol.mount()
    populate(m.path)
    good = tmp_path / "good.json"
    run(strata, "dump", vol.meta_url, str(good))
    m.unmount()
    text = good.read_text()
    lines = text.splitlines(keepends=True)

    def load_fails(content, want):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        target = f"redis://127.0.0.1:{clouds['redis']}/5"
        r = run(strata, "load", target, str(bad), "--batch", "5", check=False)
        assert r.returncode == 1 and want in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()[-1]) < 400
        # No record stays (the engine's own layout marker and commit counter may).
        keys = subprocess.run(["redis-cli", "-p", str(clouds["redis"]), "-n", "5", "zcard", "i"],
                              capture_output=True, text=True).stdout.strip()
        assert keys == "0", keys
        return r

    # Truncated in the middle of a line, and cut at a line boundary before the end record.
    load_fails(text[: len(text) // 2], "line")
    load_fails("".join(lines[:-1]), "truncated dump")
    corrupt = list(lines)
    corrupt[len(lines) // 2] = '{"t":"attr","ino":3,\n'
    r = load_fails("".join(corrupt), f"dump line {len(lines) // 2 + 1}")
    assert "byte" in r.stderr and "emptied" in r.stderr

    # A non-empty target: refused, untouched.
    r = run(strata, "load", vol.meta_url, str(good), check=False)
    assert r.returncode == 1 and "not empty" in r.stderr
    # Unreachable store and engine: one clear line each.
    dead = free_port()
    r = run(strata, "sync", f"file://{root}/data/", f"http://127.0.0.1:{dead}/bucket/",
            "--access-key", "a", "--secret-key", "b", check=False)
    assert r.returncode == 1 and "destination" in r.stderr, r.stderr
    r = run(strata, "load", f"redis://127.0.0.1:{dead}/0", str(good), check=False)
    assert r.returncode == 1 and r.stderr.startswith("strata: load:"), r.stderr
