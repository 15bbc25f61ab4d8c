#!/usr/bin/env python3
"""Run the recorded conformance cases through a cluster: nats-server + frontend + backend.

Usage:
  run_cluster_conformance.py --bin PATH [--nats-server PATH] [--runs N] [--interval-ms X]
                             [--strict-order] [--keep] [-v] CASES_DIR_OR_CASE...

Per case and run, everything on 127.0.0.1 with free ports, in a temp dir T:
  1. `nats-server -a 127.0.0.1 -p NPORT -m MPORT` (MPORT: monitoring, used to see the
     backend's subscription on the server);
  2. T/fe/dsiem serve --mode cluster-frontend --node dsiem-frontend-0
                      --msq nats://127.0.0.1:NPORT -a 127.0.0.1 -p FPORT [case args]
     T/fe/configs = the case's configs, each directives_X.json renamed to
     directives_dsiem-backend-0_X.json (a backend pulls only assets_*, intel_*, vuln_* and
     directives_<its node>_*);
  3. T/be/dsiem serve --mode cluster-backend --node dsiem-backend-0
                      --frontend http://127.0.0.1:FPORT --msq nats://127.0.0.1:NPORT
                      -a 127.0.0.1 -p BPORT [case args]
     T/be/configs starts empty; the backend fills it from the frontend at start-up;
  4. waits (bounded) for GET /health/ready = 200 on both, and for the backend's subscription
     to dsiem_events on the NATS server; checks that T/be/configs holds exactly the pulled
     files (byte-identical to the frontend's) plus the backend's own dsiem_config.json;
  5. POSTs the case's events to the FRONTEND exactly as run_conformance.py does (same
     timestamp rebasing, _sleep and _raw handling, pacing, keep-alive connection);
  6. waits until T/be/logs/ has settled, sends SIGINT to the frontend then the backend (each
     must exit 0 within 5 s), stops nats-server;
  7. compares the backend's logs/ and the frontend's HTTP answers with the case's expected/
     using run_conformance.py's own functions (same normalisation and rules).

The case.json "args" (--medRiskMin/--medRiskMax/--status/--tags) go to the backend, which
builds the alarms, and to the frontend too (they are valid there, and the frontend's
dsiem_config.json is what the web UI reads for tags/status).

The last line printed is 'N passed, N failed'; the exit status is non-zero if anything failed.
The helpers (NatsServer, Node, wait_for, http_request) are also used by test_cluster.py.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
import run_conformance as rc  # noqa: E402  (the standalone runner: reused, not duplicated)

BACKEND_NODE = "dsiem-backend-0"
FRONTEND_NODE = "dsiem-frontend-0"

NATS_START_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 30.0      # generous: sanitizer builds start slowly
SUBSCRIBE_TIMEOUT_S = 10.0
NATS_STOP_TIMEOUT_S = 5.0

# Flags the runner sets itself: never taken from case.json.
RUNNER_FLAGS = {"--mode", "-m", "--node", "--msq", "--frontend", "-a", "--address", "-p", "--port"}


# ------------------------------------------------------------------ generic helpers
def wait_for(predicate, timeout, interval=0.05):
    """Polls predicate() until it is true (-> True) or `timeout` seconds passed (-> False)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - a probe that fails is just "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def http_request(port, method, path, body=None, timeout=10.0, headers=None):
    """-> (status, body bytes, headers dict); status -1 and the error text on failure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}
    except (OSError, http.client.HTTPException) as e:
        return -1, ("%s: %s" % (type(e).__name__, e)).encode(), {}
    finally:
        conn.close()


def split_args(args):
    """Drops the flags the runner controls (and their values) from a case's args."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in RUNNER_FLAGS:
            skip = "=" not in a
            continue
        out.append(a)
    return out


def file_tail(path, limit=3000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ------------------------------------------------------------------ nats-server
class NatsServer:
    """A nats-server on 127.0.0.1 (client port `port`, monitoring port `mport`)."""

    def __init__(self, binary, workdir, port=None):
        self.binary = binary
        self.workdir = workdir
        self.port = port or rc.free_port()
        self.mport = rc.free_port()
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self, timeout=NATS_START_TIMEOUT_S):
        """Starts it (again); -> True once the client port accepts connections."""
        self.starts += 1
        log = os.path.join(self.workdir, "nats-%d.log" % self.starts)
        cmd = [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.mport), "-l", log]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return wait_for(lambda: self.proc.poll() is None and port_open(self.port), timeout)

    def subscribers(self, subject):
        """Number of client connections subscribed to `subject` (via the monitoring port)."""
        status, body, _ = http_request(self.mport, "GET", "/connz?subs=1", timeout=2.0)
        if status != 200:
            return -1
        conns = json.loads(body.decode("utf-8")).get("connections") or []
        return sum(1 for c in conns if subject in (c.get("subscriptions_list") or []))

    def wait_subscribers(self, subject, count, timeout=SUBSCRIBE_TIMEOUT_S):
        return wait_for(lambda: self.subscribers(subject) >= count, timeout, 0.1)

    def kill(self):
        """SIGKILL (an abrupt outage)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(NATS_STOP_TIMEOUT_S)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(NATS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(NATS_STOP_TIMEOUT_S)


# ------------------------------------------------------------------ dsiem processes
class Node:
    """One dsiem process with its own base dir: root/dsiem, root/configs, root/logs."""

    def __init__(self, binary, root):
        self.root = root
        os.makedirs(os.path.join(root, "configs"), exist_ok=True)
        self.bin = os.path.join(root, os.path.basename(binary))
        shutil.copy2(binary, self.bin)
        self.port = rc.free_port()
        self.proc = None
        self.stdout_path = os.path.join(root, "server.log")
        self.stderr_path = os.path.join(root, "server.err")

    @property
    def configs(self):
        return os.path.join(self.root, "configs")

    @property
    def logs(self):
        return os.path.join(self.root, "logs")

    def start(self, args):
        cmd = [self.bin, "serve", "-a", "127.0.0.1", "-p", str(self.port)] + list(args)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=self.root, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        return cmd

    def start_frontend(self, nats_url, args=(), node=FRONTEND_NODE):
        return self.start(["--mode", "cluster-frontend", "--node", node, "--msq", nats_url] + list(args))

    def start_backend(self, frontend_port, nats_url, args=(), node=BACKEND_NODE, frontend_url=None):
        url = frontend_url or "http://127.0.0.1:%d" % frontend_port
        return self.start(["--mode", "cluster-backend", "--node", node, "--frontend", url,
                           "--msq", nats_url] + list(args))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def get(self, path, timeout=5.0):
        return http_request(self.port, "GET", path, timeout=timeout)

    def is_ready(self):
        return self.get("/health/ready", timeout=2.0)[0] == 200

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """-> True once GET /health/ready answers 200; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            if self.is_ready():
                return True
            time.sleep(0.05)
        return False

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, name):
        """SIGINT, exit 0 required within 5 s (rc.stop_server); -> list of problems."""
        if self.proc is None:
            return []
        return ["%s: %s" % (name, p) for p in rc.stop_server(self.proc)]

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stdout_text(self):
        return file_tail(self.stdout_path, 1 << 20)

    def stderr_text(self):
        return file_tail(self.stderr_path, 1 << 20)

    def tail(self, lines=12):
        text = (file_tail(self.stdout_path) + file_tail(self.stderr_path)).splitlines()[-lines:]
        return "\n".join("    " + l for l in text) or "    (no output)"


def copy_case_configs(src, dst, node=BACKEND_NODE):
    """Copies a case's configs to a frontend's configs dir, directives renamed for `node`.
    -> {backend file name: source path} of what the backend should pull."""
    wanted = {}
    for name in sorted(os.listdir(src)):
        target = name
        if name.startswith("directives_"):
            target = "directives_%s_%s" % (node, name[len("directives_"):])
        shutil.copy2(os.path.join(src, name), os.path.join(dst, target))
        if target.startswith(("assets_", "intel_", "vuln_", "directives_%s_" % node)):
            wanted[target] = os.path.join(src, name)
    return wanted


def check_pulled(backend_configs, wanted):
    """The backend's configs/ must hold exactly the wanted files (same bytes) + dsiem_config.json."""
    problems = []
    have = set(os.listdir(backend_configs))
    expect = set(wanted) | {"dsiem_config.json"}
    if have != expect:
        problems.append("backend configs/ holds %s, expected %s" % (sorted(have), sorted(expect)))
    for name, src in wanted.items():
        path = os.path.join(backend_configs, name)
        if os.path.isfile(path):
            with open(path, "rb") as a, open(src, "rb") as b:
                if a.read() != b.read():
                    problems.append("backend configs/%s differs from the frontend's copy" % name)
    return problems


# ------------------------------------------------------------------ one case
def run_case(binary, nats_bin, case_dir, interval_ms, verbose):
    options, steps = rc.load_case(case_dir)
    if interval_ms is not None:
        options["post_interval_ms"] = interval_ms
    tmp = tempfile.mkdtemp(prefix="dsiem-cluster-conformance-")
    result = {"tmp": tmp, "offset": 0, "http": [], "alarms": [], "links": [], "problems": [],
              "started": False}
    nats = NatsServer(nats_bin, tmp)
    fe = Node(binary, os.path.join(tmp, "fe"))
    be = Node(binary, os.path.join(tmp, "be"))
    wanted = copy_case_configs(os.path.join(case_dir, "configs"), fe.configs)
    args = split_args(options["args"])
    poster = rc.Poster(fe.port)
    stopped = False
    try:
        if not nats.start():
            result["problems"].append("nats-server did not start on port %d" % nats.port)
            return result
        cmd = fe.start_frontend(nats.url, args)
        if verbose:
            print("  " + " ".join(cmd))
        if not fe.wait_ready():
            result["problems"].append("frontend not ready within %.0f s (exit status %s)\n%s"
                                      % (READY_TIMEOUT_S, fe.proc.poll(), fe.tail()))
            return result
        cmd = be.start_backend(fe.port, nats.url, args)
        if verbose:
            print("  " + " ".join(cmd))
        if not be.wait_ready():
            result["problems"].append("backend not ready within %.0f s (exit status %s)\n%s"
                                      % (READY_TIMEOUT_S, be.proc.poll(), be.tail()))
            return result
        if not nats.wait_subscribers("dsiem_events", 1):
            result["problems"].append("no subscription to dsiem_events on the NATS server %.0f s after "
                                      "the backend reported ready" % SUBSCRIBE_TIMEOUT_S)
            return result
        result["started"] = True
        result["problems"] += check_pulled(be.configs, wanted)

        if options["rebase_timestamps"]:
            first = next((e for e in (s.first_epoch() for s in steps if s.sleep is None) if e is not None), None)
            if first is not None:
                result["offset"] = int(time.time()) - first
        interval = options["post_interval_ms"] / 1000.0
        for step in steps:
            if step.sleep is not None:
                time.sleep(step.sleep)
                continue
            status, body = poster.post(step.payload(result["offset"]))
            result["http"].append({"line": step.line, "status": status, "body": body})
            if interval > 0:
                time.sleep(interval)
        poster.close()
        rc.wait_outputs_settled(be.logs)
        # Frontend first (it drains its publish buffer into NATS), then the backend.
        result["problems"] += fe.stop("frontend")
        result["problems"] += be.stop("backend")
        stopped = True
    finally:
        poster.close()
        if not stopped:
            fe.kill()
            be.kill()
        nats.stop()
    result["problems"] += rc.check_logs_dir(be.logs)
    for key, name in (("alarms", rc.ALARMS_FILE), ("links", rc.LINKS_FILE)):
        path = os.path.join(be.logs, name)
        if os.path.isfile(path):
            result[key] = rc.read_json_lines(path)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the dsiem binary under test")
    ap.add_argument("--nats-server", default=shutil.which("nats-server") or "/usr/sbin/nats-server")
    ap.add_argument("--runs", type=int, default=1, help="run every case N times")
    ap.add_argument("--interval-ms", type=float, default=None, help="override post_interval_ms of every case")
    ap.add_argument("--strict-order", action="store_true", help="compare output lines in file order")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("cases", nargs="+", metavar="CASES_DIR_OR_CASE")
    a = ap.parse_args()

    binary = os.path.abspath(a.bin)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("not an executable: %s" % binary)
        print("0 passed, 1 failed")
        return 1
    if not (a.nats_server and os.access(a.nats_server, os.X_OK)):
        print("nats-server not found (use --nats-server)")
        print("0 passed, 1 failed")
        return 1
    cases = rc.find_cases(a.cases)
    if not cases:
        print("no cases found in %s" % " ".join(a.cases))
        print("0 passed, 1 failed")
        return 1

    passed = failed = 0
    for run in range(1, a.runs + 1):
        for case_dir in cases:
            started = time.monotonic()
            result = run_case(binary, a.nats_server, case_dir, a.interval_ms, a.verbose)
            problems = result["problems"]
            if result["started"]:
                problems += rc.compare_case(case_dir, result, a.strict_order)
            print("[%s] %s (cluster, run %d) %.1fs" % ("FAIL" if problems else "PASS",
                                                       os.path.basename(case_dir), run,
                                                       time.monotonic() - started))
            if problems:
                failed += 1
                for p in problems:
                    print("  - " + p)
                for who in ("fe", "be"):
                    print("  %s output (tail):" % who)
                    print("\n".join("    " + l for l in (
                        file_tail(os.path.join(result["tmp"], who, "server.log"))
                        + file_tail(os.path.join(result["tmp"], who, "server.err"))).splitlines()[-12:]))
            else:
                passed += 1
            if a.keep or problems:
                print("  temp dir: %s" % result["tmp"])
            else:
                shutil.rmtree(result["tmp"], ignore_errors=True)
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
