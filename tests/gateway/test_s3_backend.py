"""Our own s3:// backend against the gateway: volume B keeps its blocks in a bucket of volume
A, served by A's gateway. B works end to end through its own mount (which also proves our
SigV4 signing against a server that verifies it), and B's blocks are files in A's mount."""
import os

from conftest import ROOT_KEY, ROOT_SECRET, mc, wait_for


def test_volume_on_the_gateway(setup, tmp_path_factory):
    setup.boto().create_bucket(Bucket="backing")
    root = tmp_path_factory.mktemp("volb")
    os.chmod(root, 0o755)
    vol = mc.Volume(setup.vol.strata, str(root), f"sqlite3://{root}/meta.db",
                    f"{setup.endpoint}/backing",
                    ["--access-key", ROOT_KEY, "--secret-key", ROOT_SECRET])
    vol.format("volb")
    try:
        m = vol.mount()
        data = os.urandom(6 << 20)  # two blocks of 4 MiB
        with open(os.path.join(m.path, "f.bin"), "wb") as f:
            f.write(data)
        os.mkdir(os.path.join(m.path, "d"))
        with open(os.path.join(m.path, "d", "small.txt"), "w") as f:
            f.write("small")
        m.unmount()
        m2 = vol.mount()  # a fresh client reads everything back from the gateway
        with open(os.path.join(m2.path, "f.bin"), "rb") as f:
            assert f.read() == data
        with open(os.path.join(m2.path, "d", "small.txt")) as f:
            assert f.read() == "small"
        # B's objects are plain files of A, under the bucket directory.
        blocks = wait_for(lambda: [os.path.join(d, f)
                                   for d, _, fs in os.walk(setup.path("backing")) for f in fs])
        assert any("volb" in b for b in blocks)
        assert sum(os.path.getsize(b) for b in blocks) >= len(data)
    finally:
        vol.close()
