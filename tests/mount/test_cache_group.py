"""The cache group (DESIGN.md §7, issue 14): several mounts of one volume on this machine stand
in for several machines, each with its own cache directory and 127.0.0.1 peer port. Store GETs
are counted through each mount's --metrics (strata_object_requests_total{op="get"})."""
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import Volume, free_port
from test_metrics import scrape
from test_outages import S3rver

pytestmark = pytest.mark.full_only

MiB = 1 << 20
BLOCK = 4 * MiB


class Member:
    def __init__(self, mount, metrics_port, peer_port):
        self.mount, self.metrics_port, self.peer_port = mount, metrics_port, peer_port

    def gets(self):
        # Every series also carries the mount's constant labels (volume, mount_point): match
        # on the name and op only.
        return sum(v for (name, labels), v in scrape(self.metrics_port).items()
                   if name == "strata_object_requests_total" and ("op", "get") in labels)

    def status(self):
        r = self.mount_run("cache", "status", "--json")
        return json.loads(r.stdout)

    def mount_run(self, *args):
        r = subprocess.run([self.mount.strata, *args, self.mount.path], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    def read(self, name):
        with open(os.path.join(self.mount.path, name), "rb") as f:
            return f.read()


def join(vol, group, *extra, cache=True):
    """A mount of `vol` in `group`, with its own cache dir, metrics and peer port."""
    i = len(vol.mounts)
    metrics, peer = free_port(), free_port()
    args = ["--metrics", f"127.0.0.1:{metrics}", "--cache-group", group,
            "--group-listen", f"127.0.0.1:{peer}", "--attr-timeout", "0"]
    if cache:
        args += ["--cache-dir", os.path.join(vol.root, f"cache-{group}-{i}"), "--cache-size", "1G"]
    m = vol.mount(None, *args, *extra)
    return Member(m, metrics, peer)


def wait_members(members, n, timeout=30):
    """Until every mount's ring has n members (membership is re-read every 2 s)."""
    deadline = time.monotonic() + timeout
    for m in members:
        while len(m.status()["group"]["members"]) != n:
            assert time.monotonic() < deadline, m.status()
            time.sleep(0.2)


def write_cold(vol, name, data):
    """Writes through a plain mount (no group, no disk cache) that is then unmounted, so no
    member has the blocks yet."""
    w = vol.mount(None)
    with open(os.path.join(w.path, name), "wb") as f:
        f.write(data)
    w.unmount()
    vol.mounts.remove(w)


def test_one_cold_read_then_the_others_read_without_a_store_get(fresh_volume):
    pytest.importorskip("prometheus_client")
    vol = fresh_volume
    data = os.urandom(6 * BLOCK + 12345)  # 7 blocks
    write_cold(vol, "big", data)
    a, b, c = (join(vol, "g1") for _ in range(3))
    d = join(vol, "g1", "--no-sharing")  # reads through the group, serves nothing
    wait_members([a, b, c, d], 3)
    before = sum(m.gets() for m in (a, b, c, d))
    assert a.read("big") == data
    # Each block was fetched from the store exactly once, by its owner, whoever owns it.
    assert sum(m.gets() for m in (a, b, c, d)) - before == 7
    for m in (b, c, d):
        own = m.gets()
        assert m.read("big") == data
        assert m.gets() == own, "a member read from the store after the group had the blocks"
    st = d.status()
    assert st["group"]["peer_hits"] == 7 and st["group"]["address"] == ""
    assert a.status()["group"]["served"] + b.status()["group"]["served"] + \
        c.status()["group"]["served"] >= 7
    # The same counts as Prometheus counters (rate() works on them).
    def series(m, name, label=None):
        return sum(v for (n, labels), v in scrape(m.metrics_port).items()
                   if n == name and (label is None or label in labels))
    assert series(d, "strata_group_peer_bytes_total") >= len(data)
    assert sum(series(m, "strata_group_requests_total", ("result", "served"))
               for m in (a, b, c)) >= 7


def test_store_stopped_after_warmup_the_group_serves_every_byte(strata, tmp_path):
    pytest.importorskip("prometheus_client")
    from conftest import create_bucket
    s3 = S3rver(tmp_path / "s3")
    if not os.path.exists(s3.bin):
        pytest.skip("s3rver not installed (scripts/install-deps)")
    os.makedirs(s3.dir)
    os.chmod(tmp_path, 0o755)
    s3.start()
    vol = None
    try:
        endpoint = f"http://127.0.0.1:{s3.port}"
        create_bucket(endpoint, "group")
        vol = Volume(strata, str(tmp_path), f"sqlite3://{tmp_path}/meta.db",
                     f"{endpoint}/group", ["--access-key", "S3RVER", "--secret-key", "S3RVER"])
        vol.format()
        files = {f"d/f{i}": os.urandom(BLOCK + i * 300000) for i in range(3)}
        w = vol.mount(None)
        os.mkdir(os.path.join(w.path, "d"))
        for name, data in files.items():
            with open(os.path.join(w.path, name), "wb") as f:
                f.write(data)
        w.unmount()
        vol.mounts.remove(w)
        a, b = join(vol, "g2"), join(vol, "g2")
        # Empty memory and disk caches of its own; joins before the store goes (a mount checks
        # that the store is reachable).
        reader = join(vol, "g2", "--no-sharing", "--io-timeout", "2", "--io-retries", "1")
        wait_members([a, b, reader], 2)
        r = subprocess.run([strata, "warmup", "--threads", "4", os.path.join(a.mount.path, "d")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "3 files" in r.stdout, r.stdout
        r = subprocess.run([strata, "warmup", "--check", os.path.join(a.mount.path, "d")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "(100.0%)" in r.stdout, r.stdout + r.stderr
        s3.kill()
        for name, data in files.items():
            assert reader.read(name) == data
        assert reader.gets() == 0
        assert reader.status()["group"]["peer_hits"] == 5  # 1 + 2 + 2 blocks
    finally:
        if vol:
            vol.close()
        s3.close()


def test_peer_killed_mid_read_the_read_completes_from_the_store(fresh_volume):
    pytest.importorskip("prometheus_client")
    vol = fresh_volume
    data = os.urandom(24 * BLOCK)
    write_cold(vol, "big", data)
    a, b = join(vol, "g3"), join(vol, "g3")
    reader = join(vol, "g3", "--no-sharing", "--group-timeout", "1")
    wait_members([a, b, reader], 2)
    got = bytearray()
    with open(os.path.join(reader.mount.path, "big"), "rb") as f:
        got += f.read(BLOCK)
        a.mount.kill()
        vol.mounts.remove(a.mount)
        start = time.monotonic()
        while True:
            chunk = f.read(8 * MiB)
            if not chunk:
                break
            got += chunk
        took = time.monotonic() - start
    assert bytes(got) == data
    assert took < 30, took  # a hang guard, not a speed test
    st = reader.status()["group"]
    assert st["peer_errors"] + st["skipped_down"] > 0, st  # it did meet the dead peer
    assert reader.gets() > 0  # and went to the store for its blocks


def _sign(secret, method, key, length, nonce):
    ts = str(int(time.time()))
    msg = f"req\n{method}\n{key}\n{length}\n{ts}\n{nonce}".encode()
    return f"2 {ts} {nonce} " + hmac.new(secret, msg, hashlib.sha256).hexdigest()


def _secret(setting, group):
    """docs/format/peer-protocol.md: HMAC-SHA256(uuid, "strata-peer/1\\n" + name + "\\n" +
    settings secret + "\\n" + group), written here from the document, not from the code."""
    msg = f"strata-peer/1\n{setting['name']}\n{setting.get('secret_key', '')}\n{group}"
    return hmac.new(setting["uuid"].encode(), msg.encode(), hashlib.sha256).digest()


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        got = sock.recv(n - len(buf))
        if not got:
            break
        buf += got
    return buf


def _get(port, key, length, auth):
    """A GET in peer protocol 2 (docs/format/peer-protocol.md, written here from the
    document): returns (status, body, crc, mac); status None when the member closed the
    connection without answering."""
    a, k = (auth or "").encode(), key.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"SPQ2" + struct.pack(">BBHIIH", 1, 0, len(k), length, 0, len(a)) + a + k)
        head = _recv_exact(s, 16)
        if len(head) < 16:
            return None, b"", None, None
        magic, status, mac_len, body_len, crc = struct.unpack(">4sHHII", head)
        assert magic == b"SPA2"
        mac = _recv_exact(s, mac_len).decode()
        return status, _recv_exact(s, body_len), crc, mac


def test_another_volume_naming_the_same_group_cannot_read_its_blocks(strata, tmp_path_factory):
    pytest.importorskip("prometheus_client")
    roots = [tmp_path_factory.mktemp(n) for n in ("v1", "v2")]
    vols = []
    try:
        for i, root in enumerate(roots):
            os.chmod(root, 0o755)
            v = Volume(strata, str(root), f"sqlite3://{root}/meta.db", f"file://{root}/data", [])
            v.format(name=f"vol{i}")
            vols.append(v)
        data = os.urandom(BLOCK)
        a = join(vols[0], "shared")
        with open(os.path.join(a.mount.path, "f"), "wb") as f:
            f.write(data)
        x = join(vols[1], "shared")  # same group name, another volume
        # vol1's member never lists vol0's: membership comes from each volume's own metadata.
        assert [m["id"] for m in x.status()["group"]["members"]] == [f"127.0.0.1:{x.peer_port}"]
        setting = [json.loads(vols[i].run("status", vols[i].meta_url).stdout)["setting"]
                   for i in range(2)]
        keys = [os.path.relpath(os.path.join(r, n), os.path.join(str(roots[0]), "data"))
                for r, _, fs in os.walk(os.path.join(str(roots[0]), "data", "vol0", "chunks"))
                for n in fs]
        assert keys, "no block in the store"
        key, length = keys[0], int(keys[0].rsplit("_", 1)[1])
        nonce = secrets.token_hex(8)
        # Signed with vol1's secret (a mount of the other volume), or not at all: 403.
        for auth in (_sign(_secret(setting[1], "shared"), "GET", key, length, nonce), None):
            status, body, _, mac = _get(a.peer_port, key, length, auth)
            assert status == 403 and data[:length] not in body and mac == ""
        # The same request signed with vol0's own secret is served (the signer is right).
        status, body, crc, mac = _get(a.peer_port, key, length,
                                      _sign(_secret(setting[0], "shared"), "GET", key, length,
                                            nonce))
        assert status == 200 and body == data[:length]
        want = hmac.new(_secret(setting[0], "shared"),
                        f"reply\n{nonce}\n200\n{crc:08x}\n{length}".encode(),
                        hashlib.sha256).hexdigest()
        assert mac == want
        # A version 1 member (HTTP/1.1) is told which version this one speaks, and gets no block.
        req = urllib.request.Request(f"http://127.0.0.1:{a.peer_port}/v1/block/{key}?len={length}")
        req.add_header("X-Strata-Peer", _sign(_secret(setting[0], "shared"), "GET", key, length,
                                              nonce).replace("2 ", "1 ", 1))
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 403 and b"peer protocol 2" in e.value.read()
        assert a.status()["group"]["denied"] >= 3
    finally:
        for v in vols:
            v.close()
