#!/usr/bin/env python3
"""Turns the raw figures of bench/mount_bench.sh into the markdown table it prints.

Input (file given as argv[1]): one line per measurement, tab separated:
  system  test  value  unit        value is a number, or "-" (not measured: a step failed)
Rows keep the order in which (system, test) first appears; the median is over the numeric
runs; "runs" lists every run in order ("-" included), so the spread is visible.
"""
import statistics
import sys


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def is_number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False


def main():
    rows = {}
    order = []
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            key = (parts[0], parts[1], parts[3])
            if key not in rows:
                rows[key] = []
                order.append(key)
            rows[key].append(parts[2])
    print("| system | test | median | unit | runs |")
    print("|---|---|---:|---|---|")
    for key in order:
        vals = rows[key]
        nums = [float(v) for v in vals if is_number(v)]
        med = fmt(statistics.median(nums)) if nums else "-"
        runs = ", ".join(fmt(float(v)) if is_number(v) else v for v in vals)
        print(f"| {key[0]} | {key[1]} | {med} | {key[2]} | {runs} |")


if __name__ == "__main__":
    main()
