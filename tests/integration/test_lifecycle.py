#!/usr/bin/env python3
"""Process lifecycle tests of the dsiem binary (decisions.md §5-§7, events.md §6, alarms.md §1).

Usage:
  test_lifecycle.py --bin PATH [--keep] [-v] [TEST_NAME...]

Each test copies the binary into a fresh temp dir T (dsiem's base dir is its executable's dir)
next to T/configs/ holding one directive and one asset file, then runs
`T/dsiem serve -a 127.0.0.1 -p <free port>`. The directive turns every event of plugin 1001/1
into a new backlog (stage 1, occurrence 1; stage 2 waits for sid 2, which is never sent), so
each accepted event yields exactly one line in logs/siem_alarm_events.json and no alarm
(priority 1, reliability 1, asset value 1: risk 0).

Tests:
  sigterm_drain     3000 events over 4 keep-alive connections, SIGTERM: exit 0, every accepted
                    event linked exactly once
  sigint_drain      the same with 500 events and SIGINT
  sighup_reopen     SIGHUP reopens the output files after a rename (modes 0600, logs/ 0700)
  port_in_use       a second instance on the same port exits 1 with "Cannot start server: ..."
  no_200_after_stop POSTs sent more than 1 s after SIGTERM never get 200
  health_and_vars   /health/live, /health/ready, /debug/vars/ keys
  config_dump       configs/dsiem_config.json: mode 0644, sorted keys, tags/status arrays
  shards            DSIEM_SHARDS: a bad value stops start-up, 2 shards link every event once
  log_burst         a burst of backlog-creation lines from two shards reaches stdout whole,
                    within seconds, while the engine runs

Only 127.0.0.1 is used, and every wait is bounded. The last line printed is
'N passed, N failed'; the exit status is non-zero if anything failed.
"""

import argparse
import collections
import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from loopback_ports import free_port  # noqa: E402

LINKS_FILE = "siem_alarm_events.json"
ALARMS_FILE = "siem_alarms.json"

STARTUP_TIMEOUT_S = 30.0  # generous: sanitizer builds start slowly
REQUEST_TIMEOUT_S = 30.0
DRAIN_EXIT_TIMEOUT_S = 20.0
BIND_FAIL_EXIT_TIMEOUT_S = 10.0
FILE_WAIT_TIMEOUT_S = 15.0

DIRECTIVES = {
    "directives": [
        {
            "id": 1,
            "name": "Lifecycle: every event opens a backlog",
            "priority": 1,
            "kingdom": "Reconnaissance & Probing",
            "category": "Misc Activity",
            "rules": [
                {"name": "first", "type": "PluginRule", "stage": 1, "plugin_id": 1001,
                 "plugin_sid": [1], "occurrence": 1, "from": "ANY", "to": "ANY",
                 "port_from": "ANY", "port_to": "ANY", "protocol": "ANY", "reliability": 1,
                 "timeout": 0},
                {"name": "never", "type": "PluginRule", "stage": 2, "plugin_id": 1001,
                 "plugin_sid": [2], "occurrence": 1000, "from": "ANY", "to": "ANY",
                 "port_from": "ANY", "port_to": "ANY", "protocol": "ANY", "reliability": 1,
                 "timeout": 600},
            ],
        }
    ]
}
ASSETS = {"assets": [{"name": "10-Net", "cidr": "10.0.0.0/8", "value": 1}]}

VERBOSE = False


def log(msg):
    if VERBOSE:
        print("    " + msg, flush=True)


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


# ------------------------------------------------------------------ helpers
def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def event_body(event_id, n):
    """A valid plugin 1001/1 event; n picks distinct 10.x addresses."""
    event = {
        "event_id": event_id,
        "timestamp": now_rfc3339(),
        "title": "lifecycle",
        "sensor": "sensor-1",
        "plugin_id": 1001,
        "plugin_sid": 1,
        "src_ip": "10.%d.%d.%d" % ((n >> 16) & 255, (n >> 8) & 255, n & 255),
        "src_port": 1000 + n % 50000,
        "dst_ip": "10.255.0.1",
        "dst_port": 80,
        "protocol": "TCP",
    }
    return json.dumps(event, separators=(",", ":")).encode("utf-8")


def read_links(path):
    """-> list of parsed link records (a broken line becomes {"_bad": text})."""
    records = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError:
                    records.append({"_bad": line.rstrip("\n")})
    except FileNotFoundError:
        pass
    return records


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Instance:
    """One dsiem in its own temp dir."""

    def __init__(self, binary, keep, port=None):
        self.tmp = tempfile.mkdtemp(prefix="dsiem-lifecycle-")
        self.keep = keep
        self.bin = os.path.join(self.tmp, "dsiem")
        shutil.copy2(binary, self.bin)
        configs = os.path.join(self.tmp, "configs")
        os.mkdir(configs)
        with open(os.path.join(configs, "directives_lifecycle.json"), "w") as f:
            json.dump(DIRECTIVES, f, indent=2)
        with open(os.path.join(configs, "assets_lifecycle.json"), "w") as f:
            json.dump(ASSETS, f, indent=2)
        self.port = port if port is not None else free_port()
        self.logs = os.path.join(self.tmp, "logs")
        self.links_path = os.path.join(self.logs, LINKS_FILE)
        self.proc = None

    def start(self, extra_args=(), env=None):
        cmd = [self.bin, "serve", "-a", "127.0.0.1", "-p", str(self.port)] + list(extra_args)
        log("start: %s (cwd %s)" % (" ".join(cmd), self.tmp))
        self.stdout = open(os.path.join(self.tmp, "stdout.log"), "wb")
        self.stderr = open(os.path.join(self.tmp, "stderr.log"), "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=self.stdout, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        return self

    def wait_listening(self, timeout=STARTUP_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("dsiem exited with status %s before listening; stderr: %s"
                                  % (self.proc.returncode, self.stderr_text().strip()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TestFailure("dsiem did not listen on 127.0.0.1:%d within %.0f s"
                          % (self.port, timeout))

    def stderr_text(self):
        self.stderr.flush()
        with open(os.path.join(self.tmp, "stderr.log"), encoding="utf-8", errors="replace") as f:
            return f.read()

    def signal(self, sig):
        log("send %s" % signal.Signals(sig).name)
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """-> exit status, or None when still running after `timeout` seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def request(self, method, path, body=None, timeout=REQUEST_TIMEOUT_S):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp
        finally:
            conn.close()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # this Popen's own pid only
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for f in (getattr(self, "stdout", None), getattr(self, "stderr", None)):
            if f is not None:
                f.close()
        if self.keep:
            print("    kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class KeepAliveClient:
    """POSTs /events on one keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, port, timeout=REQUEST_TIMEOUT_S):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def _send(self, body):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.conn.request("POST", "/events", body=body,
                          headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.close()
        return resp.status, data

    def post(self, body, retry_idle_close=True):
        """-> (status, body bytes); status -1 with the error text on a transport failure."""
        reused = self.conn is not None
        try:
            return self._send(body)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
            self.close()
            if not (reused and retry_idle_close):
                return -1, ("%s: %s" % (type(e).__name__, e)).encode()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return -1, ("%s: %s" % (type(e).__name__, e)).encode()
        try:
            return self._send(body)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return -1, ("%s: %s" % (type(e).__name__, e)).encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def post_parallel(port, ids, connections):
    """POSTs one event per id, spread over `connections` threads. -> {id: (status, body)}."""
    results = {}
    lock = threading.Lock()
    chunks = [ids[i::connections] for i in range(connections)]

    def worker(chunk, base):
        client = KeepAliveClient(port)
        local = {}
        try:
            for k, event_id in enumerate(chunk):
                local[event_id] = client.post(event_body(event_id, base + k))
        finally:
            client.close()
            with lock:
                results.update(local)

    threads = []
    for i, chunk in enumerate(chunks):
        t = threading.Thread(target=worker, args=(chunk, i * 100000), daemon=True)
        threads.append(t)
        t.start()
    deadline = time.monotonic() + 300
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        check(not t.is_alive(), "posting threads did not finish within 300 s")
    return results


def check_links_exactly(records, expected_ids, what):
    """Every expected id linked exactly once at stage 1 and nothing else in the file."""
    bad = [r for r in records if "_bad" in r]
    check(not bad, "%s: %d unparseable line(s), first: %r" % (what, len(bad), bad[:1]))
    malformed = [r for r in records
                 if list(r.keys()) != ["alarm_id", "stage", "event_id"] or r["stage"] != 1
                 or not isinstance(r["alarm_id"], str) or not r["alarm_id"]]
    check(not malformed, "%s: malformed link(s), first: %r" % (what, malformed[:1]))
    counts = collections.Counter(r["event_id"] for r in records)
    expected = set(expected_ids)
    missing = sorted(expected - set(counts))
    dup = sorted(i for i, n in counts.items() if n > 1)
    extra = sorted(set(counts) - expected)
    check(not missing, "%s: %d accepted event(s) have no link (lost), e.g. %s"
          % (what, len(missing), missing[:5]))
    check(not dup, "%s: %d event(s) linked more than once, e.g. %s" % (what, len(dup), dup[:5]))
    check(not extra, "%s: %d unexpected event id(s), e.g. %s" % (what, len(extra), extra[:5]))
    check(len(records) == len(expected),
          "%s: %d link lines for %d events" % (what, len(records), len(expected)))
    alarm_ids = collections.Counter(r["alarm_id"] for r in records)
    shared = [a for a, n in alarm_ids.items() if n > 1]
    check(not shared, "%s: backlog(s) shared by several events (expected one backlog per "
          "event): %s" % (what, shared[:5]))


# ------------------------------------------------------------------ tests
def drain_test(inst, sig, count, prefix):
    # minEPS 0 turns the /events limiter off (events.md §8.1): the events arrive as fast as
    # the clients can send them, so the engine may still be busy when the signal comes.
    inst.start(["--minEPS", "0"]).wait_listening()
    ids = ["%s-%06d" % (prefix, i) for i in range(count)]
    t0 = time.monotonic()
    results = post_parallel(inst.port, ids, 4)
    log("posted %d events in %.2f s" % (count, time.monotonic() - t0))
    # Signal at once: whatever is still queued inside the engine must be drained.
    inst.signal(sig)
    log("%d of %d links written when the signal was sent"
        % (len(read_links(inst.links_path)), count))
    code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
    not_ok = {i: r for i, r in results.items() if r != (200, b"")}
    check(len(results) == count, "only %d of %d requests recorded" % (len(results), count))
    check(not not_ok, "%d request(s) not answered 200 with an empty body, e.g. %s"
          % (len(not_ok), sorted(not_ok.items())[:3]))
    check(code is not None, "dsiem still running %.0f s after %s"
          % (DRAIN_EXIT_TIMEOUT_S, signal.Signals(sig).name))
    check(code == 0, "exit status %d after %s (want 0); stderr: %s"
          % (code, signal.Signals(sig).name, inst.stderr_text().strip()[-500:]))
    check_links_exactly(read_links(inst.links_path), ids, LINKS_FILE)


def test_sigterm_drain(inst):
    drain_test(inst, signal.SIGTERM, 3000, "term")


def test_sigint_drain(inst):
    drain_test(inst, signal.SIGINT, 500, "int")


def test_sighup_reopen(inst):
    inst.start().wait_listening()
    client = KeepAliveClient(inst.port)
    first = ["hup-a-%02d" % i for i in range(10)]
    second = ["hup-b-%02d" % i for i in range(10)]
    try:
        for n, event_id in enumerate(first):
            status, body = client.post(event_body(event_id, n))
            check((status, body) == (200, b""), "%s: got %s %r" % (event_id, status, body))
        check(wait_for(lambda: len(read_links(inst.links_path)) >= 10, FILE_WAIT_TIMEOUT_S),
              "the first 10 links did not reach %s within %.0f s (have %d)"
              % (LINKS_FILE, FILE_WAIT_TIMEOUT_S, len(read_links(inst.links_path))))
        rotated = inst.links_path + ".1"
        os.rename(inst.links_path, rotated)
        inst.signal(signal.SIGHUP)
        check(wait_for(lambda: os.path.exists(inst.links_path), FILE_WAIT_TIMEOUT_S),
              "%s was not re-created within %.0f s of SIGHUP" % (LINKS_FILE, FILE_WAIT_TIMEOUT_S))
        check(inst.proc.poll() is None, "dsiem exited on SIGHUP (status %s)" % inst.proc.poll())
        for n, event_id in enumerate(second):
            status, body = client.post(event_body(event_id, 100 + n))
            check((status, body) == (200, b""), "%s: got %s %r" % (event_id, status, body))
        check(wait_for(lambda: len(read_links(inst.links_path)) >= 10, FILE_WAIT_TIMEOUT_S),
              "the 10 new links did not reach the new %s within %.0f s (have %d)"
              % (LINKS_FILE, FILE_WAIT_TIMEOUT_S, len(read_links(inst.links_path))))
        time.sleep(0.3)  # let a stray late write show up before checking
        check_links_exactly(read_links(inst.links_path), second, "new " + LINKS_FILE)
        check_links_exactly(read_links(rotated), first, LINKS_FILE + ".1")
        new_ids = {r["alarm_id"] for r in read_links(inst.links_path)}
        old_ids = {r["alarm_id"] for r in read_links(rotated)}
        check(not (new_ids & old_ids), "the second batch reused backlogs of the first")
        for path in (inst.links_path, rotated, os.path.join(inst.logs, ALARMS_FILE)):
            check(mode_of(path) == 0o600, "%s has mode %o (want 600)"
                  % (os.path.basename(path), mode_of(path)))
        check(mode_of(inst.logs) == 0o700, "logs/ has mode %o (want 700)" % mode_of(inst.logs))
    finally:
        client.close()
    inst.signal(signal.SIGTERM)
    code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
    check(code == 0, "exit status %s after SIGTERM (want 0)" % code)
    check_links_exactly(read_links(inst.links_path), second, "new %s after exit" % LINKS_FILE)
    check_links_exactly(read_links(inst.links_path + ".1"), first, LINKS_FILE + ".1 after exit")


def test_port_in_use(inst, binary, keep):
    inst.start().wait_listening()
    second = Instance(binary, keep, port=inst.port)
    try:
        second.start()
        code = second.wait_exit(BIND_FAIL_EXIT_TIMEOUT_S)
        check(code is not None, "the second dsiem still runs %.0f s after start on a busy port"
              % BIND_FAIL_EXIT_TIMEOUT_S)
        check(code == 1, "the second dsiem exited %d (want 1)" % code)
        err = second.stderr_text()
        lines = [l for l in err.splitlines() if l.startswith("Cannot start server:")]
        check(lines, "stderr has no line starting with 'Cannot start server:': %r" % err)
        address = "127.0.0.1:%d" % inst.port
        check(any(address in l for l in lines), "the error does not name %s: %r"
              % (address, lines))
    finally:
        second.cleanup()
    check(inst.proc.poll() is None, "the first dsiem died (status %s)" % inst.proc.poll())
    status, body, _ = inst.request("GET", "/health/live")
    check(status == 200, "first instance: GET /health/live -> %d" % status)
    status, body, _ = inst.request("POST", "/events", event_body("port-1", 1))
    check((status, body) == (200, b""), "first instance: POST /events -> %d %r" % (status, body))
    inst.signal(signal.SIGTERM)
    code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
    check(code == 0, "first instance: exit status %s after SIGTERM (want 0)" % code)
    check_links_exactly(read_links(inst.links_path), ["port-1"], LINKS_FILE)


def test_no_200_after_stop(inst):
    inst.start().wait_listening()
    stop_streaming = threading.Event()
    signal_time = [None]  # monotonic time of the SIGTERM
    lock = threading.Lock()
    log_rows = []  # (sent monotonic, event id, status)
    started = threading.Semaphore(0)

    def streamer(idx):
        client = KeepAliveClient(inst.port, timeout=10)
        n = 0
        try:
            while not stop_streaming.is_set():
                event_id = "stop-%d-%06d" % (idx, n)
                sent = time.monotonic()
                status, _ = client.post(event_body(event_id, idx * 100000 + n),
                                        retry_idle_close=False)
                with lock:
                    log_rows.append((sent, event_id, status))
                if n == 100:
                    started.release()
                n += 1
                if status == -1:
                    time.sleep(0.02)  # refused: keep trying, but do not spin
        finally:
            client.close()

    threads = [threading.Thread(target=streamer, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in threads:
            check(started.acquire(timeout=60), "the event stream did not get going within 60 s")
        signal_time[0] = time.monotonic()
        inst.signal(signal.SIGTERM)
        code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
        # Keep sending until at least 2 s after the signal, so that some requests are sent in
        # the "more than 1 s after" window even when the process is already gone.
        remaining = signal_time[0] + 2.0 - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
    finally:
        stop_streaming.set()
        for t in threads:
            t.join(15)
    check(all(not t.is_alive() for t in threads), "streaming threads did not stop")
    check(code == 0, "exit status %s after SIGTERM (want 0)" % code)
    limit = signal_time[0] + 1.0
    late_200 = [(round(s - signal_time[0], 3), i) for s, i, st in log_rows
                if st == 200 and s > limit]
    late = [r for r in log_rows if r[0] > limit]
    after = collections.Counter(st for s, _, st in log_rows if s >= signal_time[0])
    log("%d requests, %d sent >1 s after SIGTERM; statuses after the signal: %s"
        % (len(log_rows), len(late), dict(after)))
    check(late, "no request was sent more than 1 s after SIGTERM")
    check(not late_200, "%d request(s) sent more than 1 s after SIGTERM got 200, e.g. %s"
          % (len(late_200), late_200[:3]))
    odd = [(i, st) for _, i, st in log_rows if st not in (200, 503, -1)]
    check(not odd, "unexpected statuses while stopping: %s" % odd[:5])
    # Graceful stop: every event answered 200 is linked once; an event refused with 503 never.
    accepted = [i for _, i, st in log_rows if st == 200]
    refused = {i for _, i, st in log_rows if st == 503}
    records = read_links(inst.links_path)
    counts = collections.Counter(r.get("event_id") for r in records)
    lost = [i for i in accepted if counts[i] != 1]
    check(not lost, "%d event(s) answered 200 are not linked exactly once, e.g. %s"
          % (len(lost), lost[:5]))
    leaked = sorted(refused & set(counts))
    check(not leaked, "event(s) answered 503 were correlated: %s" % leaked[:5])
    dup = [i for i, n in counts.items() if n > 1]
    check(not dup, "event(s) linked more than once: %s" % dup[:5])


def test_health_and_vars(inst):
    inst.start().wait_listening()
    status, body, _ = inst.request("GET", "/health/live")
    check(status == 200, "GET /health/live -> %d %r" % (status, body))
    status, body, _ = inst.request("GET", "/health/ready")
    check(status == 200, "GET /health/ready -> %d %r" % (status, body))
    status, body, resp = inst.request("GET", "/debug/vars/")
    check(status == 200, "GET /debug/vars/ -> %d %r" % (status, body[:200]))
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError as e:
        raise TestFailure("/debug/vars/ is not JSON (%s): %r" % (e, body[:200]))
    check(isinstance(doc, dict), "/debug/vars/ is not a JSON object")
    for key in ("eps_counter", "backlog_counter", "alarm_counter", "goroutine_counter"):
        check(key in doc, "/debug/vars/ lacks %r (keys: %s)" % (key, sorted(doc)))
        check(isinstance(doc[key], int) and not isinstance(doc[key], bool),
              "/debug/vars/ %s is not an integer: %r" % (key, doc[key]))
    ctype = resp.getheader("Content-Type", "")
    check(ctype.startswith("application/json"), "/debug/vars/ Content-Type %r" % ctype)
    inst.signal(signal.SIGTERM)
    code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
    check(code == 0, "exit status %s after SIGTERM (want 0)" % code)


def test_config_dump(inst):
    path = os.path.join(inst.tmp, "configs", "dsiem_config.json")
    check(not os.path.exists(path), "test setup: dsiem_config.json exists before the start")
    inst.start(["--tags", "T1,T2", "--status", "S1"]).wait_listening()
    check(os.path.isfile(path), "configs/dsiem_config.json was not written at start")
    check(mode_of(path) == 0o644, "dsiem_config.json has mode %o (want 644)" % mode_of(path))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
        doc = json.loads(text)
    except ValueError as e:
        raise TestFailure("dsiem_config.json is not JSON (%s): %r" % (e, text[:200]))
    keys = [k for k, _ in pairs]
    check(keys == sorted(keys), "dsiem_config.json keys are not sorted: %s" % keys)
    check(len(set(keys)) == len(keys), "dsiem_config.json has duplicate keys")
    check(doc.get("tags") == ["T1", "T2"], "tags is %r (want the array [T1, T2])"
          % doc.get("tags"))
    check(doc.get("status") == ["S1"], "status is %r (want the array [S1])" % doc.get("status"))
    check(doc.get("port") == inst.port, "port is %r (want %d)" % (doc.get("port"), inst.port))
    check(doc.get("address") == "127.0.0.1", "address is %r" % doc.get("address"))
    check(doc.get("mode") == "standalone", "mode is %r" % doc.get("mode"))
    inst.signal(signal.SIGTERM)
    code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
    check(code == 0, "exit status %s after SIGTERM (want 0)" % code)


def test_shards(inst):
    """DSIEM_SHARDS picks the number of correlation threads; a bad value stops start-up."""
    inst.start(env={"DSIEM_SHARDS": "0"})
    code = inst.wait_exit(BIND_FAIL_EXIT_TIMEOUT_S)
    check(code == 1, "DSIEM_SHARDS=0: exit status %s (want 1)" % code)
    err = inst.stderr_text()
    check("DSIEM_SHARDS must be an integer from 1 to 64, got 0" in err,
          "DSIEM_SHARDS=0: stderr does not explain: %r" % err)
    inst.start(env={"DSIEM_SHARDS": "2"}).wait_listening()
    ids = ["shard-%d" % i for i in range(200)]
    post_parallel(inst.port, ids, 4)
    inst.signal(signal.SIGTERM)
    code = inst.wait_exit(DRAIN_EXIT_TIMEOUT_S)
    check(code == 0, "DSIEM_SHARDS=2: exit status %s after SIGTERM (want 0)" % code)
    check_links_exactly(read_links(inst.links_path), ids, LINKS_FILE)


def stdout_json_lines(inst):
    """-> (parsed JSON log lines of stdout so far, lines that are not whole JSON objects)."""
    inst.stdout.flush()
    parsed, torn = [], []
    with open(os.path.join(inst.tmp, "stdout.log"), encoding="utf-8", errors="replace") as f:
        for line in f.read().splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                torn.append(line)
                continue
            (parsed if isinstance(obj, dict) else torn).append(obj)
    return parsed, torn


def test_log_burst(inst):
    """Two shards logging a burst (two lines per new backlog) while the engine keeps running:
    every line reaches stdout within the periodic flush, whole, without waiting for exit."""
    inst.start(["--minEPS", "0"], env={"DSIEM_SHARDS": "2"}).wait_listening()
    ids = ["burst-%04d" % i for i in range(600)]
    results = post_parallel(inst.port, ids, 4)
    check(all(r == (200, b"") for r in results.values()), "not every POST answered 200")
    check(wait_for(lambda: len(read_links(inst.links_path)) == len(ids), FILE_WAIT_TIMEOUT_S),
          "%d of %d links written" % (len(read_links(inst.links_path)), len(ids)))
    backlogs = {rec["alarm_id"] for rec in read_links(inst.links_path)}

    def logged():
        lines, _ = stdout_json_lines(inst)
        return {l.get("backlog") for l in lines
                if l.get("msg") == "Creating new backlog" and l.get("level") == "INFO"}

    # INFO lines of a burst are flushed at least once a second.
    check(wait_for(lambda: backlogs <= logged(), 3.0),
          "%d of %d 'Creating new backlog' lines on stdout 3 s after the burst, engine running"
          % (len(backlogs & logged()), len(backlogs)))
    _, torn = stdout_json_lines(inst)
    check(not torn, "%d stdout line(s) not a whole JSON object, e.g. %r" % (len(torn), torn[:2]))
    check(inst.proc.poll() is None, "dsiem exited during the burst")
    inst.signal(signal.SIGTERM)
    check(inst.wait_exit(DRAIN_EXIT_TIMEOUT_S) == 0, "exit status after SIGTERM is not 0")


TESTS = [
    ("sigterm_drain", test_sigterm_drain),
    ("sigint_drain", test_sigint_drain),
    ("sighup_reopen", test_sighup_reopen),
    ("port_in_use", test_port_in_use),
    ("no_200_after_stop", test_no_200_after_stop),
    ("health_and_vars", test_health_and_vars),
    ("config_dump", test_config_dump),
    ("shards", test_shards),
    ("log_burst", test_log_burst),
]


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the dsiem binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("tests", nargs="*", help="test names (default: all)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print("not an executable: %s" % binary, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    names = [n for n, _ in TESTS]
    unknown = [t for t in args.tests if t not in names]
    if unknown:
        print("unknown test(s): %s (known: %s)" % (unknown, names), file=sys.stderr)
        print("0 passed, %d failed" % len(unknown))
        return 1
    passed = failed = 0
    for name, fn in TESTS:
        if args.tests and name not in args.tests:
            continue
        print("RUN  %s" % name, flush=True)
        inst = Instance(binary, args.keep)
        t0 = time.monotonic()
        try:
            if fn is test_port_in_use:
                fn(inst, binary, args.keep)
            else:
                fn(inst)
            passed += 1
            print("PASS %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
        except TestFailure as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception:  # a bug in the test or an unexpected transport error
            failed += 1
            print("FAIL %s: unexpected exception\n%s" % (name, traceback.format_exc()), flush=True)
        finally:
            inst.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
