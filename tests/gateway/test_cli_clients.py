"""awscli, s3cmd and rclone (Debian packages) against the gateway; checked through the mount,
and files written through the mount fetched by each."""
import hashlib
import os
import subprocess

import pytest

from conftest import ROOT_KEY, ROOT_SECRET, wait_for


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run(args, env=None, check=True):
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r


@pytest.fixture(scope="module")
def aws(setup, tmp_path_factory):
    if not os.path.exists("/usr/bin/aws"):
        pytest.skip("awscli not installed (scripts/install-deps)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ROOT_KEY, AWS_SECRET_ACCESS_KEY=ROOT_SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")

    def call(*args, check=True):
        return run(["/usr/bin/aws", "--endpoint-url", setup.endpoint, *args], env, check)
    setup.boto().create_bucket(Bucket="awscli")
    return call


def test_awscli_round_trips(setup, aws, tmp_path):
    # Few invocations: awscli starts slowly on a loaded machine.
    up = tmp_path / "up"
    up.mkdir()
    (up / "small.txt").write_bytes(b"from awscli\n")
    big = os.urandom(18 << 20)  # over awscli's 8 MiB multipart threshold
    (up / "big.bin").write_bytes(big)
    with open(setup.path("awscli", "posix.bin"), "wb") as f:  # the reverse direction
        f.write(b"posix bytes" * 1000)
    aws("s3", "cp", "--recursive", str(up), "s3://awscli/up/")
    assert wait_for(lambda: read(setup.path("awscli", "up", "small.txt")) == b"from awscli\n")
    assert wait_for(lambda: read(setup.path("awscli", "up", "big.bin")) == big)
    etag = setup.boto().head_object(Bucket="awscli", Key="up/big.bin")["ETag"]
    assert etag.endswith('-3"')  # a multipart ETag of 3 parts
    ls = aws("s3", "ls", "--recursive", "s3://awscli").stdout
    assert "up/small.txt" in ls and "up/big.bin" in ls and "posix.bin" in ls
    down = tmp_path / "down"
    aws("s3", "cp", "--recursive", "s3://awscli/", str(down))
    assert (down / "up" / "big.bin").read_bytes() == big
    assert (down / "posix.bin").read_bytes() == b"posix bytes" * 1000
    aws("s3", "mv", "s3://awscli/up/small.txt", "s3://awscli/moved.txt")  # copy + delete
    assert wait_for(lambda: read(setup.path("awscli", "moved.txt")) == b"from awscli\n")
    assert wait_for(lambda: not os.path.exists(setup.path("awscli", "up", "small.txt")))
    url = aws("s3", "presign", "s3://awscli/moved.txt", "--expires-in", "300").stdout.strip()
    import urllib.request
    assert urllib.request.urlopen(url).read() == b"from awscli\n"


@pytest.fixture(scope="module")
def s3cmd(setup, tmp_path_factory):
    if not os.path.exists("/usr/bin/s3cmd"):
        pytest.skip("s3cmd not installed (scripts/install-deps)")
    cfg = tmp_path_factory.mktemp("s3cmd") / "s3cfg"
    host = setup.endpoint.replace("http://", "")
    cfg.write_text(f"[default]\naccess_key = {ROOT_KEY}\nsecret_key = {ROOT_SECRET}\n"
                   f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
                   "signature_v2 = False\nbucket_location = us-east-1\ncheck_ssl_certificate = False\n")

    def call(*args, check=True):
        return run(["/usr/bin/s3cmd", "-c", str(cfg), *args], None, check)
    call("mb", "s3://s3cmd")
    return call


def test_s3cmd_round_trips(setup, s3cmd, tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"from s3cmd")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 << 20))
    s3cmd("put", str(f), "s3://s3cmd/dir/a.txt")
    s3cmd("put", "--multipart-chunk-size-mb=5", str(big), "s3://s3cmd/big.bin")
    assert wait_for(lambda: read(setup.path("s3cmd", "dir", "a.txt")) == b"from s3cmd")
    assert wait_for(lambda: read(setup.path("s3cmd", "big.bin")) == big.read_bytes())
    ls = s3cmd("ls", "-r", "s3://s3cmd").stdout
    assert "s3://s3cmd/dir/a.txt" in ls and "s3://s3cmd/big.bin" in ls
    s3cmd("get", "s3://s3cmd/big.bin", str(tmp_path / "big2"))
    assert (tmp_path / "big2").read_bytes() == big.read_bytes()
    s3cmd("cp", "s3://s3cmd/dir/a.txt", "s3://s3cmd/dir/b.txt")
    assert wait_for(lambda: read(setup.path("s3cmd", "dir", "b.txt")) == b"from s3cmd")
    # s3cmd signurl makes Signature Version 2 URLs only, which the gateway refuses (400).
    url = s3cmd("signurl", "s3://s3cmd/dir/a.txt", "+300").stdout.strip()
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 400
    s3cmd("del", "s3://s3cmd/dir/a.txt")
    assert wait_for(lambda: not os.path.exists(setup.path("s3cmd", "dir", "a.txt")))
    with open(setup.path("s3cmd", "posix.txt"), "wb") as fh:
        fh.write(b"posix for s3cmd")
    s3cmd("get", "s3://s3cmd/posix.txt", str(tmp_path / "p.txt"))
    assert (tmp_path / "p.txt").read_bytes() == b"posix for s3cmd"


@pytest.fixture(scope="module")
def rclone(setup, tmp_path_factory):
    if not os.path.exists("/usr/bin/rclone"):
        pytest.skip("rclone not installed (scripts/install-deps)")
    cfg = tmp_path_factory.mktemp("rclone") / "rclone.conf"
    cfg.write_text(f"[gw]\ntype = s3\nprovider = Other\naccess_key_id = {ROOT_KEY}\n"
                   f"secret_access_key = {ROOT_SECRET}\nendpoint = {setup.endpoint}\n"
                   "region = us-east-1\nforce_path_style = true\n")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}

    def call(*args, check=True):
        return run(["/usr/bin/rclone", "--config", str(cfg), "--s3-upload-cutoff", "5M",
                    "--s3-chunk-size", "5M", *args], env, check)
    call("mkdir", "gw:rclone")
    return call


def test_rclone_round_trips(setup, rclone, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "one.txt").write_bytes(b"one")
    (src / "sub" / "two.txt").write_bytes(b"two")
    big = os.urandom(12 << 20)
    (src / "big.bin").write_bytes(big)
    rclone("copy", str(src), "gw:rclone/tree")
    assert wait_for(lambda: read(setup.path("rclone", "tree", "sub", "two.txt")) == b"two")
    assert wait_for(lambda: read(setup.path("rclone", "tree", "big.bin")) == big)
    lsf = rclone("lsf", "-R", "gw:rclone/tree").stdout.split()
    assert sorted(lsf) == ["big.bin", "one.txt", "sub/", "sub/two.txt"]
    # rclone checks every file by MD5 (the ETag of single-part objects) after a copy back.
    rclone("check", str(src), "gw:rclone/tree")
    assert rclone("cat", "gw:rclone/tree/one.txt").stdout == "one"
    rclone("copyto", "gw:rclone/tree/one.txt", "gw:rclone/copied.txt")  # server-side copy
    assert wait_for(lambda: read(setup.path("rclone", "copied.txt")) == b"one")
    rclone("delete", "gw:rclone/tree/sub")
    assert wait_for(lambda: not os.path.exists(setup.path("rclone", "tree", "sub")))
    with open(setup.path("rclone", "posix.txt"), "wb") as fh:
        fh.write(b"posix for rclone")
    assert rclone("cat", "gw:rclone/posix.txt").stdout == "posix for rclone"
    link = rclone("link", "--expire", "5m", "gw:rclone/posix.txt").stdout.strip()
    import urllib.request
    assert urllib.request.urlopen(link).read() == b"posix for rclone"
