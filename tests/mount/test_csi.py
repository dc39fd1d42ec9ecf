"""The CSI driver (`strata csi`) driven through its unix socket by a gRPC client, as kubelet
and the CSI sidecars would: every RPC we serve, RWX publishes of one volume to two targets,
read-only publishes, idempotency, unpublish, and the error codes of bad requests. The mounts
underneath are checked through system calls (stat, open, /proc/self/mountinfo).

The client stubs are generated at test time from our src/csi/csi.proto with Debian's protoc and
grpc_python_plugin, into a temporary directory.
"""
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import is_mounted

pytestmark = pytest.mark.full_only

SRC = os.environ.get("STRATA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GiB = 1 << 30


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    grpc = pytest.importorskip("grpc")
    plugin = shutil.which("grpc_python_plugin")
    if not shutil.which("protoc") or not plugin:
        pytest.skip("protoc / grpc_python_plugin not installed (scripts/install-deps)")
    out = tmp_path_factory.mktemp("csi_stubs")
    subprocess.run(["protoc", "-I", os.path.join(SRC, "src", "csi"), "-I", "/usr/include",
                    f"--python_out={out}", f"--grpc_python_out={out}",
                    f"--plugin=protoc-gen-grpc_python={plugin}", "csi.proto"], check=True)
    sys.path.insert(0, str(out))
    try:
        m = importlib.import_module("csi_pb2")
        g = importlib.import_module("csi_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    return m, g, grpc


def fuse_mounts_under(path):
    """Mount points of fuse.strata mounts below `path` (from /proc/self/mountinfo)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            dash = parts.index("-")
            if parts[4].startswith(path + "/") and parts[dash + 1].startswith("fuse"):
                found.append(parts[4])
    return found


def processes_serving(path):
    """Pids of live processes whose command line names `path` (the shared mount's daemon)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if path.encode() in args:
            pids.append(int(pid))
    return pids


def wait_until(cond, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def mountinfo(path):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if parts[4] == path:
                return {"dev": parts[2], "root": parts[3], "opts": parts[5].split(",")}
    return None


class Csi:
    def __init__(self, strata, root, pb):
        self.m, g, self.grpc = pb
        self.root = str(root)
        self.sock = os.path.join(self.root, "csi.sock")
        self.state = os.path.join(self.root, "state")
        self.log = os.path.join(self.root, "csi.log")
        self.proc = subprocess.Popen(
            [strata, "csi", "--endpoint", "unix://" + self.sock, "--node-id", "node-1",
             "--state-dir", self.state, "--log", self.log],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while not os.path.exists(self.sock):
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.time() < deadline, "csi socket never appeared"
            time.sleep(0.05)
        self.channel = self.grpc.insecure_channel("unix://" + self.sock)
        self.identity = g.IdentityStub(self.channel)
        self.controller = g.ControllerStub(self.channel)
        self.node = g.NodeStub(self.channel)

    def rwx(self, readonly_mode=False, flags=()):
        AM = self.m.VolumeCapability.AccessMode
        cap = self.m.VolumeCapability(
            access_mode=AM(mode=AM.MULTI_NODE_READER_ONLY if readonly_mode
                           else AM.MULTI_NODE_MULTI_WRITER))
        cap.mount.mount_flags.extend(flags)
        return cap

    def code(self, fn, req):
        with pytest.raises(self.grpc.RpcError) as e:
            fn(req, timeout=60)
        return e.value.code(), e.value.details()

    def close(self):
        self.channel.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        # Whatever a failed test left mounted goes away (binds first, then shared mounts).
        for path in fuse_mounts_under(self.root)[::-1]:
            subprocess.run(["umount", "-l", path], capture_output=True)


@pytest.fixture
def csi(strata, fresh_volume, pb, tmp_path):
    c = Csi(strata, tmp_path, pb)
    c.secrets = {"metaurl": fresh_volume.meta_url}
    yield c
    c.close()


def test_identity_and_capabilities(csi):
    m = csi.m
    info = csi.identity.GetPluginInfo(m.GetPluginInfoRequest(), timeout=10)
    assert info.name == "csi.strata.io" and info.vendor_version
    caps = csi.identity.GetPluginCapabilities(m.GetPluginCapabilitiesRequest(), timeout=10)
    services = [c.service.type for c in caps.capabilities if c.HasField("service")]
    expansion = [c.volume_expansion.type for c in caps.capabilities
                 if c.HasField("volume_expansion")]
    assert services == [m.PluginCapability.Service.CONTROLLER_SERVICE]
    assert expansion == [m.PluginCapability.VolumeExpansion.ONLINE]
    probe = csi.identity.Probe(m.ProbeRequest(), timeout=10)
    assert probe.HasField("ready") and probe.ready.value
    ccaps = csi.controller.ControllerGetCapabilities(m.ControllerGetCapabilitiesRequest(),
                                                     timeout=10)
    rpc = m.ControllerServiceCapability.RPC
    assert sorted(c.rpc.type for c in ccaps.capabilities) == [rpc.CREATE_DELETE_VOLUME,
                                                              rpc.EXPAND_VOLUME]
    ncaps = csi.node.NodeGetCapabilities(m.NodeGetCapabilitiesRequest(), timeout=10)
    assert list(ncaps.capabilities) == []  # no staging: kubelet publishes directly
    assert csi.node.NodeGetInfo(m.NodeGetInfoRequest(), timeout=10).node_id == "node-1"


def test_controller_create_expand_validate_delete(csi, fresh_volume):
    m = csi.m
    # Trash on, so that DeleteVolume's files can be found (and restored) there.
    fresh_volume.run("format", fresh_volume.meta_url, "testvol", "--storage",
                     fresh_volume.storage, "--trash-days", "1", *fresh_volume.extra_format)
    req = m.CreateVolumeRequest(name="pvc-0001", volume_capabilities=[csi.rwx()],
                                capacity_range=m.CapacityRange(required_bytes=GiB),
                                parameters={"basedir": "/k8s"}, secrets=csi.secrets)
    v = csi.controller.CreateVolume(req, timeout=60).volume
    assert v.volume_id == "k8s/pvc-0001" and v.capacity_bytes == GiB
    assert dict(v.volume_context) == {"subdir": "k8s/pvc-0001"}
    # Idempotent with the same request; a different capacity for the same name is refused.
    assert csi.controller.CreateVolume(req, timeout=60).volume.volume_id == v.volume_id
    other = m.CreateVolumeRequest()
    other.CopyFrom(req)
    other.capacity_range.required_bytes = 2 * GiB
    code, msg = csi.code(csi.controller.CreateVolume, other)
    assert code == csi.grpc.StatusCode.ALREADY_EXISTS, msg

    mnt = fresh_volume.mount()
    d = os.path.join(mnt.path, "k8s", "pvc-0001")
    assert os.path.isdir(d) and os.stat(d).st_mode & 0o777 == 0o777
    # The capacity is a directory quota: statfs inside the PV directory reports it.
    st = os.statvfs(d)
    assert st.f_blocks * st.f_frsize == GiB
    with open(os.path.join(d, "data"), "w") as f:
        f.write("tenant bytes\n")

    exp = csi.controller.ControllerExpandVolume(m.ControllerExpandVolumeRequest(
        volume_id=v.volume_id, capacity_range=m.CapacityRange(required_bytes=3 * GiB),
        secrets=csi.secrets), timeout=60)
    assert exp.capacity_bytes == 3 * GiB and not exp.node_expansion_required
    smaller = csi.controller.ControllerExpandVolume(m.ControllerExpandVolumeRequest(
        volume_id=v.volume_id, capacity_range=m.CapacityRange(required_bytes=GiB),
        secrets=csi.secrets), timeout=60)
    assert smaller.capacity_bytes == 3 * GiB, "expansion never shrinks"
    q = json.loads(fresh_volume.run("quota", "get", fresh_volume.meta_url, "--path",
                                    "/k8s/pvc-0001", "--json").stdout)
    assert q[0]["max_bytes"] == 3 * GiB and q[0]["used_bytes"] == len("tenant bytes\n")

    val = csi.controller.ValidateVolumeCapabilities(m.ValidateVolumeCapabilitiesRequest(
        volume_id=v.volume_id, volume_context=v.volume_context,
        volume_capabilities=[csi.rwx()], secrets=csi.secrets), timeout=60)
    assert list(val.confirmed.volume_capabilities) == [csi.rwx()]
    block = m.VolumeCapability(block=m.VolumeCapability.BlockVolume(),
                               access_mode=csi.rwx().access_mode)
    val = csi.controller.ValidateVolumeCapabilities(m.ValidateVolumeCapabilitiesRequest(
        volume_id=v.volume_id, volume_capabilities=[block]), timeout=60)
    assert not val.HasField("confirmed") and "block" in val.message
    code, _ = csi.code(csi.controller.ValidateVolumeCapabilities,
                       m.ValidateVolumeCapabilitiesRequest(
                           volume_id="k8s/nope", volume_capabilities=[csi.rwx()],
                           secrets=csi.secrets))
    assert code == csi.grpc.StatusCode.NOT_FOUND

    dreq = m.DeleteVolumeRequest(volume_id=v.volume_id, secrets=csi.secrets)
    csi.controller.DeleteVolume(dreq, timeout=60)
    # The controller is another client: a directory this mount changed within the last second
    # (the file above) keeps answering stat from that change for up to --attr-timeout (1 s).
    gone_by = time.time() + 3
    while os.path.exists(d):
        assert time.time() < gone_by, "the deleted volume directory is still there after 3 s"
        time.sleep(0.05)
    assert os.path.isdir(os.path.join(mnt.path, "k8s"))
    csi.controller.DeleteVolume(dreq, timeout=60)  # idempotent: gone is gone
    trash = json.loads(fresh_volume.run("trash", "list", fresh_volume.meta_url,
                                        "--json").stdout)
    assert [e["name"] for e in trash] == ["data"], "the PV's files went to the trash"


def publish_req(csi, target, subdir=None, readonly=False, volume_id="vol-1", secrets=None,
                cap=None):
    ctx = {"subdir": subdir} if subdir is not None else {}
    return csi.m.NodePublishVolumeRequest(
        volume_id=volume_id, target_path=target, volume_capability=cap or csi.rwx(),
        readonly=readonly, secrets=csi.secrets if secrets is None else secrets,
        volume_context=ctx)


def test_node_publish_rwx_readonly_idempotent_unpublish(csi, fresh_volume, tmp_path):
    m = csi.m
    v = csi.controller.CreateVolume(m.CreateVolumeRequest(
        name="pvc-rwx", volume_capabilities=[csi.rwx()], secrets=csi.secrets),
        timeout=60).volume
    pods = tmp_path / "pods"
    pods.mkdir()
    t1, t2, t3 = (str(pods / n / "mount") for n in ("a", "b", "c"))
    for t in (t1, t2):
        csi.node.NodePublishVolume(publish_req(csi, t, v.volume_context["subdir"],
                                               volume_id=v.volume_id), timeout=60)
    # Two pods on this node: two binds of one shared mount (one strata process).
    shared = fuse_mounts_under(csi.state)
    assert len(shared) == 1, shared
    i1, i2, ishared = mountinfo(t1), mountinfo(t2), mountinfo(shared[0])
    assert i1["dev"] == i2["dev"] == ishared["dev"]
    assert i1["root"] == i2["root"] == "/pvc-rwx" and ishared["root"] == "/"
    assert os.stat(t1).st_dev == os.stat(t2).st_dev
    assert len(processes_serving(shared[0])) == 1, "one strata mount process for both pods"
    # The secret's URL reaches the mount through its environment, never its command line
    # (which every user of the node can read in ps).
    with open(f"/proc/{processes_serving(shared[0])[0]}/cmdline", "rb") as f:
        assert csi.secrets["metaurl"].encode() not in f.read()

    # RWX: what one pod writes in its subPath the other reads, and the volume holds it there.
    os.makedirs(os.path.join(t1, "agent-a"))
    with open(os.path.join(t1, "agent-a", "notes"), "w") as f:
        f.write("from pod a\n")
    with open(os.path.join(t2, "agent-a", "notes")) as f:
        assert f.read() == "from pod a\n"
    with open(os.path.join(t2, "from-b"), "w") as f:
        f.write("b")
    assert sorted(os.listdir(t1)) == ["agent-a", "from-b"]

    # Read-only publish of the same volume: a read-only bind of the same shared mount.
    csi.node.NodePublishVolume(publish_req(csi, t3, "pvc-rwx", readonly=True), timeout=60)
    assert "ro" in mountinfo(t3)["opts"] and len(fuse_mounts_under(csi.state)) == 1
    with open(os.path.join(t3, "agent-a", "notes")) as f:
        assert f.read() == "from pod a\n"
    with pytest.raises(OSError) as e:
        open(os.path.join(t3, "nope"), "w")
    assert e.value.errno == 30  # EROFS

    # Idempotent: the same publish again changes nothing; a different one is refused.
    csi.node.NodePublishVolume(publish_req(csi, t1, "pvc-rwx"), timeout=60)
    with open("/proc/self/mountinfo") as f:
        assert sum(1 for l in f if l.split()[4] == t1) == 1
    code, msg = csi.code(csi.node.NodePublishVolume, publish_req(csi, t1, "pvc-rwx",
                                                                 readonly=True))
    assert code == csi.grpc.StatusCode.ALREADY_EXISTS, msg

    # Unpublish: the bind goes, the target directory too; twice is fine; the others stay.
    ureq = m.NodeUnpublishVolumeRequest(volume_id="vol-1", target_path=t1)
    csi.node.NodeUnpublishVolume(ureq, timeout=60)
    assert not is_mounted(t1) and not os.path.exists(t1)
    csi.node.NodeUnpublishVolume(ureq, timeout=60)
    with open(os.path.join(t2, "agent-a", "notes")) as f:
        assert f.read() == "from pod a\n"
    for t in (t2, t3):
        csi.node.NodeUnpublishVolume(m.NodeUnpublishVolumeRequest(volume_id="vol-1",
                                                                  target_path=t), timeout=60)
    # The last pod gone, the shared mount goes too.
    assert fuse_mounts_under(csi.state) == [] and fuse_mounts_under(str(tmp_path)) == []
    assert wait_until(lambda: processes_serving(shared[0]) == []), "its process exited"
    # The data is in the volume, under the PV's directory.
    mnt = fresh_volume.mount()
    with open(os.path.join(mnt.path, "pvc-rwx", "agent-a", "notes")) as f:
        assert f.read() == "from pod a\n"


def test_static_provisioning_and_mount_flags(csi, fresh_volume, tmp_path):
    """A PV written by hand: volumeHandle + volumeAttributes.subdir (created when missing),
    and mount flags, which give the volume a shared mount of its own."""
    a, b = str(tmp_path / "t-a"), str(tmp_path / "t-b")
    csi.node.NodePublishVolume(publish_req(csi, a, "static/team-a", volume_id="static-a"),
                               timeout=60)
    flagged = publish_req(csi, b, "static/team-a", volume_id="static-a",
                          cap=csi.rwx(flags=["attr-timeout=2,noatime"]))
    csi.node.NodePublishVolume(flagged, timeout=60)
    shared = fuse_mounts_under(csi.state)
    assert len(shared) == 2, shared
    assert "noatime" in mountinfo(b)["opts"]
    with open(os.path.join(a, "x"), "w") as f:
        f.write("static")
    with open(os.path.join(b, "x")) as f:
        assert f.read() == "static"
    # The whole volume (no subdir) through the same shared mount as `a`.
    whole = str(tmp_path / "t-whole")
    csi.node.NodePublishVolume(publish_req(csi, whole, volume_id="whole"), timeout=60)
    assert mountinfo(whole)["root"] == "/" and len(fuse_mounts_under(csi.state)) == 2
    with open(os.path.join(whole, "static", "team-a", "x")) as f:
        assert f.read() == "static"
    for t in (a, b, whole):
        csi.node.NodeUnpublishVolume(csi.m.NodeUnpublishVolumeRequest(volume_id="v",
                                                                      target_path=t),
                                     timeout=60)
    assert fuse_mounts_under(csi.state) == []


def test_bad_requests_get_codes_and_leave_nothing(csi, fresh_volume, tmp_path):
    m, C = csi.m, csi.grpc.StatusCode
    t = str(tmp_path / "target")
    cases = [
        (publish_req(csi, t, volume_id=""), C.INVALID_ARGUMENT, "volume_id"),
        (publish_req(csi, "", volume_id="v"), C.INVALID_ARGUMENT, "target_path"),
        (m.NodePublishVolumeRequest(volume_id="v", target_path=t, secrets=csi.secrets),
         C.INVALID_ARGUMENT, "volume_capability"),
        (publish_req(csi, t, cap=m.VolumeCapability(block=m.VolumeCapability.BlockVolume(),
                                                    access_mode=csi.rwx().access_mode)),
         C.INVALID_ARGUMENT, "block"),
        (publish_req(csi, t, secrets={}), C.INVALID_ARGUMENT, "metaurl"),
        (publish_req(csi, t, subdir="../etc"), C.INVALID_ARGUMENT, ".."),
        (publish_req(csi, t, secrets={"metaurl": "nosuch://x/y"}), C.FAILED_PRECONDITION,
         "bad metaurl"),
        (publish_req(csi, t, secrets={"metaurl": f"sqlite3://{tmp_path}/absent.db"}),
         C.FAILED_PRECONDITION, "not formatted"),
    ]
    for req, want, words in cases:
        code, msg = csi.code(csi.node.NodePublishVolume, req)
        assert code == want and words in msg, (req.volume_id, req.target_path, code, msg)
        assert not os.path.exists(t), "a refused publish creates no target"
        assert fuse_mounts_under(str(tmp_path)) == [], "and leaves nothing mounted"
    assert not os.path.exists(f"{tmp_path}/absent.db"), "a bad metaurl creates no database"
    # A password in a metaurl never comes back in a message.
    code, msg = csi.code(csi.node.NodePublishVolume, publish_req(
        csi, t, secrets={"metaurl": "redis://:hunter2secret@127.0.0.1:1/0"}))
    assert code == C.FAILED_PRECONDITION and "hunter2secret" not in msg, msg
    assert not os.path.exists(t) and fuse_mounts_under(str(tmp_path)) == []

    for req in (m.NodeUnpublishVolumeRequest(volume_id="", target_path=t),
                m.NodeUnpublishVolumeRequest(volume_id="v", target_path="")):
        assert csi.code(csi.node.NodeUnpublishVolume, req)[0] == C.INVALID_ARGUMENT

    ctl = [
        (m.CreateVolumeRequest(volume_capabilities=[csi.rwx()], secrets=csi.secrets),
         C.INVALID_ARGUMENT),
        (m.CreateVolumeRequest(name="p", secrets=csi.secrets), C.INVALID_ARGUMENT),
        (m.CreateVolumeRequest(name="p", volume_capabilities=[csi.rwx()]), C.INVALID_ARGUMENT),
        (m.CreateVolumeRequest(name="p", volume_capabilities=[csi.rwx()], secrets=csi.secrets,
                               capacity_range=m.CapacityRange(required_bytes=2, limit_bytes=1)),
         C.OUT_OF_RANGE),
        (m.CreateVolumeRequest(name="p", volume_capabilities=[csi.rwx()],
                               secrets={"metaurl": f"sqlite3://{tmp_path}/absent.db"}),
         C.FAILED_PRECONDITION),
    ]
    for req, want in ctl:
        assert csi.code(csi.controller.CreateVolume, req)[0] == want, req
    assert csi.code(csi.controller.DeleteVolume, m.DeleteVolumeRequest(
        secrets=csi.secrets))[0] == C.INVALID_ARGUMENT
    assert csi.code(csi.controller.DeleteVolume, m.DeleteVolumeRequest(
        volume_id="/", secrets=csi.secrets))[0] == C.INVALID_ARGUMENT
    assert csi.code(csi.controller.ControllerExpandVolume, m.ControllerExpandVolumeRequest(
        volume_id="nope", capacity_range=m.CapacityRange(required_bytes=1),
        secrets=csi.secrets))[0] == C.NOT_FOUND
    assert csi.proc.poll() is None, "the driver survives every bad request"
