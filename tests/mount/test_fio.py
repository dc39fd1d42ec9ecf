"""fio with --verify=crc32c on the mount: sequential and random writes read back and checked."""
import os
import shutil
import subprocess

import pytest


@pytest.mark.parametrize("rw,bs,size", [("write", "1M", "96M"), ("randwrite", "4k", "8M"),
                                        ("randrw", "64k", "32M")])
def test_fio_verify(d, rw, bs, size):
    if not shutil.which("fio"):
        pytest.skip("fio not installed")
    r = subprocess.run(
        ["fio", f"--name=v-{rw}", f"--directory={d}", f"--rw={rw}", f"--bs={bs}",
         f"--size={size}", "--ioengine=psync", "--verify=crc32c", "--do_verify=1",
         "--verify_fatal=1", "--end_fsync=1", "--numjobs=1", "--output-format=terse",
         "--verify_state_save=0"],  # fio would leave *.state files in the working directory
        capture_output=True, text=True, timeout=300, cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify" not in r.stderr.lower() or "bad" not in r.stderr.lower(), r.stderr
