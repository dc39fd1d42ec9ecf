"""`strata mount --metrics HOST:PORT`: /metrics parses as Prometheus text and its counters
match the work done (files created, bytes written, store PUTs and bytes, metadata
transactions); the Grafana dashboard uses only series that exist."""
import json
import os
import re
import urllib.request

import pytest

from conftest import free_port

pytestmark = pytest.mark.full_only


LABELS = {}  # the constant labels of the mount under test (volume, mount_point)


def scrape(port):
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):  # raises on malformed text
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted({**LABELS, **labels}.items()))), 0)


def test_metrics_count_the_work_done(fresh_volume):
    pytest.importorskip("prometheus_client")
    port = free_port()
    m = fresh_volume.mount(None, "--metrics", f"127.0.0.1:{port}")
    LABELS.update(volume="testvol", mount_point=m.path)
    before = scrape(port)
    n, size = 7, 300 << 10
    for i in range(n):
        with open(os.path.join(m.path, f"f{i}"), "wb") as f:
            f.write(os.urandom(size))
    os.stat(os.path.join(m.path, "f0"))
    after = scrape(port)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("strata_fuse_ops_total", op="create") == n
    assert grew("strata_fuse_ops_total", op="flush") >= n
    assert grew("strata_fuse_errors_total", op="create") == 0
    assert grew("strata_fuse_op_seconds_count", op="create") == n  # histogram too
    assert grew("strata_fuse_written_bytes_total") == n * size
    assert grew("strata_fuse_read_bytes_total") == 0
    # One block each (300 KiB < the 4 MiB block): one PUT per file, the bytes plus trailers.
    assert grew("strata_object_requests_total", op="put") == n
    assert n * size <= grew("strata_object_bytes_total", op="put") <= n * (size + 64)
    assert grew("strata_object_errors_total", op="put") == 0
    assert grew("strata_meta_transactions_total") >= 2 * n  # a create and a commit per file
    assert value(after, "strata_buffer_bytes") == 0  # everything committed
    assert value(after, "strata_object_requests_in_flight", op="put") == 0  # nothing under way
    assert value(after, "strata_open_files") == 0
    assert value(after, "strata_sessions") >= 1  # this mount's own
    assert grew("strata_object_retries_total") == 0

    # Reading the files back: bytes read, and lookups answered by the tiers (the store tier
    # for blocks no cache held; the memory tier for the rest).
    for i in range(n):
        with open(os.path.join(m.path, f"f{i}"), "rb") as f:
            assert len(f.read()) == size
    again = scrape(port)
    assert value(again, "strata_fuse_read_bytes_total") - value(after, "strata_fuse_read_bytes_total") == n * size
    tiers = {dict(k[1]).get("tier") for k in again if k[0] == "strata_cache_hits_total"}
    assert {"memory", "store"} <= tiers, tiers
    lookups = sum(v for k, v in again.items() if k[0] == "strata_cache_hits_total")
    assert lookups >= n
    # No series is labelled with anything per file or per request.
    for name, labels in again:
        assert set(dict(labels)) <= {"volume", "mount_point", "op", "tier", "le"}, (name, labels)

    # Only /metrics is served.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
    assert e.value.code == 404


def test_bad_metrics_address_is_one_line_and_mounts_nothing(fresh_volume, tmp_path):
    mp = tmp_path / "mnt"
    mp.mkdir()
    r = fresh_volume.run("mount", fresh_volume.meta_url, str(mp), "--metrics", "nonsense",
                         check=False)
    assert r.returncode != 0 and "--metrics" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_grafana_dashboard_uses_only_existing_series(fresh_volume):
    pytest.importorskip("prometheus_client")
    src = os.environ.get("STRATA_SOURCE_DIR",
                         os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(src, "deploy", "grafana", "strata.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    used = set()
    for e in exprs:
        used |= set(re.findall(r"\b((?:strata|process)_[a-z0-9_]+)\b", e))
    assert len(used) >= 15, used
    port = free_port()
    m = fresh_volume.mount(None, "--metrics", f"127.0.0.1:{port}")
    with open(os.path.join(m.path, "x"), "wb") as f:
        f.write(b"1" * 1000)
    with open(os.path.join(m.path, "x"), "rb") as f:
        f.read()
    names = {name for name, _ in scrape(port)}
    missing = sorted(used - names)
    assert not missing, f"the dashboard uses series /metrics does not have: {missing}"
    # Every panel's queries are restricted to the chosen volume and mount point.
    for e in exprs:
        if "label_values" not in e:
            assert 'volume=~"$volume"' in e and 'mount_point=~"$mount_point"' in e, e
