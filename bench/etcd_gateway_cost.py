#!/usr/bin/python3
"""What the etcd v3 JSON gateway costs over etcd's own gRPC handling (docs/replicated-engines.md).

Starts one etcd member on loopback (data on /dev/shm), sends N range and N put requests over
one keep-alive HTTP connection, and compares the latency the client saw with the time etcd's
gRPC server spent in the same calls (grpc_server_handling_seconds from /metrics: the gateway
calls the gRPC server in-process, so the difference is HTTP + JSON + the gateway's own gRPC
hop). Usage: bench/etcd_gateway_cost.py [N]"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def grpc_seconds(conn, method):
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    def one(kind):
        m = re.search(r'grpc_server_handling_seconds_%s\{[^}]*grpc_method="%s"[^}]*\} (\S+)'
                      % (kind, method), text)
        return float(m.group(1)) if m else 0.0
    return one("sum"), one("count")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    d = tempfile.mkdtemp(prefix="etcd-cost-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    c, p = free_port(), free_port()
    proc = subprocess.Popen(["etcd", "--name", "m", "--data-dir", d, "--listen-client-urls",
                             f"http://127.0.0.1:{c}", "--advertise-client-urls",
                             f"http://127.0.0.1:{c}", "--listen-peer-urls",
                             f"http://127.0.0.1:{p}", "--log-level", "error",
                             "--metrics", "extensive"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = None
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", c)
                conn.request("POST", "/v3/kv/range", json.dumps({"key": "AA=="}))
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)
        for method, path, body in (
                ("Range", "/v3/kv/range", {"key": "c3RyYXRh"}),
                ("Put", "/v3/kv/put", {"key": "c3RyYXRh", "value": "eA=="})):
            s0, c0 = grpc_seconds(conn, method)
            data = json.dumps(body)
            t = time.perf_counter()
            for _ in range(n):
                conn.request("POST", path, data)
                conn.getresponse().read()
            client = (time.perf_counter() - t) / n
            s1, c1 = grpc_seconds(conn, method)
            server = (s1 - s0) / max(1, c1 - c0)
            print(f"| {method} | {client * 1e6:.0f} | {server * 1e6:.0f} | "
                  f"{(client - server) * 1e6:.0f} |")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    print("| call | client-observed µs (JSON gateway) | etcd gRPC handling µs | gateway + HTTP + JSON µs |")
    print("|---|---|---|---|")
    main()
