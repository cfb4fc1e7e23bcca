#!/usr/bin/env python3
"""Samples a fleet run every 0.5 s until it is sent SIGTERM (scripts/bench_fleet.sh).

   fleet_sampler.py PSQL CONNINFO DATABASE SERVE_PID OUT_JSON

One psql session (to CONNINFO, another database than DATABASE, and itself left
out by pid) counts the connections to DATABASE; /proc gives the serve process's
RSS and the RSS of its children (pg_dump, pg_restore). On SIGTERM it writes the
peaks to OUT_JSON.
"""
import json
import os
import signal
import subprocess
import sys
import time

psql_bin, conninfo, database, serve_pid, out = sys.argv[1:6]
serve_pid = int(serve_pid)

psql = subprocess.Popen([psql_bin, "-X", "-q", "-A", "-t", "-F", "|", conninfo],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
# Connections per application_name (the worker's dumps name their job; the
# service's own connections have none).
QUERY = ("SELECT a || '=' || count(*) FROM (SELECT coalesce(nullif(application_name, ''), "
         "'(service)') AS a FROM pg_stat_activity WHERE datname = '%s' "
         "AND pid <> pg_backend_pid()) s GROUP BY a ORDER BY a; SELECT 'END';\n"
         % database.replace("'", "''"))

peak = {"connections": 0, "connections_at_peak": {}, "serve_rss_kb": 0,
        "child_hwm_kb": 0, "child_rss_kb": 0, "total_rss_kb": 0, "samples": 0}
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def sample():
    psql.stdin.write(QUERY)
    groups = {}
    while True:
        line = psql.stdout.readline()
        if not line or line.strip() == "END":
            break
        name, _, n = line.strip().rpartition("=")
        if name:
            # "tb job <uuid> attempt N" names are per job: count them together.
            key = "tb job sessions" if name.startswith("tb job ") else name
            groups[key] = groups.get(key, 0) + int(n)
    total = sum(groups.values())
    if total > peak["connections"]:
        peak["connections"] = total
        peak["connections_at_peak"] = groups
    rss = status_kb(serve_pid, "VmRSS")
    kids = descendants(serve_pid)
    kid_rss = sum(status_kb(k, "VmRSS") for k in kids)
    kid_hwm = max([status_kb(k, "VmHWM") for k in kids] or [0])
    peak["serve_rss_kb"] = max(peak["serve_rss_kb"], rss)
    peak["child_hwm_kb"] = max(peak["child_hwm_kb"], kid_hwm)
    peak["child_rss_kb"] = max(peak["child_rss_kb"], kid_rss)
    peak["total_rss_kb"] = max(peak["total_rss_kb"], rss + kid_rss)
    peak["samples"] += 1


while not stop:
    t0 = time.monotonic()
    try:
        sample()
    except (BrokenPipeError, ValueError):
        break
    time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
psql.stdin.close()
psql.wait()
with open(out, "w") as f:
    json.dump(peak, f)
