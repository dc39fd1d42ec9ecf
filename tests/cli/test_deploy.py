"""deploy/kubernetes/: every manifest parses, and the pieces name each other consistently
(driver name, socket paths, secrets, service accounts, claims), and every `strata csi` flag
the manifests pass exists in the binary."""
import glob
import os
import re
import subprocess

import pytest

yaml = pytest.importorskip("yaml")

SRC = os.environ.get("STRATA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SRC, "deploy", "kubernetes")


@pytest.fixture(scope="module")
def objs():
    out = []
    files = sorted(glob.glob(os.path.join(DEPLOY, "*.yaml")))
    assert files, "no manifests in deploy/kubernetes"
    for f in files:
        with open(f) as fh:
            for doc in yaml.safe_load_all(fh):
                assert doc and "kind" in doc and "apiVersion" in doc, f
                assert doc.get("metadata", {}).get("name"), f
                out.append(doc)
    return out


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in found])
    return found[0]


def container(pod_spec, name):
    return next(c for c in pod_spec["containers"] if c["name"] == name)


def flags(c):
    out = {}
    for a in c.get("args", []):
        m = re.match(r"--([a-z-]+)(?:=(.*))?$", a)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def mount_of(pod_spec, c, path):
    vm = next(v for v in c["volumeMounts"] if v["mountPath"] == path)
    vol = next(v for v in pod_spec["volumes"] if v["name"] == vm["name"])
    return vm, vol


def csi_help():
    strata = os.environ.get("STRATA_BIN", "strata")
    return subprocess.run([strata, "csi", "--help"], capture_output=True, text=True,
                          timeout=30).stdout


def test_driver_names_and_sockets_agree(objs):
    driver = one(objs, "CSIDriver")
    name = driver["metadata"]["name"]
    assert driver["spec"]["attachRequired"] is False  # we serve no ControllerPublish
    help_text = csi_help()
    known = set(re.findall(r"--([a-z-]+)", help_text))
    sc = one(objs, "StorageClass")
    assert sc["provisioner"] == name and sc["allowVolumeExpansion"] is True

    node = one(objs, "DaemonSet")["spec"]["template"]["spec"]
    ctl = one(objs, "Deployment")["spec"]["template"]["spec"]
    for spec, mode, sidecars in ((node, "node", ["node-driver-registrar"]),
                                 (ctl, "controller", ["csi-provisioner", "csi-resizer"])):
        plugin = container(spec, "strata-plugin")
        assert plugin["args"][0] == "csi"
        f = flags(plugin)
        assert set(f) <= known, set(f) - known
        assert f["mode"] == mode and f["driver-name"] == name
        sock = f["endpoint"].removeprefix("unix://")
        sock_dir = os.path.dirname(sock)
        _, plugin_vol = mount_of(spec, plugin, sock_dir)
        for s in sidecars:
            sc_c = container(spec, s)
            assert flags(sc_c)["csi-address"] == sock, s
            _, vol = mount_of(spec, sc_c, sock_dir)
            assert vol == plugin_vol, f"{s} shares the socket's volume"
    # kubelet finds the node socket on the host where the plugin directory is.
    registrar = container(node, "node-driver-registrar")
    _, plugin_vol = mount_of(node, container(node, "strata-plugin"), "/csi")
    assert flags(registrar)["kubelet-registration-path"] == \
        plugin_vol["hostPath"]["path"] + "/csi.sock"
    assert name in plugin_vol["hostPath"]["path"]
    _, reg_vol = mount_of(node, registrar, "/registration")
    assert reg_vol["hostPath"]["path"] == "/var/lib/kubelet/plugins_registry"


def test_node_plugin_can_mount(objs):
    node = one(objs, "DaemonSet")["spec"]["template"]["spec"]
    plugin = container(node, "strata-plugin")
    assert plugin["securityContext"]["privileged"] is True
    f = flags(plugin)
    assert f["node-id"] == "$(NODE_NAME)"
    env = {e["name"]: e for e in plugin["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    for path in ("/var/lib/kubelet", f["state-dir"]):
        vm, vol = mount_of(node, plugin, path)
        assert vm["mountPropagation"] == "Bidirectional", path
        assert vol["hostPath"]["path"] == path
    _, fuse = mount_of(node, plugin, "/dev/fuse")
    assert fuse["hostPath"]["type"] == "CharDevice"


def test_secrets_and_accounts_resolve(objs):
    sc = one(objs, "StorageClass")
    p = sc["parameters"]
    for step in ("provisioner", "controller-expand", "node-publish"):
        name = p[f"csi.storage.k8s.io/{step}-secret-name"]
        ns = p[f"csi.storage.k8s.io/{step}-secret-namespace"]
        secret = one(objs, "Secret", name)
        assert secret["metadata"]["namespace"] == ns
        assert "metaurl" in secret["stringData"]
    for kind in ("DaemonSet", "Deployment"):
        w = one(objs, kind)
        sa = one(objs, "ServiceAccount", w["spec"]["template"]["spec"]["serviceAccountName"])
        assert sa["metadata"]["namespace"] == w["metadata"]["namespace"]
        sel = w["spec"]["selector"]["matchLabels"]
        assert sel.items() <= w["spec"]["template"]["metadata"]["labels"].items()
    crb = one(objs, "ClusterRoleBinding")
    assert crb["subjects"][0]["name"] == one(objs, "Deployment")["spec"]["template"]["spec"][
        "serviceAccountName"]
    one(objs, "ClusterRole", crb["roleRef"]["name"])


def test_example_rwx_two_pods_two_subpaths(objs):
    sc = one(objs, "StorageClass")
    pvc = one(objs, "PersistentVolumeClaim", "agents")
    assert pvc["spec"]["storageClassName"] == sc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    pods = [o for o in objs if o["kind"] == "Pod"]
    assert len(pods) == 2
    subpaths = []
    for pod in pods:
        spec = pod["spec"]
        assert pod["metadata"]["namespace"] == pvc["metadata"]["namespace"]
        vol = next(v for v in spec["volumes"] if "persistentVolumeClaim" in v)
        assert vol["persistentVolumeClaim"]["claimName"] == "agents"
        vm = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == vol["name"])
        subpaths.append(vm["subPath"])
    assert len(set(subpaths)) == 2, "each pod sees its own directory"


def test_static_pv(objs):
    pv = one(objs, "PersistentVolume")
    c = pv["spec"]["csi"]
    assert c["driver"] == one(objs, "CSIDriver")["metadata"]["name"]
    assert c["volumeHandle"] and c["volumeAttributes"]["subdir"]
    one(objs, "Secret", c["nodePublishSecretRef"]["name"])
    claim = next(o for o in objs if o["kind"] == "PersistentVolumeClaim"
                 and o["spec"].get("volumeName") == pv["metadata"]["name"])
    assert claim["spec"]["storageClassName"] == ""
