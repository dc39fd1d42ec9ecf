"""`strata stats` and `strata profile` against a live mount, piped: sane plain lines that
show the workload running meanwhile; bad input is one line and exit 1."""
import os
import re
import subprocess
import threading
import time

VALUE = re.compile(r"^(-|\d+(\.\d+)?[KMGTP]?%?)$")


class Workload:
    """Writes and reads small files in the mount until stopped."""

    def __init__(self, root):
        self.root, self.stop, self.files = root, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        i = 0
        while not self.stop.is_set():
            p = os.path.join(self.root, f"w{i % 50}")
            with open(p, "wb") as f:
                f.write(os.urandom(64 << 10))
            with open(p, "rb") as f:
                f.read()
            i += 1
            self.files = i
            time.sleep(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def run_tool(fresh_volume, *args):
    return subprocess.run([fresh_volume.strata, *args], capture_output=True, text=True,
                          timeout=60)


def test_stats_piped_prints_plain_lines_of_the_live_mount(fresh_volume):
    m = fresh_volume.mount()
    with Workload(m.path) as w:
        time.sleep(0.3)
        r = run_tool(fresh_volume, "stats", m.path, "--interval", "0.5", "--count", "4")
    assert r.returncode == 0, r.stderr
    assert w.files > 0
    lines = r.stdout.splitlines()
    assert len(lines) == 2 + 4, r.stdout  # the header once (piped), then one line per interval
    for title in ("usage", "fuse", "meta", "object", "cache"):
        assert title in lines[0], lines[0]
    names = lines[1].split()
    assert names[:3] == ["cpu", "mem", "buf"], names
    columns = [n for n in names if n != "|"]
    rows = []
    for line in lines[2:]:
        assert "\x1b" not in line  # no terminal control codes when piped
        tokens = line.split()
        assert len(tokens) == len(names), (names, tokens)
        for name, tok in zip(names, tokens):
            if name == "|":
                assert tok == "|", line
            else:
                assert VALUE.match(tok), (name, tok, line)
        rows.append(dict(zip([n for n in names], tokens)))
    assert len(columns) == 3 + 4 + 3 + 7 + 5

    def number(t):
        if t in ("-",):
            return 0.0
        t = t.rstrip("%")
        mult = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
        return float(t[:-1]) * mult[t[-1]] if t[-1] in mult else float(t)

    # The workload ran throughout: FUSE operations, writes and transactions in every line
    # after the first, and PUTs to the store in at least one.
    assert all(number(row["ops"]) > 0 for row in rows), r.stdout
    assert any(number(row["write"]) > 0 for row in rows), r.stdout
    assert any(number(row["txn"]) > 0 for row in rows), r.stdout
    assert any(number(row["put"]) > 0 for row in rows), r.stdout
    assert all(number(row["mem"]) > 0 for row in rows), r.stdout


def test_stats_schema_picks_sections(fresh_volume):
    m = fresh_volume.mount()
    r = run_tool(fresh_volume, "stats", m.path, "--interval", "0.2", "--count", "1",
                 "--schema", "of")
    assert r.returncode == 0, r.stderr
    top = r.stdout.splitlines()[0]
    assert top.index("object") < top.index("fuse") and "usage" not in top and "cache" not in top


def test_stats_bad_input_is_one_line(fresh_volume, tmp_path):
    m = fresh_volume.mount()
    for args in (["stats", m.path, "--schema", "uxz"], ["stats", str(tmp_path)],
                 ["stats", str(tmp_path / "missing")], ["profile", str(tmp_path)]):
        r = run_tool(fresh_volume, *args)
        assert r.returncode != 0, (args, r.stdout)
        assert len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)


def test_profile_piped_summarises_the_operations(fresh_volume):
    m = fresh_volume.mount()
    with Workload(m.path):
        r = run_tool(fresh_volume, "profile", m.path, "--interval", "0.7", "--count", "3")
    assert r.returncode == 0, r.stderr
    blocks = [b for b in r.stdout.split("\n\n") if b.strip()]
    assert len(blocks) == 3, r.stdout
    last = blocks[-1].splitlines()
    assert re.match(r"^# profile \S+Z: \d+ operations in [\d.]+ s$", last[0]), last[0]
    assert last[1].split() == ["op", "count", "total_s", "avg_ms"]
    rows = {}
    totals = []
    for line in last[2:]:
        op, count, total, avg = line.split()
        rows[op] = int(count)
        totals.append(float(total))
        assert abs(float(avg) - float(total) / int(count) * 1000) < 0.01, line
    assert totals == sorted(totals, reverse=True), last  # by total time
    assert rows.get("write_buf", 0) > 0 and rows.get("create", 0) + rows.get("open", 0) > 0, rows
    n = int(re.search(r": (\d+) operations", last[0]).group(1))
    assert n == sum(rows.values())


def run_on_terminal(fresh_volume, *args):
    """Runs the tool with its stdout on a pseudo-terminal; returns what it wrote there."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([fresh_volume.strata, *args], stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the tool closed its side
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(60) == 0, p.stderr.read()
        return out.decode()
    finally:
        os.close(master)


def test_on_a_terminal_stats_bolds_its_header_and_profile_redraws(fresh_volume):
    m = fresh_volume.mount()
    out = run_on_terminal(fresh_volume, "stats", m.path, "--interval", "0.2", "--count", "2")
    assert out.startswith("\x1b[1m") and "usage" in out and "\x1b[0m" in out, repr(out)
    assert len([l for l in out.splitlines() if "|" in l]) == 4, repr(out)  # 2 header + 2 lines
    out = run_on_terminal(fresh_volume, "profile", m.path, "--interval", "0.2", "--count", "2")
    assert out.count("\x1b[H\x1b[2J") == 2 and out.count("# profile ") == 2, repr(out)
