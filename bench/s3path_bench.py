#!/usr/bin/env python3
"""bench/s3path_bench.py: strata's data path on s3rver against `strata objbench` of the same
server, in the same session (issue 16, the S3 target), several strata builds alternated.

  sudo python3 bench/s3path_bench.py [--size-mib 512] [--rounds 3] [--perf DIR] BIN [BIN ...]

One s3rver and one redis-server on free loopback ports for the whole run. Each round, for each
binary in turn (the order rotates every round): a fresh volume (Redis metadata, blocks in a new
bucket, 4 MiB blocks), mounted as the harness mounts strata-s3; `dd bs=1M conv=fsync` of SIZE
of random data (write), then unmounted, kernel caches dropped, mounted again with an empty cache
dir and read back with `dd bs=1M` (cold read). Next to them, once per round: `strata objbench`
of a bucket of its own on the same server, 4 MiB big objects, with the mount's upload
concurrency (--max-uploads default, 20) for "put big" and 16 (--max-downloads default) for
"get big".

For every mount it prints MiB/s and the mount process's CPU seconds per GiB moved (utime +
stime from /proc/PID/stat over the dd), and the s3rver's CPU seconds per GiB likewise. With
--no-drop the read skips the drop of kernel caches (the s3rver's files stay cached). With
--perf DIR each mount is also recorded (`perf record -g -p PID`) into DIR/NAME-rRND-PHASE.data.
Medians at the end. Needs root and /dev/fuse. Never run by the tests.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (Servers, drop_caches, is_mounted, wait_gone)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def dd(args):
    t0 = time.monotonic()
    r = subprocess.run(["dd", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("dd: " + r.stderr.strip()[-300:])
    return time.monotonic() - t0


class Mount:
    def __init__(self, binary, meta, path, cache, log):
        r = subprocess.run([binary, "mount", "-d", "--log", log, "-o", "allow_other",
                            "--cache-dir", cache, "--cache-size", "20G", meta, path],
                           capture_output=True, text=True)
        m = re.search(r"\(pid (\d+)\)", r.stdout)
        if r.returncode != 0 or not m:
            raise RuntimeError(f"mount failed: {r.stdout}{r.stderr}")
        self.pid, self.path = int(m.group(1)), path
        deadline = time.time() + 30
        while not harness.is_mounted(path):
            if time.time() > deadline:
                raise RuntimeError("not mounted")
            time.sleep(0.05)

    def close(self):
        subprocess.run(["umount", self.path], check=False)
        harness.wait_gone(self.pid, 120)


def objbench(binary, url, threads, count):
    r = subprocess.run([binary, "objbench", url, "--access-key", "S3RVER", "--secret-key",
                        "S3RVER", "-p", str(threads), "--count", "1", "--big-count", str(count),
                        "--big-size", "4M"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("objbench: " + r.stderr.strip()[-300:])
    rows = {}
    for line in r.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0] in ("put big", "get big"):
            rows[cells[0]] = float(cells[3])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--perf", default="")
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--no-drop", action="store_true",
                    help="read without dropping kernel caches first: the s3rver's files stay "
                         "in the page cache, as objbench's gets find them (the mount's cache "
                         "dir is still empty)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="s3path.", dir=args.workdir)
    servers = harness.Servers(work)
    src = os.path.join(work, "src")
    with open(src, "wb") as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(1 << 20))
    gib = args.size_mib / 1024
    res = {}  # (name, measure) -> [values]

    def add(name, measure, value):
        res.setdefault((name, measure), []).append(value)
        print(f"  {name} {measure}: {value:.2f}", flush=True)

    try:
        servers.s3()
        s3pid = servers.procs[0].pid
        redis = servers.redis()
        ob_url = servers.bucket("objbench")
        names = [f"{i}:{os.path.basename(b)}" for i, b in enumerate(args.binaries)]
        vol = 0
        for rnd in range(args.rounds):
            order = list(range(len(args.binaries)))
            order = order[rnd % len(order):] + order[:rnd % len(order)]
            la = os.getloadavg()[0]
            print(f"round {rnd + 1}: load average {la:.2f}", flush=True)
            count = max(8, args.size_mib // 4)
            ob20 = objbench(args.binaries[-1], ob_url, 20, count)
            ob16 = objbench(args.binaries[-1], ob_url, 16, count)
            add("objbench", "put big MiB/s (20 threads)", ob20["put big"])
            add("objbench", "get big MiB/s (16 threads)", ob16["get big"])
            for i in order:
                b, name = args.binaries[i], names[i]
                vol += 1
                d = os.path.join(work, f"v{vol}")
                os.makedirs(os.path.join(d, "mnt"))
                meta = f"{redis}/{vol}"
                bucket = servers.bucket(f"vol{vol}")
                subprocess.run([b, "format", meta, "bench", "--storage", bucket, "--access-key",
                                "S3RVER", "--secret-key", "S3RVER", "--trash-days", "0"],
                               check=True, capture_output=True)
                mnt = os.path.join(d, "mnt")
                for phase in ("write", "read"):
                    if phase == "read" and not args.no_drop:
                        harness.drop_caches()
                    m = Mount(b, meta, mnt, os.path.join(d, "cache-" + phase),
                              os.path.join(d, "log"))
                    perf = None
                    if args.perf:
                        os.makedirs(args.perf, exist_ok=True)
                        out = os.path.join(args.perf, f"{i}-r{rnd + 1}-{phase}.data")
                        perf = subprocess.Popen(["perf", "record", "-g", "-o", out, "-p",
                                                 str(m.pid)], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
                        time.sleep(0.5)
                    c0, s0 = cpu_seconds(m.pid), cpu_seconds(s3pid)
                    if phase == "write":
                        secs = dd([f"if={src}", f"of={mnt}/big", "bs=1M", "conv=fsync"])
                    else:
                        secs = dd([f"if={mnt}/big", "of=/dev/null", "bs=1M"])
                    c1, s1 = cpu_seconds(m.pid), cpu_seconds(s3pid)
                    if perf:
                        perf.send_signal(2)
                        perf.wait()
                    m.close()
                    add(name, f"{phase} MiB/s", args.size_mib / secs)
                    add(name, f"{phase} mount CPU s/GiB", (c1 - c0) / gib)
                    add(name, f"{phase} s3rver CPU s/GiB", (s1 - s0) / gib)
        print("\nmedians [min-max] over %d round(s), %d MiB each:" % (args.rounds, args.size_mib))
        for (name, measure), v in res.items():
            print(f"| {name} | {measure} | {statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}] |")
    finally:
        servers.stop()
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
