"""Durability (DESIGN.md §6): a writer records a file's checksum only after close() returned;
the mount process is SIGKILLed at a random moment; after a remount every recorded file must
read back with its checksum. Repeated several times."""
import hashlib
import os
import random
import subprocess
import sys
import time

WRITER = r"""
import hashlib, os, sys
root, record = sys.argv[1], sys.argv[2]
rec = open(record, "a")
i = 0
while True:
    name = f"f{os.getpid()}-{i}"
    size = (i * 7919) % (3 << 20) + 1
    data = (hashlib.sha256(name.encode()).digest() * (size // 32 + 1))[:size]
    try:
        fd = os.open(os.path.join(root, name), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)  # returns only after upload + commit
    except OSError:
        break
    rec.write(f"{name} {hashlib.sha256(data).hexdigest()}\n")
    rec.flush()
    os.fsync(rec.fileno())
    i += 1
"""


# CI runs a few rounds; bench/RESULTS.md records a long run (STRATA_SIGKILL_ROUNDS=100).
ROUNDS = int(os.environ.get("STRATA_SIGKILL_ROUNDS", "3"))


def test_acknowledged_writes_survive_sigkill(fresh_volume, tmp_path):
    rng = random.Random(int(time.time()))
    record = tmp_path / "record.txt"
    record.touch()
    mp = str(tmp_path / "mnt")
    checked = 0  # record lines verified so far
    owners = []  # (round, record line) of every recorded file
    for round_ in range(ROUNDS):
        m = fresh_volume.mount(mp)
        out = os.path.join(m.path, f"round{round_}")
        os.mkdir(out)
        w = subprocess.Popen([sys.executable, "-c", WRITER, out, str(record)],
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.5))
        m.kill()
        w.wait(timeout=60)
        fresh_volume.mounts.remove(m)
        # Remount and check what this round recorded, and a sample of earlier rounds (all of
        # them are checked again at the end).
        m = fresh_volume.mount(mp)
        lines = record.read_text().splitlines()
        assert len(lines) > checked, "the writer recorded nothing before the kill"
        new = [(round_, line) for line in lines[checked:]]
        owners.extend(new)
        earlier = owners[:len(owners) - len(new)]
        sample = rng.sample(earlier, min(20, len(earlier)))
        for k, line in new + sample:
            name, digest = line.split()
            path = os.path.join(m.path, f"round{k}", name)
            assert os.path.exists(path), f"{name} lost"
            with open(path, "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest, f"{name} corrupt"
        checked = len(lines)
        m.unmount()
        fresh_volume.mounts.remove(m)
    # Nothing lost, nothing leaked: the metadata is consistent, and what the killed mounts
    # uploaded without committing is garbage that gc removes without touching anything
    # referenced (no mount is live, so no upload is in flight: --age 0s is safe here).
    fsck = fresh_volume.run("fsck", fresh_volume.meta_url, check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    gc = fresh_volume.run("gc", fresh_volume.meta_url, "--delete", "--age", "0s", check=False)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    fsck = fresh_volume.run("fsck", fresh_volume.meta_url, check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    m = fresh_volume.mount(mp)
    for k, line in owners:
        name, digest = line.split()
        path = os.path.join(m.path, f"round{k}", name)
        assert os.path.exists(path), f"{name} lost after gc"
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, f"{name} corrupt after gc"
