#!/usr/bin/env python3
"""End-to-end throughput of `dsiem serve` on loopback, driven by `dsiem bench`.

  scripts/bench_http.py --bin build/dsiem --configs DIR --template event.json
                        [--runs 3] [--duration 10] [--connections 16] [--client-threads 1]
                        [--pool 20000] [--batch 0] [--ndjson]
                        [--rate 0] [--shards N] [--serve-args "-e 1000000 -i 0 -q 0"]

Each run copies the binary and DIR/* (assets and directives) into a fresh temporary
directory, starts `dsiem serve` on a free loopback port, drives POST /events with
`dsiem bench` for --duration seconds (at most 60), lets the engine drain, and records the
bench summary plus the server's CPU time and peak RSS. Prints one JSON line per run, then
one line with the median of every figure over the runs.

The configs and template are those of ../shared/bench/gen_bench_configs.py N DIR.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from loopback_ports import free_port  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def wait_until_live(port, deadline_s=10.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dsiem serve did not come up")


def one_run(args, run):
    work = tempfile.mkdtemp(prefix="dsiem-bench-")
    try:
        os.makedirs(os.path.join(work, "configs"))
        for name in os.listdir(args.configs):
            shutil.copy(os.path.join(args.configs, name), os.path.join(work, "configs"))
        binary = os.path.join(work, "dsiem")
        shutil.copy(args.bin, binary)
        port = free_port()
        env = dict(os.environ)
        if args.shards:
            env["DSIEM_SHARDS"] = str(args.shards)
        serve = subprocess.Popen(
            [binary, "serve", "-a", "127.0.0.1", "-p", str(port)] + args.serve_args.split(),
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_live(port)
            load = [binary, "bench", "--url", f"http://127.0.0.1:{port}/events",
                    "--template", args.template, "-c", str(args.connections),
                    "-t", str(args.client_threads), "--pool", str(args.pool),
                    "-d", str(args.duration), "--alarm-events",
                    os.path.join(work, "logs", "siem_alarm_events.json"), "--json"]
            if args.batch:
                load += ["--batch", str(args.batch)]
            if args.ndjson:
                load.append("--ndjson")
            if args.rate:
                load += ["--rate", str(args.rate)]
            out = subprocess.run(load, capture_output=True, text=True, timeout=args.duration + 240)
            summary = json.loads(out.stdout.strip().splitlines()[-1])
            summary["server_cpu_s"] = server_cpu_seconds(serve.pid)
            summary["server_rss_max_mb"] = server_peak_rss_mb(serve.pid)
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=120)
        summary["run"] = run
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    # A stopped run still stops its server (the `finally` in one_run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--client-threads", type=int, default=1)
    ap.add_argument("--pool", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--ndjson", action="store_true")
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--shards", type=int, default=0)
    ap.add_argument("--serve-args", default="-e 1000000 -i 0")
    args = ap.parse_args()
    if not 1 <= args.duration <= 60 or not 1 <= args.runs <= 10:
        sys.exit("--duration must be 1-60 s and --runs 1-10")
    runs = []
    for run in range(1, args.runs + 1):
        summary = one_run(args, run)
        print(json.dumps(summary), flush=True)
        runs.append(summary)
    figures = ["accepted_per_s", "correlated_per_s", "correlated_pct_of_accepted",
               "server_cpu_s", "server_rss_max_mb"]
    median = {f: statistics.median(r[f] for r in runs) for f in figures}
    for p in ["p50", "p99", "max"]:
        median["latency_ms_" + p] = statistics.median(r["latency_ms"][p] for r in runs)
    median["runs"] = {f: [round(r[f], 1) for r in runs] for f in ["correlated_per_s"]}
    print(json.dumps({"median": median}), flush=True)


if __name__ == "__main__":
    main()
