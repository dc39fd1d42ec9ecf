#!/usr/bin/env python3
"""Gateway vs mount on one volume (bench/RESULTS.md "S3 gateway"):
  large: PUT then GET (cached, second read) of SIZE MiB through the gateway (boto3, 8 MiB
         parts, 8 threads) vs dd-like write/read of the same bytes through the mount;
  small: 4 KiB PUT and GET ops/s with N client threads vs create+write+close and
         open+read+close through the mount with N threads.
Usage: gateway_bench.py STRATA_BIN [--size-mib 1024] [--clients 16] [--small-ops 2000]
Formats its own volume (SQLite + file://) in a temp directory, mounts it, starts the gateway.
"""
import argparse
import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "gateway"))
import conftest as gwc  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("strata")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--small-ops", type=int, default=2000)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="gwbench-")
    meta = f"sqlite3://{root}/meta.db"
    vol = gwc.mc.Volume(a.strata, root, meta, f"file://{root}/data", [])
    vol.format("bench")
    mnt = vol.mount()
    gw = gwc.start_gateway(a.strata, meta, root)
    setup = gwc.Setup(vol, mnt, gw)
    try:
        import boto3.s3.transfer as tr
        s3 = setup.boto(max_pool_connections=max(16, a.clients))
        s3.create_bucket(Bucket="bench")
        os.makedirs(mnt.path + "/bench/m", exist_ok=True)
        size = a.size_mib << 20
        src = os.path.join(root, "src.bin")
        with open(src, "wb") as f:
            for _ in range(a.size_mib):
                f.write(os.urandom(1 << 20))
        cfg = tr.TransferConfig(multipart_chunksize=8 << 20, max_concurrency=8)
        res = {}
        t = time.time()
        s3.upload_file(src, "bench", "big.bin", Config=cfg)
        res["gateway PUT MiB/s"] = a.size_mib / (time.time() - t)
        t = time.time()
        with open(src, "rb") as fi, open(mnt.path + "/bench/m/big.bin", "wb") as fo:
            while True:
                b = fi.read(1 << 20)
                if not b:
                    break
                fo.write(b)
        res["mount write MiB/s"] = a.size_mib / (time.time() - t)
        for label, fn in [
            ("gateway GET MiB/s", lambda: s3.download_file("bench", "big.bin", os.devnull,
                                                           Config=cfg)),
            ("mount read MiB/s", lambda: open(mnt.path + "/bench/m/big.bin", "rb").read())]:
            fn()  # first read fills the cache
            t = time.time()
            fn()
            res[label] = a.size_mib / (time.time() - t)
        body = os.urandom(4096)
        n = a.small_ops
        with cf.ThreadPoolExecutor(a.clients) as ex:
            t = time.time()
            list(ex.map(lambda i: s3.put_object(Bucket="bench", Key=f"s/{i}", Body=body), range(n)))
            res["gateway 4K PUT ops/s"] = n / (time.time() - t)
            t = time.time()
            list(ex.map(lambda i: s3.get_object(Bucket="bench", Key=f"s/{i}")["Body"].read(),
                        range(n)))
            res["gateway 4K GET ops/s"] = n / (time.time() - t)
            os.makedirs(mnt.path + "/bench/ms", exist_ok=True)

            def create(i):
                with open(f"{mnt.path}/bench/ms/{i}", "wb") as f:
                    f.write(body)

            def readf(i):
                with open(f"{mnt.path}/bench/ms/{i}", "rb") as f:
                    return f.read()
            t = time.time()
            list(ex.map(create, range(n)))
            res["mount 4K create ops/s"] = n / (time.time() - t)
            t = time.time()
            list(ex.map(readf, range(n)))
            res["mount 4K read ops/s"] = n / (time.time() - t)
        for k, v in res.items():
            print(f"{k:24s} {v:10.1f}")
    finally:
        gw.stop()
        vol.close()


if __name__ == "__main__":
    main()
