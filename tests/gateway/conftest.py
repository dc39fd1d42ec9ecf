"""Harness for the S3 gateway suite: one volume (SQLite + file://) mounted with FUSE and served
by `strata gateway` on a free loopback port, so every test can check through the mount what a
real S3 client did through the gateway, and the reverse. Reuses the mount suite's fixtures.
"""
import importlib.util
import os
import signal
import subprocess
import tempfile
import time

import pytest

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("mount_conftest",
                                               os.path.join(_here, "..", "mount", "conftest.py"))
mc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mc)

pytest_addoption = mc.pytest_addoption
strata = mc.strata
free_port = mc.free_port
wait_port = mc.wait_port

ROOT_KEY = "strataroot"
ROOT_SECRET = "root-secret-for-tests-0123456789"


class Gateway:
    def __init__(self, strata, meta_url, port, proc, log):
        self.strata, self.meta_url, self.port, self.proc, self.log = (
            strata, meta_url, port, proc, log)
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_gateway(strata, meta_url, root, *extra):
    port = free_port()
    log = os.path.join(root, f"gateway-{port}.log")
    env = dict(os.environ, STRATA_ACCESS_KEY=ROOT_KEY, STRATA_SECRET_KEY=ROOT_SECRET)
    proc = subprocess.Popen([strata, "gateway", meta_url, f"127.0.0.1:{port}", "--log", log,
                             *extra], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=20)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"gateway did not start: {proc.stderr.read()}")
    return Gateway(strata, meta_url, port, proc, log)


class Setup:
    """The volume, its mount and its gateway."""

    def __init__(self, vol, mount, gw):
        self.vol, self.mount, self.gw = vol, mount, gw
        self.endpoint = gw.endpoint

    def path(self, *parts):
        return os.path.join(self.mount.path, *parts)

    def boto(self, key=ROOT_KEY, secret=ROOT_SECRET, **cfg):
        import boto3
        import botocore.config
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=botocore.config.Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          retries={"max_attempts": 1}, **cfg))


def wait_for(fn, timeout=10.0):
    """Polls fn until it returns a true value (the mount's kernel caches expire) or times out."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except OSError:
            pass
        time.sleep(0.1)
    return last


@pytest.fixture(scope="session")
def setup(strata, tmp_path_factory):
    root = tmp_path_factory.mktemp("gw")
    os.chmod(root, 0o755)
    meta_url = f"sqlite3://{root}/meta.db"
    vol = mc.Volume(strata, str(root), meta_url, f"file://{root}/data", [])
    vol.format("gwvol")
    mount = vol.mount(None, "--attr-timeout", "0", "--entry-timeout", "0")
    gw = start_gateway(strata, meta_url, str(root))
    try:
        yield Setup(vol, mount, gw)
    finally:
        gw.stop()
        vol.close()
