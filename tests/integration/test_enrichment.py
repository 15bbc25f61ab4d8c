#!/usr/bin/env python3
"""Threat-intel and vulnerability enrichment of the dsiem binary (assets_and_intel.md §4-§7,
alarms.md §3 and §5, decisions.md §4 and §9), against a Wise and a Nesd server on 127.0.0.1.

Usage:
  test_enrichment.py --bin PATH [--keep] [-v] [SCENARIO...]

Each scenario copies the binary into a fresh temp dir T (dsiem's base dir is its executable's
dir), writes T/configs/ (the testing assets of assets_and_intel.md §1, directives,
intel_wise.json and vuln_nesd.json pointing at Python servers on free loopback ports), runs
`T/dsiem serve -a 127.0.0.1 -p <free port> [flags]`, posts events to /events, reads
T/logs/siem_alarms.json, and stops the engine with SIGTERM.

Scenarios:
  main          --cacheDuration 5. alarms.md §5 Example A (the risk-0 upsert starts a lookup,
                the snapshot adds intel_hits after dst_ips) and its Variant; a second alarm on a
                cached IP asks Wise nothing; vuln terms from the literal rule IP 192.168.225.196
                with port_to "22, 80" and the last event's ports, answered with the nesd
                fixtures of enrichment/nesd/; a second alarm on the same (ip, port) asks Nesd
                nothing; private IPs are never asked.
  failing_intel two Wise sources, one answering 500 (with a body that would be a hit), one
                answering garbage: no hits, nothing cached, one WARN "Error received from intel
                checker Wise: ..." per failed call on stdout, correlation goes on.
  private_ip    --intelPrivateIP: private IPs are looked up, unparsable ones never reach Wise.

One PASS/FAIL line is printed per check, the last line is 'N passed, N failed', and the exit
status is non-zero when a check failed. Only 127.0.0.1 is used and every wait is bounded.
"""

import argparse
import collections
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from loopback_ports import free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NESD_FIXTURES = os.path.join(HERE, "enrichment", "nesd")

STARTUP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 15.0
RECORD_TIMEOUT_S = 20.0  # lookups time out after 5 s each; a few may be in a row
SETTLE_S = 1.0  # output files unchanged this long count as settled
SETTLE_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 20.0
# A lookup's result is stored just after its server has sent the answer: the time allowed for
# that before the next events are posted.
STORE_GRACE_S = 0.5

NO_VULNERABILITY = b"no vulnerability found\n"
PRIVATE_PREFIXES = ("10.", "127.", "169.254.", "192.168.") + tuple(
    "172.%d." % i for i in range(16, 32))

ASSETS = {"assets": [
    {"name": "Firewall", "cidr": "192.168.0.1/32", "value": 5},
    {"name": "VulnerabilityScanner", "cidr": "192.168.0.2/32", "value": 5, "whitelisted": True},
    {"name": "192-168-Net", "cidr": "192.168.0.0/16", "value": 2},
    {"name": "10-Net", "cidr": "10.0.0.0/8", "value": 2},
    {"name": "172-16-Net", "cidr": "172.16.0.0/12", "value": 2},
]}


def ping_rule(stage, occurrence, source, reliability, timeout):
    return {"name": "ICMP Ping", "type": "PluginRule", "stage": stage, "plugin_id": 1001,
            "plugin_sid": [2100384], "occurrence": occurrence, "from": source, "to": "ANY",
            "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP",
            "reliability": reliability, "timeout": timeout}


# Directive 1 of directives.md §9 (alarms.md §5 Example A), and a service probe directive whose
# rules name 192.168.225.196 literally: stage 1 any source to it on "22, 80" (" 80" has a
# leading space, so it is no lookup term), stage 2 two events from the same source to 21 or 443.
# With the testing assets the probe's risk is 5*5*2/25 = 2 at both stages.
DIRECTIVES = {"directives": [
    {"id": 1, "name": "Ping Flood from SRC_IP", "priority": 3,
     "kingdom": "Reconnaissance & Probing", "category": "Misc Activity",
     "rules": [ping_rule(1, 1, "HOME_NET", 1, 0), ping_rule(2, 3, ":1", 6, 600),
               ping_rule(3, 10000, ":1", 10, 3600)]},
    {"id": 10, "name": "Service probe on DST_IP", "priority": 5,
     "kingdom": "Reconnaissance & Probing", "category": "Misc Activity",
     "rules": [
         {"name": "web or ssh", "type": "PluginRule", "stage": 1, "plugin_id": 1002,
          "plugin_sid": [1], "occurrence": 1, "from": "ANY", "to": "192.168.225.196",
          "port_from": "ANY", "port_to": "22, 80", "protocol": "TCP", "reliability": 5,
          "timeout": 0},
         {"name": "ftp or https", "type": "PluginRule", "stage": 2, "plugin_id": 1002,
          "plugin_sid": [2], "occurrence": 2, "from": ":1", "to": ":1", "port_from": "ANY",
          "port_to": "21,443", "protocol": "TCP", "reliability": 5, "timeout": 600}]},
]}

PROBE_TARGET = "192.168.225.196"

# Wise answers (assets_and_intel.md §5.3): 1.1.1.1 as in alarms.md §5 Example A, 9.9.9.9 as in
# §5.3's example (an ID element of len 3 that is no result).
MALICIOUS_HOST = b'[{field:"alienvault.activity",len:14,value:"Malicious Host"}]'
SPAMMING = b'[{field:"alienvault.id",len:3,value:"12"},{field:"alienvault.activity",len:9,value:"Spamming"}]'

VERBOSE = False


def log(msg):
    if VERBOSE:
        print("    " + msg, flush=True)


def hit(ip, result):
    return {"provider": "Wise", "term": ip, "result": result}


def malicious_host(ip):
    return hit(ip, "alienvault.activity: Malicious Host")


def nesd_fixture(ip, port):
    """The nesd answer for (ip, port): the fixture body, else "no vulnerability found\\n"."""
    path = os.path.join(NESD_FIXTURES, "%s_%s.body" % (ip, port))
    if os.path.isfile(path):
        with open(path, "rb") as f:
            return f.read()
    return NO_VULNERABILITY


def expected_nesd_results(ip, port):
    """assets_and_intel.md §6.3 applied to the fixture: one result per Medium/High/Critical
    element, in answer order."""
    body = nesd_fixture(ip, port)
    if body == NO_VULNERABILITY:
        return []
    results = []
    for element in json.loads(body):
        if element["risk"] not in ("Medium", "High", "Critical"):
            continue
        text = element["risk"] + " - " + element["name"]
        if element["cve"]:
            text += " (" + element["cve"] + ")"
        results.append({"provider": "Nesd", "term": "%s:%s" % (ip, port), "result": text})
    return results


def unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# ------------------------------------------------------------------ results
class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)
        return ok


class ScenarioError(Exception):
    """A prerequisite of the remaining checks of a scenario failed."""


def require(cond, msg):
    if not cond:
        raise ScenarioError(msg)


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# ------------------------------------------------------------------ lookup servers
class LookupServer:
    """A threaded HTTP server on 127.0.0.1 and a free port. `respond(path, query)` gives
    (status, body bytes). Every request is recorded when it arrives and again once answered."""

    def __init__(self, name, respond):
        self.name = name
        self.respond = respond
        self.lock = threading.Lock()
        self.received = []  # (path, query) in arrival order
        self.answered = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urllib.parse.urlsplit(self.path)
                request = (parts.path, parts.query)
                with outer.lock:
                    outer.received.append(request)
                status, body = outer.respond(parts.path, parts.query)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                with outer.lock:
                    outer.answered.append(request)

            def log_message(self, fmt, *args):
                log("%s: %s" % (outer.name, fmt % args))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def requests(self):
        with self.lock:
            return list(self.received)

    def answered_requests(self):
        with self.lock:
            return list(self.answered)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class WiseServer(LookupServer):
    """Wise on /ip/<ip>: `answers` maps an IP to a body (200); others get "[]". With `status`
    and `body` set, every request gets that answer instead."""

    def __init__(self, answers=None, status=None, body=None, name="wise"):
        answers = dict(answers or {})

        def respond(path, _query):
            if status is not None:
                return status, body
            if not path.startswith("/ip/"):
                return 404, b"404 page not found\n"
            return 200, answers.get(urllib.parse.unquote(path[len("/ip/"):]), b"[]")

        super().__init__(name, respond)

    def url_template(self):
        return "http://127.0.0.1:%d/ip/${ip}" % self.port

    def ips(self, answered=False):
        reqs = self.answered_requests() if answered else self.requests()
        return [urllib.parse.unquote(p[len("/ip/"):]) for p, _ in reqs if p.startswith("/ip/")]


class NesdServer(LookupServer):
    """nesd on /?ip=&port=, answering from enrichment/nesd/ like `nesd serve`."""

    def __init__(self):
        def respond(path, query):
            params = urllib.parse.parse_qs(query)
            if path != "/" or "ip" not in params or "port" not in params:
                return 400, b"requires ip and port parameter\n"
            return 200, nesd_fixture(params["ip"][0], params["port"][0])

        super().__init__("nesd", respond)

    def url_template(self):
        return "http://127.0.0.1:%d/?ip=${ip}&port=${port}" % self.port

    def terms(self):
        out = []
        for _, query in self.requests():
            params = urllib.parse.parse_qs(query)
            out.append((params.get("ip", [""])[0], params.get("port", [""])[0]))
        return out


def source_config(url):
    return json.dumps({"url": url})


def intel_config(servers):
    return {"intel_sources": [
        {"name": name, "plugin": "Wise", "type": "IP", "enabled": True,
         "config": source_config(server.url_template())} for name, server in servers]}


def vuln_config(server):
    return {"vuln_sources": [
        {"name": "Nessus", "type": "IP-Port", "plugin": "Nesd", "enabled": True,
         "config": source_config(server.url_template())}]}


# ------------------------------------------------------------------ the engine
class Engine:
    """One dsiem in its own temp dir."""

    def __init__(self, binary, keep, configs):
        self.tmp = tempfile.mkdtemp(prefix="dsiem-enrichment-")
        self.keep = keep
        self.bin = os.path.join(self.tmp, "dsiem")
        shutil.copy2(binary, self.bin)
        os.mkdir(os.path.join(self.tmp, "configs"))
        for name, content in configs.items():
            with open(os.path.join(self.tmp, "configs", name), "w") as f:
                json.dump(content, f, indent=2)
        self.port = free_port()
        self.alarms_path = os.path.join(self.tmp, "logs", "siem_alarms.json")
        self.links_path = os.path.join(self.tmp, "logs", "siem_alarm_events.json")
        self.stdout_path = os.path.join(self.tmp, "stdout.log")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.proc = None
        self.files = []

    def start(self, flags=()):
        cmd = [self.bin, "serve", "-a", "127.0.0.1", "-p", str(self.port)] + list(flags)
        log("start: %s" % " ".join(cmd))
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self.files = [out, err]
        self.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=out, stderr=err,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ScenarioError("dsiem exited with status %s at start-up; stderr: %s"
                                    % (self.proc.returncode, self.read(self.stderr_path)[-2000:]))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise ScenarioError("dsiem did not listen within %.0f s" % STARTUP_TIMEOUT_S)

    @staticmethod
    def read(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def post(self, event):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request("POST", "/events", body=json.dumps(event).encode(),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        require(resp.status == 200, "POST /events of %s: HTTP %d %r"
                % (event["event_id"], resp.status, body[:200]))

    def links(self):
        return [json.loads(line) for line in self.read(self.links_path).splitlines() if line]

    def alarm_id(self, event_id):
        """The alarm that `event_id` created or joined (waits for its link)."""
        found = []

        def linked():
            found[:] = [l["alarm_id"] for l in self.links() if l["event_id"] == event_id]
            return bool(found)

        require(wait_for(linked, RECORD_TIMEOUT_S), "no link for event %s" % event_id)
        return found[0]

    def records(self, alarm_id=None):
        """Alarm records in file order as (dict, [keys in order]); those of `alarm_id` only."""
        out = []
        for line in self.read(self.alarms_path).splitlines():
            if not line:
                continue
            pairs = json.loads(line, object_pairs_hook=lambda p: p)
            record = json.loads(line)
            if alarm_id is None or record.get("alarm_id") == alarm_id:
                out.append((record, [k for k, _ in pairs]))
        return out

    def wait_records(self, alarm_id, count):
        require(wait_for(lambda: len(self.records(alarm_id)) >= count, RECORD_TIMEOUT_S),
                "alarm %s: %d record(s) after %.0f s, expected %d"
                % (alarm_id, len(self.records(alarm_id)), RECORD_TIMEOUT_S, count))
        return self.records(alarm_id)

    def settle(self):
        """Waits until both output files stop changing for SETTLE_S."""
        def signature():
            return tuple(os.path.getsize(p) if os.path.exists(p) else -1
                         for p in (self.alarms_path, self.links_path))

        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        last, since = signature(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = signature()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= SETTLE_S:
                return
        raise ScenarioError("output files kept changing for %.0f s" % SETTLE_TIMEOUT_S)

    def log_lines(self):
        """The JSON log lines of stdout, parsed (other lines skipped)."""
        out = []
        for line in self.read(self.stdout_path).splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self):
        """SIGTERM; -> exit status, or None when still running after STOP_TIMEOUT_S."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # this Popen's own process only
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for f in self.files:
            f.close()
        if self.keep:
            print("    kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def ping(event_id, src, dst):
    return {"event_id": event_id, "timestamp": now_rfc3339(), "title": "ICMP Ping",
            "sensor": "sensor-1", "plugin_id": 1001, "plugin_sid": 2100384, "src_ip": src,
            "dst_ip": dst, "protocol": "ICMP"}


def probe(event_id, src, src_port, dst_port, sid):
    return {"event_id": event_id, "timestamp": now_rfc3339(), "title": "probe",
            "sensor": "sensor-1", "plugin_id": 1002, "plugin_sid": sid, "src_ip": src,
            "src_port": src_port, "dst_ip": PROBE_TARGET, "dst_port": dst_port,
            "protocol": "TCP"}


def ping_flood(engine, prefix, src, first_dst, second_dst, before_rest=None):
    """Directive 1 from `src`: one event to `first_dst` (stage 1, risk 0), then one to
    `second_dst` and two to `first_dst` (stage 2 complete, risk 3*6*2/25 = 1). `before_rest`
    runs between the two parts. -> the alarm ID."""
    engine.post(ping(prefix + "-e1", src, first_dst))
    alarm_id = engine.alarm_id(prefix + "-e1")
    if before_rest:
        before_rest()
    engine.post(ping(prefix + "-e2", src, second_dst))
    engine.post(ping(prefix + "-e6", src, first_dst))
    engine.post(ping(prefix + "-e7", src, first_dst))
    return alarm_id


def with_key_after(keys, new_key, after):
    out = list(keys)
    out.insert(out.index(after) + 1, new_key)
    return out


def without(record, key):
    return {k: v for k, v in record.items() if k != key}


def wait_answered(server, ip):
    require(wait_for(lambda: ip in server.ips(answered=True), RECORD_TIMEOUT_S),
            "%s was never asked for %s" % (server.name, ip))


# ------------------------------------------------------------------ scenarios
def scenario_main(binary, keep, results):
    wise = WiseServer({"1.1.1.1": MALICIOUS_HOST, "9.9.9.9": SPAMMING})
    nesd = NesdServer()
    engine = Engine(binary, keep, {
        "assets_testing.json": ASSETS,
        "directives_enrichment.json": DIRECTIVES,
        "intel_wise.json": intel_config([("Wise", wise)]),
        "vuln_nesd.json": vuln_config(nesd),
    })
    try:
        engine.start(["--cacheDuration", "5"])

        # alarms.md §5 Example A: e1 is a risk-0 stage-1 completion whose lookup asks for
        # 8.8.8.8 (192.168.0.10 is private) and caches "not found"; e2 only appends; e7
        # completes stage 2 (A1), whose lookup finds 1.1.1.1 (A2 = A1 + intel_hits).
        alarm_a = ping_flood(engine, "A", "192.168.0.10", "8.8.8.8", "1.1.1.1")
        recs = engine.wait_records(alarm_a, 2)
        a1, a1_keys = recs[0]
        a2, a2_keys = recs[1]
        results.check(
            "example_a_first_record",
            "intel_hits" not in a1 and a1["risk"] == 1 and a1["risk_class"] == "Low"
            and a1["title"] == "Ping Flood from 192.168.0.10"
            and a1["dst_ips"] == ["8.8.8.8", "1.1.1.1"] and a1["networks"] == ["192.168.0.0/16"],
            "A1 = %r" % (a1,))
        results.check(
            "example_a_snapshot",
            a2.get("intel_hits") == [malicious_host("1.1.1.1")]
            and a2_keys == with_key_after(a1_keys, "intel_hits", "dst_ips")
            and without(a2, "intel_hits") == a1,
            "A1 keys %s\nA2 keys %s\nA2 = %r" % (a1_keys, a2_keys, a2))
        counts = collections.Counter(wise.ips())
        results.check("example_a_wise_requests",
                      counts["8.8.8.8"] == 1 and counts["1.1.1.1"] == 1,
                      "Wise requests: %s" % wise.ips())

        # The Variant: the risk-0 lookup at e1 finds 9.9.9.9, so the first written record
        # already carries the hit and no snapshot follows (9.9.9.10 is unknown).
        alarm_v = ping_flood(engine, "V", "192.168.0.20", "9.9.9.9", "9.9.9.10",
                             before_rest=lambda: (wait_answered(wise, "9.9.9.9"),
                                                  time.sleep(STORE_GRACE_S)))
        recs = engine.wait_records(alarm_v, 1)
        wait_answered(wise, "9.9.9.10")
        engine.settle()
        recs = engine.records(alarm_v)
        first, first_keys = recs[0]
        results.check(
            "variant_hit_in_first_record",
            first.get("intel_hits") == [hit("9.9.9.9", "alienvault.activity: Spamming")]
            and first_keys.index("intel_hits") == first_keys.index("dst_ips") + 1
            and first["risk"] == 1,
            "record = %r" % (first,))
        results.check("variant_no_snapshot", len(recs) == 1,
                      "%d records: %r" % (len(recs), [r for r, _ in recs]))

        # Intel cache: another alarm on 1.1.1.1 within --cacheDuration asks Wise nothing and
        # still gets the hit. The cached answer is stored without a request: give it time.
        alarm_c = ping_flood(engine, "C", "192.168.0.30", "1.1.1.1", "1.1.1.1",
                             before_rest=lambda: time.sleep(STORE_GRACE_S * 2))
        engine.wait_records(alarm_c, 1)
        engine.settle()
        recs = engine.records(alarm_c)
        results.check("intel_cache_no_second_request",
                      collections.Counter(wise.ips())["1.1.1.1"] == 1,
                      "Wise requests: %s" % wise.ips())
        results.check("intel_cache_hit_used",
                      recs[-1][0].get("intel_hits") == [malicious_host("1.1.1.1")],
                      "records = %r" % ([r for r, _ in recs],))

        # Vuln terms (assets_and_intel.md §6.1): rule 1 "to" 192.168.225.196 with "22",
        # " 80" (not an integer) and the last dst_port 80; rule 2 "from" (":1" = the first
        # source) with the last src_port; rule 2 "to" with "21" and "443".
        engine.post(probe("P-v1", "203.0.113.9", 40000, 80, 1))
        alarm_p = engine.alarm_id("P-v1")
        recs = engine.wait_records(alarm_p, 2)
        engine.settle()
        recs = engine.records(alarm_p)
        expected_terms = [(PROBE_TARGET, "22"), (PROBE_TARGET, "80"), ("203.0.113.9", "40000"),
                          (PROBE_TARGET, "21"), (PROBE_TARGET, "443")]
        queries = [q for _, q in nesd.requests()]
        results.check("vuln_terms_asked",
                      nesd.terms() == expected_terms
                      and "ip=192.168.225.196&port=80" in queries,
                      "Nesd requests: %s" % queries)
        expected_vulns = (expected_nesd_results(PROBE_TARGET, 80)
                          + expected_nesd_results(PROBE_TARGET, 21))
        p1, p1_keys = recs[0]
        p2, p2_keys = recs[-1]
        results.check(
            "vuln_snapshot",
            len(recs) == 2 and "vulnerabilities" not in p1 and p1["risk"] == 2
            and p1["title"] == "Service probe on 192.168.225.196"
            and p2_keys == with_key_after(p1_keys, "vulnerabilities", "dst_ips")
            and without(p2, "vulnerabilities") == p1
            and unique(p2.get("vulnerabilities", [])) == unique(expected_vulns),
            "%d records; first %r\nlast %r\nexpected vulnerabilities (distinct) %r"
            % (len(recs), p1, p2, unique(expected_vulns)))
        # assets_and_intel.md §6.3: one result per qualifying element of the answer (the
        # 192.168.225.196:80 fixture repeats findings; Go keeps every repetition).
        results.check("vuln_every_answer_element_kept",
                      p2.get("vulnerabilities") == expected_vulns,
                      "got %d entries, expected %d: %r"
                      % (len(p2.get("vulnerabilities", [])), len(expected_vulns),
                         p2.get("vulnerabilities")))

        # Stage 2 (the last) completes: the results stay, the risk does not move, and only the
        # new source port is asked (:21, :80 are known terms; :22 and :443 are cached).
        engine.post(probe("P-v2", "203.0.113.9", 40001, 21, 2))
        engine.post(probe("P-v3", "203.0.113.9", 40001, 21, 2))
        engine.wait_records(alarm_p, 3)
        engine.settle()
        recs = engine.records(alarm_p)
        last = recs[-1][0]
        results.check(
            "vuln_results_carried_risk_unchanged",
            len(recs) == 3 and last.get("vulnerabilities") == p2.get("vulnerabilities")
            and last["risk"] == 2 and last["rules"][1].get("status") == "finished",
            "records = %r" % ([r for r, _ in recs],))
        results.check("vuln_known_terms_not_asked_again",
                      nesd.terms() == expected_terms + [("203.0.113.9", "40001")],
                      "Nesd requests: %s" % nesd.terms())

        # Vuln cache: another alarm on 192.168.225.196:80 gets the results without a request.
        engine.post(probe("Q-v1", "203.0.113.10", 41000, 80, 1))
        alarm_q = engine.alarm_id("Q-v1")
        engine.wait_records(alarm_q, 2)
        engine.settle()
        recs = engine.records(alarm_q)
        results.check("vuln_cache",
                      nesd.terms() == expected_terms + [("203.0.113.9", "40001"),
                                                        ("203.0.113.10", "41000")]
                      and recs[-1][0].get("vulnerabilities") == p2.get("vulnerabilities"),
                      "Nesd requests: %s; records = %r"
                      % (nesd.terms(), [r for r, _ in recs]))

        private = [ip for ip in wise.ips() if ip.startswith(PRIVATE_PREFIXES)]
        results.check("private_ips_not_asked", not private, "Wise requests: %s" % wise.ips())
        msgs = [l.get("msg") for l in engine.log_lines()]
        results.check("sources_loaded",
                      "Loaded 1 threat intelligence sources." in msgs
                      and "Loaded 1 vulnerability scan result sources." in msgs,
                      "log messages: %s" % msgs[:30])
    finally:
        status = engine.stop()
        results.check("main_sigterm_exit_0", status == 0, "exit status %s" % status)
        engine.cleanup()
        wise.stop()
        nesd.stop()


def scenario_failing_intel(binary, keep, results):
    # The 500 answer carries a body that would be a hit if the status were ignored
    # (gaps_and_weaknesses.md C1: the status is checked).
    failing = WiseServer(status=500, body=MALICIOUS_HOST, name="wise-500")
    garbage = WiseServer(status=200, body=b"<html>garbage</html>", name="wise-garbage")
    engine = Engine(binary, keep, {
        "assets_testing.json": ASSETS,
        "directives_enrichment.json": DIRECTIVES,
        "intel_wise.json": intel_config([("Wise", failing), ("Wise-Garbage", garbage)]),
    })
    try:
        engine.start()
        alarm_f = ping_flood(engine, "F", "192.168.0.10", "8.8.8.8", "1.1.1.1",
                             before_rest=lambda: (wait_answered(failing, "8.8.8.8"),
                                                  wait_answered(garbage, "8.8.8.8")))
        engine.wait_records(alarm_f, 1)
        # A later alarm is still correlated and written.
        alarm_g = ping_flood(engine, "G", "192.168.0.11", "8.8.4.4", "8.8.4.4")
        engine.wait_records(alarm_g, 1)
        wait_answered(failing, "8.8.4.4")
        wait_answered(garbage, "8.8.4.4")
        engine.settle()

        records = [r for r, _ in engine.records()]
        results.check("failing_intel_no_hits",
                      not any("intel_hits" in r for r in records)
                      and [r["risk"] for r in records if r["alarm_id"] == alarm_f] == [1],
                      "records = %r" % records)
        results.check("failing_intel_keeps_correlating",
                      [r["dst_ips"] for r in records if r["alarm_id"] == alarm_g] == [["8.8.4.4"]],
                      "records = %r" % records)
        # Nothing was cached: the stage-2 completion asked again for 8.8.8.8.
        results.check("failing_intel_not_cached",
                      collections.Counter(failing.ips())["8.8.8.8"] == 2
                      and collections.Counter(garbage.ips())["8.8.8.8"] == 2,
                      "500 server: %s; garbage server: %s" % (failing.ips(), garbage.ips()))
        warns = [l for l in engine.log_lines()
                 if str(l.get("msg", "")).startswith("Error received from intel checker Wise: ")]
        calls = len(failing.requests()) + len(garbage.requests())
        results.check("failing_intel_warns",
                      len(warns) == calls and all(l.get("level") == "WARN" for l in warns),
                      "%d WARN line(s) for %d failed call(s): %s" % (len(warns), calls, warns[:4]))
    finally:
        status = engine.stop()
        results.check("failing_intel_sigterm_exit_0", status == 0, "exit status %s" % status)
        engine.cleanup()
        failing.stop()
        garbage.stop()


def scenario_private_ip(binary, keep, results):
    wise = WiseServer({"192.168.0.10": MALICIOUS_HOST})
    engine = Engine(binary, keep, {
        "assets_testing.json": ASSETS,
        "directives_enrichment.json": DIRECTIVES,
        "intel_wise.json": intel_config([("Wise", wise)]),
    })
    try:
        engine.start(["--intelPrivateIP"])
        alarm_h = ping_flood(engine, "H", "192.168.0.10", "10.1.2.3", "10.1.2.3",
                             before_rest=lambda: (wait_answered(wise, "10.1.2.3"),
                                                  time.sleep(STORE_GRACE_S)))
        recs = engine.wait_records(alarm_h, 1)
        results.check("private_ip_looked_up",
                      sorted(wise.ips()) == ["10.1.2.3", "192.168.0.10"],
                      "Wise requests: %s" % wise.ips())
        results.check("private_ip_hit_in_record",
                      recs[0][0].get("intel_hits") == [malicious_host("192.168.0.10")],
                      "record = %r" % (recs[0][0],))

        # decisions.md §9: an unparsable destination is never looked up (nor spliced into a
        # URL), even with --intelPrivateIP. It follows a parsable one in the candidate list.
        tricky = "1.1.1.1/../../admin?x="
        engine.post(ping("U-e1", "192.168.0.12", tricky))
        engine.alarm_id("U-e1")
        wait_answered(wise, "192.168.0.12")
        engine.settle()
        paths = [p for p, _ in wise.requests()]
        results.check("unparsable_ip_not_asked",
                      tricky not in wise.ips()
                      and all(p.startswith("/ip/") and "/" not in p[len("/ip/"):] for p in paths),
                      "Wise request paths: %s" % paths)
    finally:
        status = engine.stop()
        results.check("private_ip_sigterm_exit_0", status == 0, "exit status %s" % status)
        engine.cleanup()
        wise.stop()


SCENARIOS = [
    ("main", scenario_main),
    ("failing_intel", scenario_failing_intel),
    ("private_ip", scenario_private_ip),
]


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the dsiem binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    binary = os.path.abspath(args.bin)
    results = Results()
    if not os.access(binary, os.X_OK):
        results.check("binary", False, "not an executable: %s" % binary)
    names = [n for n, _ in SCENARIOS]
    for name in args.scenarios:
        if name not in names:
            results.check("scenario " + name, False, "unknown (known: %s)" % names)
    if results.failed == 0:
        for name, fn in SCENARIOS:
            if args.scenarios and name not in args.scenarios:
                continue
            print("RUN  %s" % name, flush=True)
            t0 = time.monotonic()
            try:
                fn(binary, args.keep, results)
            except ScenarioError as e:
                results.check(name, False, str(e))
            except Exception:  # a bug in the test or an unexpected transport error
                results.check(name, False, "unexpected exception\n" + traceback.format_exc())
            log("%s took %.1f s" % (name, time.monotonic() - t0))
    print("%d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
