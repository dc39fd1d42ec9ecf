#!/usr/bin/env python3
"""Small-file phases of bench/mount_bench.sh, one phase per call, timed here (not the
interpreter's start-up): prints "<seconds>" for the phase on stdout.

  smallfiles.py create DIR COUNT SIZE   open(O_CREAT|O_EXCL|O_WRONLY), write SIZE bytes, close
  smallfiles.py stat   DIR COUNT SIZE   stat() every file, checks its size
  smallfiles.py read   DIR COUNT SIZE   open, read to EOF, close; checks every byte
  smallfiles.py delete DIR COUNT SIZE   unlink() every file

Files are DIR/f000000 ... in creation order; file i holds its own pattern so a misplaced or
stale block is caught. Any mismatch or OS error exits 1 with the file name and what was wrong.
"""
import os
import sys
import time


def name(d, i):
    return os.path.join(d, "f%06d" % i)


def content(i, size):
    unit = b"%08d:" % i
    return (unit * (size // len(unit) + 1))[:size]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    phase, d, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t0 = time.monotonic()
    if phase == "create":
        for i in range(count):
            fd = os.open(name(d, i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            data = content(i, size)
            n = os.write(fd, data)
            if n != len(data):
                sys.exit(f"{name(d, i)}: short write {n} of {len(data)}")
            os.close(fd)
    elif phase == "stat":
        for i in range(count):
            st = os.stat(name(d, i))
            if st.st_size != size:
                sys.exit(f"{name(d, i)}: size {st.st_size}, expected {size}")
    elif phase == "read":
        for i in range(count):
            fd = os.open(name(d, i), os.O_RDONLY)
            chunks = []
            while True:
                b = os.read(fd, 1 << 16)
                if not b:
                    break
                chunks.append(b)
            os.close(fd)
            got = b"".join(chunks)
            if got != content(i, size):
                first = next((k for k in range(min(len(got), size))
                              if got[k] != content(i, size)[k]), min(len(got), size))
                sys.exit(f"{name(d, i)}: wrong data ({len(got)} bytes, first difference at "
                         f"byte {first})")
    elif phase == "delete":
        for i in range(count):
            os.unlink(name(d, i))
    else:
        sys.exit(__doc__)
    print("%.6f" % (time.monotonic() - t0))


if __name__ == "__main__":
    try:
        main()
    except OSError as e:
        sys.exit(f"{e.filename}: {e.strerror} (errno {e.errno})")
