"""`strata mount --metrics HOST:PORT`: /metrics parses as Prometheus text and its counters
match the work done (files created, store PUTs and bytes, metadata transactions)."""
import os
import urllib.request

import pytest

from conftest import free_port

pytestmark = pytest.mark.full_only


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
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_metrics_count_the_work_done(fresh_volume):
    pytest.importorskip("prometheus_client")
    port = free_port()
    m = fresh_volume.mount(None, "--metrics", f"127.0.0.1:{port}")
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
    # One block each (300 KiB < the 4 MiB block): one PUT per file, the bytes plus trailers.
    assert grew("strata_object_requests_total", op="put") == n
    assert n * size <= grew("strata_object_bytes_total", op="put") <= n * (size + 64)
    assert grew("strata_object_errors_total", op="put") == 0
    assert grew("strata_meta_transactions_total") >= 2 * n  # a create and a commit per file
    assert value(after, "strata_buffer_bytes") == 0  # everything committed

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
