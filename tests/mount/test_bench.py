"""`strata bench PATH` on a real mount: every phase runs, the table is printed, nothing is left."""
import os
import subprocess

import pytest


def run_bench(strata, *args):
    return subprocess.run([strata, "bench", *args], capture_output=True, text=True, timeout=300)


def test_bench_runs_every_phase_and_cleans_up(strata, d):
    r = run_bench(strata, d, "--big-file-size", "8M", "--small-files", "20",
                  "--small-file-size", "16K", "-p", "2")
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and "phase" not in line]
    names = [row.split("|")[1].strip() for row in rows]
    assert names == ["write big file", "read big file", "write small files", "stat small files",
                     "read small files", "delete small files"]
    for row in rows:
        value = float(row.split("|")[2].split()[0])
        assert value > 0, row
    assert os.listdir(d) == [], "bench left files behind"
    # Piped stderr gets plain progress lines, never terminal control characters.
    assert "\r" not in r.stderr and "bench write big file: bytes 16.0 MiB/16.0 MiB" in r.stderr


@pytest.mark.full_only
def test_bench_refuses_bad_input(strata, d):
    for args in (["/nonexistent-dir"], [d, "--big-file-size", "1X"], [d, "-p", "0"],
                 [d, "--block-size", "0"]):
        r = run_bench(strata, *args)
        assert r.returncode == 1, args
        assert r.stderr.startswith("strata bench: ") and len(r.stderr.splitlines()) == 1, r.stderr
    assert os.listdir(d) == []
