#!/usr/bin/python3
"""What `.accesslog` costs a metadata-heavy workload: N files created (open+write 100 B+
close), stat-ed and removed in one directory of a strata mount (SQLite + file://), with nobody
reading the log and with `cat .accesslog > /dev/null` reading it; the two alternate, RUNS
times. Run by hand as root (never by ctest):

    bench/mount/accesslog_cost.py [--files 2000] [--runs 3] [--strata build/strata]

Prints ops/s per mode (median and every run) and the lines the reader received.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time


def workload(root, n, tag):
    d = os.path.join(root, tag)
    os.mkdir(d)
    t0 = time.perf_counter()
    for i in range(n):
        with open(os.path.join(d, f"f{i}"), "wb") as f:
            f.write(b"x" * 100)
    for i in range(n):
        os.stat(os.path.join(d, f"f{i}"))
    for i in range(n):
        os.unlink(os.path.join(d, f"f{i}"))
    secs = time.perf_counter() - t0
    os.rmdir(d)
    return 3 * n / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--strata", default="build/strata")
    a = ap.parse_args()
    strata = os.path.abspath(a.strata)
    tmp = tempfile.mkdtemp(prefix="accesslog-bench-", dir="/var/tmp")
    meta = f"sqlite3://{tmp}/meta.db"
    subprocess.run([strata, "format", meta, "bench", "--storage", f"file://{tmp}/data",
                    "--trash-days", "0"], check=True, capture_output=True)
    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    r = subprocess.run([strata, "mount", "-d", "--log", f"{tmp}/mount.log", meta, mnt],
                       check=True, capture_output=True, text=True)
    pid = int(re.search(r"\(pid (\d+)\)", r.stdout).group(1))
    results = {"no reader": [], "reader": []}
    lines = []
    try:
        for run in range(a.runs):
            for mode in (["no reader", "reader"] if run % 2 == 0 else ["reader", "no reader"]):
                reader = None
                if mode == "reader":
                    out = open(f"{tmp}/log-{run}.txt", "wb")
                    reader = subprocess.Popen(["cat", os.path.join(mnt, ".accesslog")], stdout=out)
                    time.sleep(0.3)
                results[mode].append(workload(mnt, a.files, f"{mode[0]}{run}"))
                if reader:
                    time.sleep(0.5)
                    reader.kill()
                    reader.wait()
                    out.close()
                    with open(f"{tmp}/log-{run}.txt", "rb") as f:
                        lines.append(sum(1 for _ in f))
    finally:
        subprocess.run([strata, "umount", mnt], capture_output=True)
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
        if not os.path.ismount(mnt):
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"files={a.files} runs={a.runs} (create+write, stat, unlink: 3 ops per file)")
    for mode, v in results.items():
        print(f"{mode:10s} median {statistics.median(v):8.0f} ops/s   runs: "
              + ", ".join(f"{x:.0f}" for x in v))
    print("lines received by the reader per run:", lines)


if __name__ == "__main__":
    main()
