"""`make bench`: every benchmark, one after another, each in its own process so settings and
caches start clean. Figures go to bench/results/*.json. bench/scale.py builds 1,000 tenants
and takes a quarter of an hour on two cores; none of this is part of `make test`."""

import subprocess
import sys

from bench.setup import ROOT

BENCHMARKS = (
    ["bench.provision", "10", "300"],
    ["bench.tenant_cache"],
    ["bench.tracing"],
    ["bench.tracing", "0.1"],
    ["bench.pdf"],
    ["bench.scheduler"],
    ["bench.http"],
    ["bench.webhooks"],
    ["bench.outbound_webhooks"],
    ["bench.outage"],
    ["bench.placement"],
    ["bench.search"],
    ["bench.series"],
    ["bench.files"],
    ["bench.realtime"],
    ["bench.realtime", "--events", "4000", "--results", "realtime_heartbeats"],
    ["bench.platform_stats"],
    ["bench.scale", "--tenants", "1000"],
)

if __name__ == "__main__":
    for module, *args in BENCHMARKS:
        print(f"\n== {module} ==", flush=True)
        subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, check=True)
