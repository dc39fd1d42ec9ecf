"""mount.strata: `mount -t strata` and fstab-style options turn into a `strata mount -d`."""
import os
import subprocess

import pytest

from conftest import is_mounted


@pytest.fixture
def helper(strata, tmp_path):
    link = tmp_path / "mount.strata"
    link.symlink_to(strata)
    return str(link)


def umount(strata, path):
    subprocess.run([strata, "umount", path], capture_output=True)


def test_options_map_to_flags_and_fuse(strata, fresh_volume, helper, tmp_path):
    fresh_volume.format()
    mnt, cache, log = tmp_path / "mnt", tmp_path / "cache", tmp_path / "log"
    mnt.mkdir()
    r = subprocess.run([helper, fresh_volume.meta_url, str(mnt), "-o",
                        f"_netdev,defaults,nofail,x-systemd.requires=net,cache_dir={cache},"
                        f"attr-timeout=2,allow_other,noatime,no-bgjob,log={log}"],
                       capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        assert is_mounted(str(mnt))
        with open(mnt / "f", "w") as f:
            f.write("through mount.strata\n")
        with open(mnt / "f") as f:
            assert f.read() == "through mount.strata\n"
        opts = next(l.split()[3] for l in open("/proc/mounts") if l.split()[1] == str(mnt))
        assert "noatime" in opts and "allow_other" in opts
        assert cache.is_dir() and log.exists(), "cache_dir= and log= reached strata mount"
    finally:
        umount(strata, str(mnt))


def test_ro_and_bad_options(strata, fresh_volume, helper, tmp_path):
    fresh_volume.format()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    for opts, why in (("cache-size=abc", "bad size"), ("cache-dir", "needs a value"),
                      ("no-bgjob=1", "takes no value")):
        r = subprocess.run([helper, fresh_volume.meta_url, str(mnt), "-o", opts],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and why in r.stderr, (opts, r.stderr)
        assert not is_mounted(str(mnt))
    r = subprocess.run([helper, fresh_volume.meta_url, str(mnt), "-f", "-o", "allow_other"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not is_mounted(str(mnt)), "-f (fake) mounts nothing"
    r = subprocess.run([helper, fresh_volume.meta_url, str(mnt), "-o", "ro,allow_other"],
                       capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        with pytest.raises(OSError) as e:
            open(mnt / "nope", "w")
        assert e.value.errno == 30  # EROFS
    finally:
        umount(strata, str(mnt))


@pytest.mark.full_only
def test_mount_t_strata_through_mount8(strata, fresh_volume, tmp_path):
    """The real path: mount(8) finds /sbin/mount.strata. Installed for the test only when no
    mount.strata is there already, and removed afterwards."""
    target = "/sbin/mount.strata"
    if os.path.lexists(target):
        pytest.skip(f"{target} exists already; not replacing it")
    fresh_volume.format()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    os.symlink(strata, target)
    try:
        r = subprocess.run(["mount", "-t", "strata", fresh_volume.meta_url, str(mnt), "-o",
                            "_netdev,allow_other"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert is_mounted(str(mnt))
        (mnt / "g").write_text("via mount -t strata")
        assert (mnt / "g").read_text() == "via mount -t strata"
    finally:
        umount(strata, str(mnt))
        os.unlink(target)
