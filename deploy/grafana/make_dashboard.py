#!/usr/bin/python3
"""Writes strata.json (next to this script), the Grafana dashboard over the series a mount
serves with --metrics (docs/operations.md). Edit the panels here and run it again:
    deploy/grafana/make_dashboard.py
tests/mount/test_metrics.py checks that every series the dashboard uses exists."""
import os
import json
sel='{volume=~"$volume",mount_point=~"$mount_point"}'
put_sel='{volume=~"$volume",mount_point=~"$mount_point",op="put"}'
cache_sel='{volume=~"$volume",mount_point=~"$mount_point",tier!="store"}'
R='[$__rate_interval]'
panels=[]
y=[0]; pid=[0]; x=[0]
def row(title):
    if x[0]: endrow()
    pid[0]+=1
    panels.append({"type":"row","title":title,"id":pid[0],"collapsed":False,
                   "gridPos":{"h":1,"w":24,"x":0,"y":y[0]},"panels":[]})
    y[0]+=1
def endrow():
    x[0]=0; y[0]+=8
def panel(title, targets, unit="short", w=8, desc=""):
    pid[0]+=1
    if x[0]+w>24: endrow()
    ds={"type":"prometheus","uid":"${datasource}"}
    panels.append({"type":"timeseries","title":title,"id":pid[0],"datasource":ds,"description":desc,
       "gridPos":{"h":8,"w":w,"x":x[0],"y":y[0]},
       "fieldConfig":{"defaults":{"unit":unit},"overrides":[]},
       "options":{"legend":{"displayMode":"list","placement":"bottom"},"tooltip":{"mode":"multi"}},
       "targets":[{"refId":chr(65+i),"expr":e,"legendFormat":l,"datasource":ds} for i,(e,l) in enumerate(targets)]})
    x[0]+=w
row("FUSE")
panel("Operations by type", [('sum by (op) (rate(strata_fuse_ops_total'+sel+R+'))',"{{op}}")], "ops")
panel("Errors by type", [('sum by (op) (rate(strata_fuse_errors_total'+sel+R+'))',"{{op}}")], "ops")
panel("Latency p99 by type", [('histogram_quantile(0.99, sum by (op, le) (rate(strata_fuse_op_seconds_bucket'+sel+R+')))',"{{op}}")], "s")
panel("Throughput", [('sum(rate(strata_fuse_read_bytes_total'+sel+R+'))',"read"),
                     ('sum(rate(strata_fuse_written_bytes_total'+sel+R+'))',"write")], "Bps", 12)
panel("Open files, write buffer", [('sum by (mount_point) (strata_open_files'+sel+')',"open files {{mount_point}}"),
                                   ('sum by (mount_point) (strata_buffer_bytes'+sel+')',"buffer bytes {{mount_point}}")], "short", 12)
row("Object store")
panel("Requests by operation", [('sum by (op) (rate(strata_object_requests_total'+sel+R+'))',"{{op}}")], "reqps")
panel("Bytes by operation", [('sum by (op) (rate(strata_object_bytes_total'+sel+R+'))',"{{op}}")], "Bps")
panel("Latency p50 / p99", [('histogram_quantile(0.5, sum by (op, le) (rate(strata_object_request_seconds_bucket'+sel+R+')))',"p50 {{op}}"),
                            ('histogram_quantile(0.99, sum by (op, le) (rate(strata_object_request_seconds_bucket'+sel+R+')))',"p99 {{op}}")], "s")
panel("Errors and retries", [('sum by (op) (rate(strata_object_errors_total'+sel+R+'))',"errors {{op}}"),
                             ('sum(rate(strata_object_retries_total'+sel+R+'))',"retries")], "ops", 12)
panel("Uploads in flight", [('sum(strata_object_requests_in_flight'+put_sel+')',"uploads in flight")], "short", 12)
row("Metadata")
panel("Transactions", [('sum(rate(strata_meta_transactions_total'+sel+R+'))',"transactions"),
                       ('sum(rate(strata_meta_conflicts_total'+sel+R+'))',"conflicts"),
                       ('sum(rate(strata_meta_retries_total'+sel+R+'))',"retries"),
                       ('sum(rate(strata_meta_failures_total'+sel+R+'))',"failures")], "ops", 12)
panel("Transaction latency", [('histogram_quantile(0.99, sum by (le) (rate(strata_meta_transaction_seconds_bucket'+sel+R+')))',"p99"),
                              ('sum(rate(strata_meta_transaction_seconds_sum'+sel+R+')) / sum(rate(strata_meta_transaction_seconds_count'+sel+R+'))',"mean")], "s", 12)
panel("Sessions", [('max by (volume) (strata_sessions'+sel+')',"{{volume}}")], "short", 24)
row("Cache")
panel("Lookups answered by tier", [('sum by (tier) (rate(strata_cache_hits_total'+sel+R+'))',"{{tier}}")], "ops",
      desc="tier=store: went to the object store (missed every cache tier)")
panel("Hit ratio (cache tiers)", [('sum(rate(strata_cache_hits_total'+cache_sel+R+')) / sum(rate(strata_cache_hits_total'+sel+R+'))',"hit ratio")], "percentunit")
panel("Cached bytes, evictions", [('sum by (tier) (strata_cache_bytes'+sel+')',"bytes {{tier}}"),
                                  ('sum(rate(strata_cache_evictions_total'+sel+R+'))',"evictions/s")], "short")
row("Process")
panel("CPU (cores)", [('rate(strata_process_cpu_seconds'+sel+R+')',"{{mount_point}}")], "short", 12)
panel("Resident memory", [('strata_process_resident_bytes'+sel,"{{mount_point}}")], "bytes", 12)
def var(name, q):
    return {"name":name,"type":"query","datasource":{"type":"prometheus","uid":"${datasource}"},
            "query":{"query":q,"refId":name},"definition":q,"refresh":2,"includeAll":True,"multi":True,
            "allValue":".*","current":{"selected":True,"text":["All"],"value":["$__all"]}}
dash={"title":"StrataFS","uid":"strata-fs","schemaVersion":38,"version":1,"editable":True,
      "tags":["strata","storage"],"time":{"from":"now-1h","to":"now"},"refresh":"30s",
      "description":"StrataFS mounts: FUSE operations, object store, metadata, caches, process. From `strata mount --metrics HOST:PORT` (docs/operations.md).",
      "templating":{"list":[{"name":"datasource","type":"datasource","query":"prometheus","label":"Prometheus"},
                            var("volume","label_values(strata_fuse_ops_total, volume)"),
                            var("mount_point",'label_values(strata_fuse_ops_total{volume=~"$volume"}, mount_point)')]},
      "panels":panels}
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "strata.json"), "w").write(json.dumps(dash,indent=2)+"\n")
