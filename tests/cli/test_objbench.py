"""`strata objbench STORAGE_URL` as a user runs it (issue 2): a progress line and a table on a
local store and on an S3 server (s3rver), and a one-line error with a non-zero exit for each
kind of bad input."""
import os
import re

from conftest import RUN_TIMEOUT, assert_one_line_error, clean_env, free_port, tree_snapshot

SMALL = ["--count", "20", "--big-count", "2", "--big-size", "256K", "--threads", "2"]
S3_KEYS = ["--access-key", "S3RVER", "--secret-key", "S3RVER"]
ROWS = ["put small", "get small", "head", "list", "delete small", "put big", "get big",
        "delete big"]


def table_rows(stdout):
    """{operation: [count, ops/s, MiB/s, p50, p99]} from the printed table."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1:]
    return rows


def check_report(r, count=20, big_count=2):
    assert r.returncode == 0, r
    rows = table_rows(r.stdout)
    assert rows.get("operation", [None])[0] == "count", r  # the header
    for op in ROWS:
        assert op in rows, f"no {op!r} row\n{r}"
        n, ops, mib, p50, p99 = rows[op]
        want = big_count if op.endswith("big") else count
        if op == "list":
            want = int(n)  # as many listings as the tool chose, at least one
            assert want >= 1, r
        assert int(n) == want, f"{op}: {n} done, {want} asked\n{r}"
        assert float(ops) > 0 and 0 <= float(p50) <= float(p99), r
        if op.startswith(("put", "get")):
            assert float(mib) > 0, r
    # Progress (common/progress.h): a final line per phase on stderr, with how many of how
    # many were done.
    for op in ROWS:
        want = big_count if op.endswith("big") else count
        if op == "list":
            continue
        assert re.search(rf"^objbench {op}: ops {want:,}/{want:,} \(100%\)", r.stderr, re.M), r


def test_file_store(strata, tmp_path):
    store = tmp_path / "x"
    r = strata("objbench", f"file://{store}", *SMALL)
    check_report(r)
    # Its objects are gone afterwards: nothing but (possibly empty) directories is left.
    leftovers = [f for f in (tree_snapshot(str(store)) or {}) if not f.endswith("/")]
    assert leftovers == [], leftovers


def test_mem_store_defaults_sizes(strata):
    r = strata("objbench", "mem://", "--count", "10", "--big-count", "1")
    check_report(r, count=10, big_count=1)
    assert "4 KiB" in r.stderr and "4 MiB" in r.stderr, r  # the defaults of the issue


def test_s3rver(strata, s3rver):
    r = strata("objbench", f"{s3rver.endpoint}/{s3rver.bucket}", *SMALL, *S3_KEYS)
    check_report(r)


def test_s3rver_credentials_from_environment(strata, s3rver):
    env = clean_env(AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER")
    r = strata("objbench", f"{s3rver.endpoint}/{s3rver.bucket}", *SMALL, env=env)
    check_report(r)


def test_unknown_scheme(strata):
    r = strata("objbench", "ftp://example.com/bucket", *SMALL)
    assert_one_line_error(r, "ftp")


def test_malformed_urls(strata, tmp_path):
    for url, named in [("http://127.0.0.1:99999/bucket", "port"),
                       ("http://127.0.0.1:12ab/bucket", "port"),
                       ("no-scheme-here", "scheme"),
                       ("s3://", "bucket")]:
        r = strata("objbench", url, *SMALL, *S3_KEYS)
        assert_one_line_error(r, named)


def test_bad_option_values(strata, tmp_path):
    r = strata("objbench", f"file://{tmp_path}/x", "--count", "0")
    assert_one_line_error(r, "--count")
    r = strata("objbench", f"file://{tmp_path}/x", "--small-size", "4Q")
    assert_one_line_error(r, "--small-size")
    assert tree_snapshot(str(tmp_path / "x")) is None


def test_missing_credentials(strata, s3rver, tmp_path):
    # No flags, no AWS_* variables, and no ~/.aws/credentials to fall back on.
    env = clean_env(HOME=str(tmp_path))
    r = strata("objbench", f"{s3rver.endpoint}/{s3rver.bucket}", *SMALL, env=env)
    assert_one_line_error(r, "credentials")


def test_unreachable_endpoint(strata):
    port = free_port()  # nothing listens there
    r = strata("objbench", f"http://127.0.0.1:{port}/bucket", *SMALL, *S3_KEYS)
    line = assert_one_line_error(r, f"127.0.0.1:{port}")
    assert re.search(r"connect|unreachable|refused", line, re.I), r
    assert r.seconds < min(30, RUN_TIMEOUT), r  # a hang guard, not a timing claim


def test_bucket_that_does_not_exist(strata, s3rver):
    r = strata("objbench", f"{s3rver.endpoint}/no-such-bucket", *SMALL, *S3_KEYS)
    line = assert_one_line_error(r, "no-such-bucket")
    assert re.search(r"NoSuchBucket|does not exist", line), r


def test_wrong_access_key(strata, s3rver):
    r = strata("objbench", f"{s3rver.endpoint}/{s3rver.bucket}", *SMALL,
               "--access-key", "NOTAKEY", "--secret-key", "whatever")
    line = assert_one_line_error(r)
    assert "403" in line, r
    assert re.search(r"denied|forbidden|permission|InvalidAccessKeyId", line, re.I), r
    assert "whatever" not in r.stderr  # the secret is never printed


def test_file_store_not_writable(strata, tmp_path):
    target = tmp_path / "plain-file"
    target.write_text("not a directory")
    r = strata("objbench", f"file://{target}", *SMALL)
    assert_one_line_error(r, str(target))
    assert target.read_text() == "not a directory"
