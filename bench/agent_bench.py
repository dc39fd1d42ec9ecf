#!/usr/bin/python3
"""agent_bench.py: the agent workload of issue 10 on a real mount, with the metadata engine
(Redis, etcd or PostgreSQL) behind bench/delay_proxy.cc at a chosen round-trip time. Run by hand
as root:

  bench/agent_bench.py                                  # 1/16/64 agents x 0/1/5.8 ms, 30 s each
  bench/agent_bench.py --agents 1,16 --rtt-ms 5.8 --seconds 10
  bench/agent_bench.py --engine redis,etcd,postgres --agents 1 --rtt-ms 5.8 --seconds 10
  bench/agent_bench.py --mount-args="--writeback"        # extra flags for strata mount
  bench/agent_bench.py --processes                      # one process per agent (as pods are)

Each agent works in its own directory: create .tmpN (O_CREAT|O_EXCL), write 4 KiB, close,
rename to outN; every 10th file it appends a record to its journal and fsyncs it. Printed per
row: files/s over all agents, p50/p99 of close() (ms), and the engine round trips per file
counted by the proxy (request/reply turns on every connection, over the whole run, heartbeats
included). Before the timed rows, one agent writes 50 files alone so that the round trips of
one file are counted without contention ("rt/file solo").

Each (engine, RTT) row starts its own server on a free loopback port and stops it afterwards:
redis-server; one etcd member (the round trips of a client do not depend on the cluster size:
it talks to one member); a PostgreSQL 15 cluster made by initdb as the postgres user.

Needs: /dev/fuse, build/strata, build/release/bench/strata_delay_proxy, and the servers of the
engines asked for (redis-server; etcd-server; postgresql-15).
"""
import argparse
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


class Proxy:
    def __init__(self, binary, target_port, rtt_us, stats):
        self.stats = stats
        self.p = subprocess.Popen([binary, "--target", f"127.0.0.1:{target_port}",
                                   "--rtt-us", str(rtt_us), "--stats", stats],
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        self.port = int(line.split()[1])

    def turns(self):
        if os.path.exists(self.stats):
            os.unlink(self.stats)
        self.p.send_signal(signal.SIGUSR1)
        for _ in range(200):
            if os.path.exists(self.stats):
                with open(self.stats) as f:
                    text = f.read()
                m = re.search(r"turns (\d+)", text)
                if m:
                    return int(m.group(1))
            time.sleep(0.01)
        raise RuntimeError("proxy wrote no stats")

    def stop(self):
        self.p.terminate()
        self.p.wait(10)


class Redis:
    name = "redis"

    def __init__(self, work):
        self.port = free_port()
        self.p = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port",
                                   str(self.port), "--save", "", "--appendonly", "no",
                                   "--dir", work], stdout=subprocess.DEVNULL)
        wait_port(self.port)

    def url(self, port):
        return f"redis://127.0.0.1:{port}/"

    def stop(self):
        self.p.terminate()
        self.p.wait(10)


class Etcd:
    name = "etcd"

    def __init__(self, work):
        self.port, peer = free_port(), free_port()
        d = tempfile.mkdtemp(prefix="etcd-", dir=work)
        self.p = subprocess.Popen(
            ["etcd", "--name", "m0", "--data-dir", d,
             "--listen-client-urls", f"http://127.0.0.1:{self.port}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"m0=http://127.0.0.1:{peer}",
             "--initial-cluster-state", "new"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 30)

    def url(self, port):
        return f"etcd://127.0.0.1:{port}/agents"

    def stop(self):
        self.p.terminate()
        self.p.wait(10)


class Postgres:
    name = "postgres"
    BIN = "/usr/lib/postgresql/15/bin"

    def __init__(self, work):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="pg-", dir=work)
        os.chmod(work, 0o755)
        shutil.chown(self.dir, "postgres")
        run = lambda *cmd: subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True,
                                          capture_output=True)
        run(f"{self.BIN}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        run(f"{self.BIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/pg.log", "-w",
            "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}", "start")
        self.run = run

    def url(self, port):
        return f"postgres://postgres@127.0.0.1:{port}/postgres"

    def stop(self):
        self.run(f"{self.BIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")


ENGINES = {"redis": (Redis, "redis-server"), "etcd": (Etcd, "etcd"),
           "postgres": (Postgres, Postgres.BIN + "/postgres")}


def agent(dirpath, stop_at, closes, counts, idx, limit=None):
    journal = os.open(os.path.join(dirpath, "journal"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                      0o644)
    data = b"x" * 4096
    n = 0
    try:
        while time.time() < stop_at and (limit is None or n < limit):
            tmp = os.path.join(dirpath, f".tmp{n}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            t0 = time.perf_counter()
            os.close(fd)
            closes.append(time.perf_counter() - t0)
            os.rename(tmp, os.path.join(dirpath, f"out{n}"))
            n += 1
            if n % 10 == 0:
                os.write(journal, f"file {n} done\n".encode())
                os.fsync(journal)
    finally:
        os.close(journal)
        counts[idx] = n


def agent_process(dirpath, stop_at, limit, out):
    """One agent in its own process (as a pod is): sends (files, close latencies) back."""
    closes, counts = [], [0]
    agent(dirpath, stop_at, closes, counts, 0, limit)
    out.put((counts[0], closes))


def run_agents(mnt, tag, agents, seconds, limit=None, processes=False):
    dirs = []
    for i in range(agents):
        d = os.path.join(mnt, f"{tag}-a{i}")
        os.mkdir(d)
        dirs.append(d)
    closes, counts = [], [0] * agents
    stop_at = time.time() + seconds
    start = time.time()
    if processes:
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [ctx.Process(target=agent_process, args=(dirs[i], stop_at, limit, out))
                 for i in range(agents)]
        for p in procs:
            p.start()
        for i in range(agents):  # drain before join: a full queue would block the children
            n, c = out.get()
            counts[i] = n
            closes.extend(c)
        for p in procs:
            p.join()
    else:
        threads = [threading.Thread(target=agent, args=(dirs[i], stop_at, closes, counts, i, limit))
                   for i in range(agents)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    took = time.time() - start
    closes.sort()
    pct = lambda q: closes[min(len(closes) - 1, int(q * len(closes)))] * 1000 if closes else 0
    return sum(counts), took, pct(0.5), pct(0.99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", default=os.path.join(ROOT, "build/strata"))
    ap.add_argument("--proxy", default=os.path.join(ROOT, "build/release/bench/strata_delay_proxy"))
    ap.add_argument("--engine", default="redis", help="redis, etcd, postgres (comma-separated)")
    ap.add_argument("--agents", default="1,16,64")
    ap.add_argument("--rtt-ms", default="0,1,5.8")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--threads", type=int, default=96, help="FUSE worker threads")
    ap.add_argument("--mount-args", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("--url-query", default="",
                    help="engine URL parameters, e.g. group_commit=16&pool_size=128")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs) at the end")
    ap.add_argument("--processes", action="store_true",
                    help="run each agent in its own process (as pods are) instead of a thread of "
                         "this one: no interpreter lock shared by the agents")
    a = ap.parse_args()
    engines = a.engine.split(",")
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"agent_bench: unknown engine {e!r} (known: {', '.join(ENGINES)})")
    for tool in [a.strata, a.proxy] + [shutil.which(ENGINES[e][1]) or ENGINES[e][1]
                                       for e in engines]:
        if not os.path.exists(tool):
            sys.exit(f"agent_bench: {tool} not found (build the tree; scripts/install-deps)")
    work = tempfile.mkdtemp(prefix="agent-bench-", dir="/var/tmp")
    rows = []
    try:
        for engine in engines:
            for rtt in [float(x) for x in a.rtt_ms.split(",")]:
                server = ENGINES[engine][0](work)
                try:
                    rows += run_row(a, work, server, rtt)
                finally:
                    server.stop()
    finally:
        if a.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| build | engine | RTT ms | agents | files/s | close p50 ms | close p99 ms | rt/file | "
          "rt/file solo |\n|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def run_row(a, work, server, rtt):
    """The rows of one engine server at one RTT: a fresh volume, the solo count, each agent count."""
    rows = []
    tag = f"{server.name}-{rtt:g}"
    proxy = Proxy(a.proxy, server.port, int(rtt * 1000), os.path.join(work, "stats"))
    url = server.url(proxy.port) + (f"?{a.url_query}" if a.url_query else "")
    store = os.path.join(work, f"store-{tag}")
    os.mkdir(store)
    mnt = os.path.join(work, f"mnt-{tag}")
    os.mkdir(mnt)
    try:
        subprocess.run([a.strata, "format", url, "agents", "--storage", f"file://{store}",
                        "--trash-days", "0"], check=True, capture_output=True)
        log = os.path.join(work, f"mount-{tag}.log")
        subprocess.run([a.strata, "mount", "-d", "--log", log, "--threads", str(a.threads),
                        *a.mount_args.split(), url, mnt], check=True, capture_output=True)
        try:
            t0 = proxy.turns()
            n, _, _, _ = run_agents(mnt, "solo", 1, 600, limit=50)
            solo = (proxy.turns() - t0) / max(n, 1)
            for agents in [int(x) for x in a.agents.split(",")]:
                t0 = proxy.turns()
                files, took, p50, p99 = run_agents(mnt, f"n{agents}", agents, a.seconds,
                                                     processes=a.processes)
                rt = (proxy.turns() - t0) / max(files, 1)
                row = (f"| {a.label} | {server.name} | {rtt:g} | {agents} | {files / took:,.0f} | "
                       f"{p50:.1f} | {p99:.1f} | {rt:.1f} | {solo:.1f} |")
                print(row, flush=True)
                rows.append(row)
        finally:
            subprocess.run([a.strata, "umount", mnt], capture_output=True)
    finally:
        proxy.stop()
    return rows


if __name__ == "__main__":
    main()
