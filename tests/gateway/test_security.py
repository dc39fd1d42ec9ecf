"""Refused requests: wrong secret, unknown key, unsigned, skewed, tampered/expired presigned
URLs, another user's prefix, read-only grants, path traversal, oversized keys, bad payload
hashes and chunk signatures. Each gets its 4xx and changes nothing in the volume."""
import datetime
import hashlib
import hmac
import http.client
import os
import subprocess
import time
import types
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest

from conftest import ROOT_KEY, ROOT_SECRET, wait_for


def snapshot(root):
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".s3-uploads"]
        for f in files:
            p = os.path.join(d, f)
            out[p] = os.stat(p).st_size
        for x in dirs:
            out[os.path.join(d, x) + "/"] = 0
    return out


def send(setup, method, path, body=b"", headers=None, key=ROOT_KEY, secret=ROOT_SECRET,
         skew=None, sign=True):
    """Signs with botocore (optionally with a clock `skew` away) and sends the path as is."""
    host = setup.endpoint.replace("http://", "")
    headers = dict(headers or {})
    if sign:
        req = botocore.awsrequest.AWSRequest(method=method, url=setup.endpoint + path,
                                             data=body, headers=headers)
        auth = botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(key, secret), "s3",
                                         "us-east-1")
        if skew is None:
            auth.add_auth(req)
        else:
            class Fixed(datetime.datetime):
                @classmethod
                def utcnow(cls):
                    return datetime.datetime.utcnow() + skew
            with mock.patch.object(botocore.auth, "datetime",
                                   types.SimpleNamespace(datetime=Fixed)):
                if hasattr(botocore.auth, "get_current_datetime"):
                    with mock.patch.object(botocore.auth, "get_current_datetime",
                                           lambda *a, **k: Fixed.utcnow()):
                        auth.add_auth(req)
                else:
                    auth.add_auth(req)
        headers = dict(req.headers.items())
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


@pytest.fixture(scope="module")
def users(setup):
    s = setup.boto()
    s.create_bucket(Bucket="sec")
    s.put_object(Bucket="sec", Key="alice/own.txt", Body=b"alice's")
    s.put_object(Bucket="sec", Key="bob/own.txt", Body=b"bob's")
    s.put_object(Bucket="sec", Key="pub/logo.txt", Body=b"public")
    created = {}
    for name, grant, ro in [("alice", "sec/alice", False), ("bob", "sec/bob", False),
                            ("reader", "sec", True)]:
        args = [setup.vol.strata, "gateway", "user", "add", setup.vol.meta_url, name,
                "--bucket", grant] + (["--read-only"] if ro else [])
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        secret = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("secret key:")][0]
        created[name] = secret
    subprocess.run([setup.vol.strata, "gateway", "public", "add", setup.vol.meta_url, "sec/pub"],
                   check=True, capture_output=True)
    listed = subprocess.run([setup.vol.strata, "gateway", "user", "list", setup.vol.meta_url],
                            capture_output=True, text=True, check=True).stdout
    assert "alice" in listed and created["alice"] not in listed  # secrets never shown again
    time.sleep(1.2)  # the gateway reloads users at most once a second
    return created


def test_wrong_secret_and_unknown_key(setup, users):
    before = snapshot(setup.path("sec"))
    st, body = send(setup, "PUT", "/sec/alice/x.txt", b"x", secret="wrong-secret")
    assert st == 403 and b"SignatureDoesNotMatch" in body
    st, body = send(setup, "PUT", "/sec/alice/x.txt", b"x", key="nobody", secret="whatever")
    assert st == 403 and b"InvalidAccessKeyId" in body
    st, body = send(setup, "PUT", "/sec/alice/x.txt", b"x", sign=False)
    assert st == 403 and b"AccessDenied" in body
    st, body = send(setup, "PUT", "/sec/alice/x.txt", b"x", skew=datetime.timedelta(minutes=20))
    assert st == 403 and b"RequestTimeTooSkewed" in body
    st, _ = send(setup, "PUT", "/sec/alice/x.txt", b"x", skew=datetime.timedelta(minutes=10))
    assert st == 200  # inside the 15-minute window
    st, _ = send(setup, "DELETE", "/sec/alice/x.txt")
    assert st == 204
    assert snapshot(setup.path("sec")) == before


def test_grants(setup, users):
    before = snapshot(setup.path("sec"))
    alice = setup.boto("alice", users["alice"])
    assert alice.get_object(Bucket="sec", Key="alice/own.txt")["Body"].read() == b"alice's"
    for call in [lambda: alice.get_object(Bucket="sec", Key="bob/own.txt"),
                 lambda: alice.put_object(Bucket="sec", Key="bob/evil.txt", Body=b"x"),
                 lambda: alice.delete_object(Bucket="sec", Key="bob/own.txt"),
                 lambda: alice.list_objects_v2(Bucket="sec", Prefix="bob/"),
                 lambda: alice.create_bucket(Bucket="alicebucket"),
                 lambda: alice.copy_object(Bucket="sec", Key="alice/stolen",
                                           CopySource="sec/bob/own.txt")]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # A listing of the whole bucket shows only what the grants cover.
    keys = [o["Key"] for o in alice.list_objects_v2(Bucket="sec").get("Contents", [])]
    assert keys == ["alice/own.txt"]
    assert [b["Name"] for b in alice.list_buckets()["Buckets"]] == ["sec"]
    reader = setup.boto("reader", users["reader"])
    assert reader.get_object(Bucket="sec", Key="bob/own.txt")["Body"].read() == b"bob's"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reader.put_object(Bucket="sec", Key="bob/own.txt", Body=b"overwritten")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert snapshot(setup.path("sec")) == before
    assert open(setup.path("sec", "bob", "own.txt"), "rb").read() == b"bob's"
    # Removed users lose access (within the reload interval).
    subprocess.run([setup.vol.strata, "gateway", "user", "remove", setup.vol.meta_url, "bob"],
                   check=True, capture_output=True)
    bob = setup.boto("bob", users["bob"])

    def refused():
        try:
            bob.get_object(Bucket="sec", Key="bob/own.txt")
            return False
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert wait_for(refused, timeout=5)


def test_public_prefix_anonymous_read(setup, users):
    st, body = send(setup, "GET", "/sec/pub/logo.txt", sign=False)
    assert st == 200 and body == b"public"
    st, _ = send(setup, "GET", "/sec/alice/own.txt", sign=False)
    assert st == 403
    st, _ = send(setup, "GET", "/sec?list-type=2&prefix=pub/", sign=False)
    assert st == 403  # reads of keys only, no listing
    st, _ = send(setup, "PUT", "/sec/pub/new.txt", b"x", sign=False)
    assert st == 403
    assert not os.path.exists(setup.path("sec", "pub", "new.txt"))


def test_path_safety(setup, users):
    before = snapshot(setup.mount.path)
    for path in ["/sec/a/../../escape.txt", "/sec/./x", "/sec/a//b", "/sec/%2e%2e/x",
                 "/.trash/x", "/.s3-uploads/tmp/x", "/sec/" + "n" * 256,
                 "/sec/" + "/".join(["d" * 200] * 6), "/sec/nul%00byte"]:
        st, body = send(setup, "PUT", path, b"payload")
        assert st in (400, 403), (path, st, body)
    st, body = send(setup, "PUT", "/sec/" + "/".join(["d" * 200] * 6), b"payload")
    assert st == 400 and b"KeyTooLong" in body
    assert snapshot(setup.mount.path) == before


def test_payload_hash_and_md5_mismatch_change_nothing(setup, users):
    before = snapshot(setup.path("sec"))
    host = setup.endpoint.replace("http://", "")
    req = botocore.awsrequest.AWSRequest(method="PUT", url=setup.endpoint + "/sec/alice/h.txt",
                                         data=b"the real body")
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(ROOT_KEY, ROOT_SECRET), "s3",
                              "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("PUT", "/sec/alice/h.txt", body=b"another body!", headers=dict(req.headers))
    r = conn.getresponse()
    assert r.status == 400 and b"XAmzContentSHA256Mismatch" in r.read()
    s3 = setup.boto()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="sec", Key="alice/m.txt", Body=b"abc",
                      ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert e.value.response["Error"]["Code"] == "BadDigest"
    assert snapshot(setup.path("sec")) == before


def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _streaming_put(setup, path, data, chunk, tamper=False):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed by this independent implementation."""
    now = datetime.datetime.utcnow()
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    host = setup.endpoint.replace("http://", "")
    scope = f"{day}/us-east-1/s3/aws4_request"
    n = len(data)
    chunks = [data[i:i + chunk] for i in range(0, n, chunk)] + [b""]
    sig_len = 64
    enc_len = sum(len(f"{len(c):x};chunk-signature=") + sig_len + 2 + len(c) + 2 for c in chunks)
    headers = {"host": host, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "x-amz-date": amz, "x-amz-decoded-content-length": str(n),
               "content-encoding": "aws-chunked", "content-length": str(enc_len)}
    names = sorted(headers)
    canonical = "\n".join(["PUT", urllib.parse.quote(path, safe="/~"), "",
                           "".join(f"{h}:{headers[h]}\n" for h in names), ";".join(names),
                           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = _sign(("AWS4" + ROOT_SECRET).encode(), day)
    for part in ["us-east-1", "s3", "aws4_request"]:
        k = _sign(k, part)
    prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={prev}")
    body = b""
    empty = hashlib.sha256(b"").hexdigest()
    for i, c in enumerate(chunks):
        csts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, empty,
                          hashlib.sha256(c).hexdigest()])
        prev = hmac.new(k, csts.encode(), hashlib.sha256).hexdigest()
        payload = c
        if tamper and i == 1:
            # Flip the first byte: always a change (a fixed "X" left random data unchanged
            # when it began with "X", 1 time in 256, and the honest 200 failed the test).
            payload = bytes([c[0] ^ 0xFF]) + c[1:]
        body += f"{len(c):x};chunk-signature={prev}\r\n".encode() + payload + b"\r\n"
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("PUT", path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def test_streaming_chunk_signatures(setup, users):
    data = os.urandom(200_000)
    st, body = _streaming_put(setup, "/sec/alice/streamed.bin", data, 64 * 1024)
    assert st == 200, body
    assert wait_for(lambda: open(setup.path("sec", "alice", "streamed.bin"), "rb").read() == data)
    before = snapshot(setup.path("sec"))
    st, body = _streaming_put(setup, "/sec/alice/tampered.bin", data, 64 * 1024, tamper=True)
    assert st == 403 and b"SignatureDoesNotMatch" in body
    assert snapshot(setup.path("sec")) == before


def test_presign_expiry_limit(setup, users):
    s3 = setup.boto()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sec", "Key": "pub/logo.txt"},
                                    ExpiresIn=8 * 24 * 3600)
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403
