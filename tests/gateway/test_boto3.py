"""boto3 (Debian python3-boto3) against the gateway; every result checked through the mount."""
import hashlib
import os
import time
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from conftest import wait_for


def md5(b):
    return hashlib.md5(b).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def s3(setup):
    c = setup.boto()
    c.create_bucket(Bucket="boto")
    return c


def test_bucket_is_a_directory(setup, s3):
    assert os.path.isdir(setup.path("boto"))
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "boto" in names and ".s3-uploads" not in names
    s3.head_bucket(Bucket="boto")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="boto")
    assert e.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"


def test_put_get_head_through_mount(setup, s3):
    body = os.urandom(300_000)
    r = s3.put_object(Bucket="boto", Key="dir/sub/file.bin", Body=body,
                      ContentType="image/png", Metadata={"owner": "ci"})
    assert r["ETag"] == f'"{md5(body)}"'
    p = setup.path("boto", "dir", "sub", "file.bin")
    assert wait_for(lambda: os.path.exists(p) and read(p) == body)
    assert os.getxattr(p, "user.s3.content-type") == b"image/png"
    assert os.getxattr(p, "user.s3.meta.owner") == b"ci"
    g = s3.get_object(Bucket="boto", Key="dir/sub/file.bin")
    assert g["Body"].read() == body
    assert g["ContentType"] == "image/png" and g["Metadata"] == {"owner": "ci"}
    h = s3.head_object(Bucket="boto", Key="dir/sub/file.bin")
    assert h["ContentLength"] == len(body) and h["ETag"] == f'"{md5(body)}"'
    rg = s3.get_object(Bucket="boto", Key="dir/sub/file.bin", Range="bytes=1000-1999")
    assert rg["Body"].read() == body[1000:2000] and rg["ContentRange"].endswith(f"/{len(body)}")
    # Conditional requests: a CDN revalidates with the ETag.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="boto", Key="dir/sub/file.bin", IfNoneMatch=h["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="boto", Key="dir/sub/file.bin", IfMatch='"0000"')
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_mount_write_is_an_object_and_etag_follows_content(setup, s3):
    p = setup.path("boto", "posix.txt")
    with open(p, "wb") as f:
        f.write(b"written through POSIX")
    g = s3.get_object(Bucket="boto", Key="posix.txt")
    assert g["Body"].read() == b"written through POSIX"
    assert g["ETag"] == f'"{md5(b"written through POSIX")}"'
    assert s3.head_object(Bucket="boto", Key="posix.txt")["ETag"] == g["ETag"]  # stable
    with open(p, "ab") as f:
        f.write(b" and appended")
    want = md5(b"written through POSIX and appended")
    assert wait_for(lambda: s3.head_object(Bucket="boto", Key="posix.txt")["ETag"] == f'"{want}"')


def test_put_over_open_file_is_a_rename(setup, s3):
    s3.put_object(Bucket="boto", Key="open.txt", Body=b"old")
    p = setup.path("boto", "open.txt")
    assert wait_for(lambda: os.path.exists(p))
    with open(p, "rb") as f:
        s3.put_object(Bucket="boto", Key="open.txt", Body=b"new content")
        # The open descriptor keeps the replaced inode, as after a rename(2) over it by another
        # client: it never shows the new object (or a mix); reading it may fail once the other
        # client released the old inode.
        try:
            assert f.read() == b"old"
        except FileNotFoundError:
            pass
    assert wait_for(lambda: read(p) == b"new content")


def test_list_v1_v2_delimiter_pagination(setup, s3):
    for k in ["l/a", "l/b/1", "l/b/2", "l/c", "l/d-e", "l/d/x"]:
        s3.put_object(Bucket="boto", Key=k, Body=k.encode())
    r = s3.list_objects_v2(Bucket="boto", Prefix="l/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["l/a", "l/c", "l/d-e"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["l/b/", "l/d/"]
    keys, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket="boto", Prefix="l/", MaxKeys=2, **kw)
        keys += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert keys == sorted(["l/a", "l/b/1", "l/b/2", "l/c", "l/d-e", "l/d/x"])
    r1 = s3.list_objects(Bucket="boto", Prefix="l/", Marker="l/b/2")
    assert [o["Key"] for o in r1["Contents"]] == ["l/c", "l/d-e", "l/d/x"]
    os.makedirs(setup.path("boto", "l", "emptydir"))
    r = s3.list_objects_v2(Bucket="boto", Prefix="l/", Delimiter="/")
    assert "l/emptydir/" in [p["Prefix"] for p in r["CommonPrefixes"]]


def test_copy_with_metadata_directive(setup, s3):
    s3.put_object(Bucket="boto", Key="src", Body=b"copy me", ContentType="text/plain",
                  Metadata={"a": "1"})
    s3.copy_object(Bucket="boto", Key="copies/dst", CopySource={"Bucket": "boto", "Key": "src"})
    h = s3.head_object(Bucket="boto", Key="copies/dst")
    assert h["Metadata"] == {"a": "1"} and h["ContentType"] == "text/plain"
    s3.copy_object(Bucket="boto", Key="copies/dst2", CopySource="boto/src",
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/x")
    h2 = s3.head_object(Bucket="boto", Key="copies/dst2")
    assert h2["Metadata"] == {"b": "2"} and h2["ContentType"] == "text/x"
    assert wait_for(lambda: read(setup.path("boto", "copies", "dst2")) == b"copy me")


def test_multipart(setup, s3):
    p1, p2 = os.urandom(5 << 20), os.urandom(1 << 20)
    up = s3.create_multipart_upload(Bucket="boto", Key="mp/big.bin", ContentType="video/mp4")
    uid = up["UploadId"]
    e1 = s3.upload_part(Bucket="boto", Key="mp/big.bin", UploadId=uid, PartNumber=1, Body=p1)
    e2 = s3.upload_part(Bucket="boto", Key="mp/big.bin", UploadId=uid, PartNumber=2, Body=p2)
    parts = s3.list_parts(Bucket="boto", Key="mp/big.bin", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(p1)), (2, len(p2))]
    ups = s3.list_multipart_uploads(Bucket="boto")["Uploads"]
    assert [u["UploadId"] for u in ups] == [uid]
    assert not os.path.exists(setup.path("boto", "mp", "big.bin"))  # nothing until complete
    r = s3.complete_multipart_upload(
        Bucket="boto", Key="mp/big.bin", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1["ETag"]},
                                   {"PartNumber": 2, "ETag": e2["ETag"]}]})
    want = hashlib.md5(bytes.fromhex(md5(p1)) + bytes.fromhex(md5(p2))).hexdigest() + "-2"
    assert r["ETag"] == f'"{want}"'
    assert wait_for(lambda: read(setup.path("boto", "mp", "big.bin")) == p1 + p2)
    assert s3.head_object(Bucket="boto", Key="mp/big.bin")["ContentType"] == "video/mp4"
    assert s3.list_multipart_uploads(Bucket="boto").get("Uploads", []) == []
    # Abort leaves nothing.
    uid2 = s3.create_multipart_upload(Bucket="boto", Key="mp/aborted")["UploadId"]
    s3.upload_part(Bucket="boto", Key="mp/aborted", UploadId=uid2, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket="boto", Key="mp/aborted", UploadId=uid2)
    assert not os.path.exists(setup.path(".s3-uploads", uid2))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket="boto", Key="mp/aborted", UploadId=uid2)
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"


def test_delete_and_delete_objects(setup, s3):
    s3.put_object(Bucket="boto", Key="del/one/a", Body=b"1")
    s3.put_object(Bucket="boto", Key="del/b", Body=b"2")
    s3.put_object(Bucket="boto", Key="del/c", Body=b"3")
    s3.delete_object(Bucket="boto", Key="del/one/a")
    assert wait_for(lambda: not os.path.exists(setup.path("boto", "del", "one")))
    r = s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": "del/b"}, {"Key": "del/c"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["del/b", "del/c"]
    assert wait_for(lambda: not os.path.exists(setup.path("boto", "del")))
    s3.delete_object(Bucket="boto", Key="never/was")  # S3: deleting nothing succeeds


def test_presigned_url_shares_a_file(setup, s3):
    p = setup.path("boto", "share.txt")
    with open(p, "wb") as f:
        f.write(b"for outside users")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "share.txt"},
                                    ExpiresIn=600)
    assert urllib.request.urlopen(url).read() == b"for outside users"
    tampered = url.replace("share.txt", "posix.txt")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered)
    assert e.value.code == 403 and b"SignatureDoesNotMatch" in e.value.read()
    short = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "share.txt"},
                                      ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(short)
    assert e.value.code == 403 and b"expired" in e.value.read()
    # A presigned PUT writes through to the mount.
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "boto", "Key": "up.txt"},
                                    ExpiresIn=600)
    req = urllib.request.Request(put, data=b"uploaded by URL", method="PUT")
    urllib.request.urlopen(req).read()
    assert wait_for(lambda: read(setup.path("boto", "up.txt")) == b"uploaded by URL")
