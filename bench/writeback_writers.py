#!/usr/bin/env python3
"""writeback_writers.py DIR WRITERS FILES SIZE: WRITERS processes each create FILES files of
SIZE bytes in DIR (open, write, close — close returns once the data is durable as the mount's
mode promises). Prints the wall time in seconds of the whole batch. Used by
bench/writeback_bench.sh."""
import os
import sys
import time


def child(d, w, files, size):
    data = os.urandom(size)
    for i in range(files):
        fd = os.open(os.path.join(d, f"w{w}-{i}"), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)


def main():
    d, writers, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(d, exist_ok=True)
    start = time.monotonic()
    pids = []
    for w in range(writers):
        pid = os.fork()
        if pid == 0:
            try:
                child(d, w, files, size)
                os._exit(0)
            except Exception as e:  # a failed close is a failed benchmark
                print(f"writer {w}: {e}", file=sys.stderr)
                os._exit(1)
        pids.append(pid)
    failed = 0
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        failed += st != 0
    elapsed = time.monotonic() - start
    if failed:
        sys.exit(f"{failed} writers failed")
    print(f"{elapsed:.3f}")


if __name__ == "__main__":
    main()
