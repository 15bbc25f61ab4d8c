#!/usr/bin/env python3
"""Cluster-mode integration tests: nats-server + cluster-frontend(s) + cluster-backend(s).

Usage:
  test_cluster.py --bin PATH [--nats-server PATH] [--keep] [-v] [TEST_NAME...]

Every process runs on 127.0.0.1 with free ports, each dsiem in its own temp dir holding a copy
of the binary (its base dir is its executable's dir). Every wait is bounded; every process is
killed in a finally block. References: cluster.md §1-§3, §6; events.md §5-§8; decisions.md §2-§3.

Tests:
  pull_by_node         two backends (dsiem-backend-0, dsiem-backend-1) pull only assets_* and
                       their own directives_<node>_* file (not directives_dsiem-backend_c.json,
                       prefix rule); each one correlates only its own directive's events
  wire_format          a raw NATS client (socket, text protocol) subscribed to dsiem_events:
                       each accepted POST gives one message, byte-identical to the Go encoding
                       computed here (key order, omissions, Go escaping); conn_id counts every
                       request from 1 (invalid ones included); rcvd_time = receive time in ns
  frontend_unreachable backend with --frontend on a closed port: exit 1 within 15 s,
                       stderr `Cannot start backend worker process: <url>: ...`
  config_file_404      a fake frontend lists assets_x.json then answers 404 for it: exit 1,
                       stderr names the file URL, 3 tries, nothing saved
  frontend_before_nats frontend without NATS: POST /events 503 (empty), /health/ready 503,
                       /health/live 200; NATS started on that port: POST 200 within 10 s
  backend_before_nats  backend without NATS: configs pulled, HTTP open, /health/ready 503;
                       NATS started: ready within 20 s and correlating
  nats_restart         NATS SIGKILLed and restarted on the same port between two batches:
                       both batches correlated by the backend (outage answers only recorded)
  overload_signal      a raw client on dsiem_overload_signals sees the backend's start-up
                       `false`; an event published directly on dsiem_events with a rcvd_time
                       1 h old that matches a backlog's current stage gives `true`, the frontend
                       logs the change, and `false` follows after --holdDuration
  junk_messages        undecodable payloads on dsiem_events and non-boolean ones on
                       dsiem_overload_signals are skipped; both processes keep working

The last line printed is 'N passed, N failed'; the exit status is non-zero if anything failed.
"""

import argparse
import http.server
import json
import os
import queue
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_cluster_conformance as cc  # noqa: E402
from run_cluster_conformance import rc, wait_for, http_request, NatsServer, Node  # noqa: E402

READY_TIMEOUT_S = 30.0
MSG_TIMEOUT_S = 10.0
LINK_TIMEOUT_S = 15.0
VERBOSE = False


def log(msg):
    if VERBOSE:
        print("    " + msg, flush=True)


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


# ------------------------------------------------------------------ configs and events
ASSETS = {"assets": [{"name": "10-Net", "cidr": "10.0.0.0/8", "value": 1}]}


def rule(stage, plugin, sid, occurrence, src, timeout):
    return {"name": "stage %d" % stage, "type": "PluginRule", "stage": stage, "plugin_id": plugin,
            "plugin_sid": [sid], "occurrence": occurrence, "from": src, "to": "ANY",
            "port_from": "ANY", "port_to": "ANY", "protocol": "ANY", "reliability": 1,
            "timeout": timeout}


def directive_file(did, plugin, name):
    """One directive: every plugin/1 event opens a backlog (stage 1); stage 2 waits for three
    plugin/2 events from the same source. Risk stays 0, so only links are written."""
    return {"directives": [{
        "id": did, "name": name, "priority": 1, "kingdom": "Reconnaissance & Probing",
        "category": "Misc Activity",
        "rules": [rule(1, plugin, 1, 1, "ANY", 0), rule(2, plugin, 2, 3, ":1", 600)],
    }]}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def event(eid, plugin, sid=1, src="10.0.0.1", **extra):
    e = {"event_id": eid, "timestamp": now_rfc3339(), "title": "cluster test", "sensor": "sensor-1",
         "plugin_id": plugin, "plugin_sid": sid, "src_ip": src, "src_port": 1234,
         "dst_ip": "10.255.0.1", "dst_port": 80, "protocol": "TCP"}
    e.update(extra)
    return e


def dumps(obj, ascii_only=False):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only)


def post(node, body, timeout=10.0):
    """POST /events -> (status, body text)."""
    if isinstance(body, (dict, list)):
        body = dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    status, data, _ = http_request(node.port, "POST", "/events", body=body, timeout=timeout)
    return status, data.decode("utf-8", "replace")


def links(node):
    path = os.path.join(node.logs, rc.LINKS_FILE)
    return rc.read_json_lines(path) if os.path.isfile(path) else []


def linked_ids(node):
    return {l.get("event_id") for l in links(node) if isinstance(l, dict)}


def wait_linked(node, ids, timeout=LINK_TIMEOUT_S):
    return wait_for(lambda: set(ids) <= linked_ids(node), timeout, 0.1)


# ------------------------------------------------------------------ Go JSON encoding (events.md §7)
def go_string(s):
    """encoding/json (Go 1.19, HTML escaping on) of a string: `"` `\\` \\n \\r \\t short
    escapes, other controls and < > & as \\u00xx, U+2028/U+2029 escaped, the rest raw UTF-8."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or ch in "<>&" or c in (0x2028, 0x2029):
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


STRING_FIELDS = {"event_id", "timestamp", "title", "sensor", "product", "category", "subcategory",
                 "src_ip", "dst_ip", "protocol", "custom_data1", "custom_label1", "custom_data2",
                 "custom_label2", "custom_data3", "custom_label3", "trace_parent", "trace_state"}
# (key, omitted when empty/zero) in the serialised order of events.md §7.
GO_EVENT_KEYS = [("conn_id", True), ("event_id", False), ("timestamp", False), ("title", True),
                 ("sensor", False), ("plugin_id", True), ("plugin_sid", True), ("product", True),
                 ("category", True), ("subcategory", True), ("src_ip", False), ("src_port", False),
                 ("dst_ip", False), ("dst_port", False), ("protocol", False),
                 ("custom_data1", True), ("custom_label1", True), ("custom_data2", True),
                 ("custom_label2", True), ("custom_data3", True), ("custom_label3", True),
                 ("rcvd_time", True), ("trace_parent", True), ("trace_state", True)]


def go_event(fields, conn_id, rcvd_time):
    """The exact bytes a Go frontend publishes for an event decoded into `fields` (a dict with
    lower-case keys; a missing key is the zero value), with its conn_id and rcvd_time."""
    v = dict(fields, conn_id=conn_id, rcvd_time=rcvd_time)
    parts = []
    for key, omit_empty in GO_EVENT_KEYS:
        value = v.get(key, "" if key in STRING_FIELDS else 0)
        if omit_empty and value in ("", 0):
            continue
        text = go_string(value) if key in STRING_FIELDS else str(int(value))
        parts.append('"%s":%s' % (key, text))
    return ("{" + ",".join(parts) + "}").encode("utf-8")


# ------------------------------------------------------------------ raw NATS client
class RawNats:
    """A minimal NATS client over a plain socket (text protocol): INFO / CONNECT / SUB / PUB /
    PING / PONG / MSG. A reader thread answers server PINGs and queues MSG payloads per sid."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.lock = threading.Lock()
        self.queues = {}
        self.pongs = queue.Queue()
        self.errors = []
        self.closed = False
        line = self._read_line_sync(timeout)
        if not line.startswith(b"INFO "):
            raise TestFailure("NATS server greeting is not INFO: %r" % line[:80])
        self.info = json.loads(line[5:].decode("utf-8"))
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._reader, daemon=True)

    def _read_line_sync(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise TestFailure("NATS connection closed during the greeting")
            self.buf += chunk
            if time.monotonic() > deadline:
                raise TestFailure("no INFO from the NATS server")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def start(self, subs):
        """Sends CONNECT, one SUB per (subject, sid), PING, in one write; waits for the PONG."""
        for _, sid in subs:
            self.queues[sid] = queue.Queue()
        text = 'CONNECT {"verbose":false,"pedantic":false}\r\n'
        text += "".join("SUB %s %d\r\n" % (subj, sid) for subj, sid in subs)
        text += "PING\r\n"
        self.thread.start()
        self._send(text.encode())
        try:
            self.pongs.get(timeout=5.0)
        except queue.Empty:
            raise TestFailure("no PONG from the NATS server (errors: %s)" % self.errors)

    def _send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def publish(self, subject, payload):
        self._send(b"PUB %s %d\r\n%s\r\nPING\r\n" % (subject.encode(), len(payload), payload))
        try:
            self.pongs.get(timeout=5.0)
        except queue.Empty:
            raise TestFailure("no PONG after PUB (errors: %s)" % self.errors)

    def next_msg(self, sid, timeout=MSG_TIMEOUT_S):
        try:
            return self.queues[sid].get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self, sid):
        out = []
        while True:
            try:
                out.append(self.queues[sid].get_nowait())
            except queue.Empty:
                return out

    def _reader(self):
        buf = self.buf
        try:
            while not self.closed:
                while b"\r\n" in buf:
                    line, rest = buf.split(b"\r\n", 1)
                    if line.startswith(b"MSG "):
                        parts = line.split(b" ")  # MSG <subject> <sid> [reply-to] <#bytes>
                        size = int(parts[-1])
                        if len(rest) < size + 2:
                            break  # wait for the rest of the payload
                        payload, buf = rest[:size], rest[size + 2:]
                        self.queues.setdefault(int(parts[2]), queue.Queue()).put(payload)
                        continue
                    buf = rest
                    if line == b"PING":
                        self._send(b"PONG\r\n")
                    elif line == b"PONG":
                        self.pongs.put(True)
                    elif line.startswith(b"-ERR"):
                        self.errors.append(line.decode("utf-8", "replace"))
                    # INFO (cluster updates) and +OK are ignored
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
        except OSError:
            return

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# ------------------------------------------------------------------ per-test context
class Ctx:
    """Owns a temp dir and every process/socket a test starts; cleanup() kills them all."""

    def __init__(self, binary, nats_bin, name):
        self.binary, self.nats_bin = binary, nats_bin
        self.tmp = tempfile.mkdtemp(prefix="dsiem-cluster-%s-" % name)
        self.nodes, self.servers, self.closers = [], [], []
        self.notes = []

    def nats(self, port=None):
        n = NatsServer(self.nats_bin, self.tmp, port)
        self.servers.append(n)
        return n

    def node(self, name):
        n = Node(self.binary, os.path.join(self.tmp, name))
        self.nodes.append(n)
        return n

    def raw(self, port, subs):
        c = RawNats(port)
        self.closers.append(c.close)
        c.start(subs)
        return c

    def started_nats(self, port=None):
        n = self.nats(port)
        check(n.start(), "nats-server did not start on port %d" % n.port)
        return n

    def ready(self, node, what):
        check(node.wait_ready(READY_TIMEOUT_S), "%s not ready within %.0f s (exit status %s)\n%s"
              % (what, READY_TIMEOUT_S, node.proc.poll(), node.tail()))

    def stop_all(self, named):
        """SIGINT each (name, node) in order; each must exit 0 within 5 s."""
        problems = []
        for name, node in named:
            problems += node.stop(name)
        check(not problems, "; ".join(problems))

    def cleanup(self):
        for close in self.closers:
            try:
                close()
            except Exception:  # noqa: BLE001
                pass
        for n in self.nodes:
            try:
                n.kill()
            except Exception:  # noqa: BLE001
                pass
        for s in self.servers:
            try:
                s.kill()
            except Exception:  # noqa: BLE001
                pass


# ------------------------------------------------------------------ a. pull by node name
def test_pull_by_node(ctx):
    nats = ctx.started_nats()
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    files = {
        "directives_dsiem-backend-0_a.json": directive_file(101, 1001, "A: plugin 1001"),
        "directives_dsiem-backend-1_b.json": directive_file(202, 2002, "B: plugin 2002"),
        "directives_dsiem-backend_c.json": directive_file(303, 3003, "C: plugin 3003"),
    }
    for name, content in files.items():
        write_json(os.path.join(fe.configs, name), content)
    fe.start_frontend(nats.url)
    ctx.ready(fe, "frontend")
    backends = {}
    for node_name in ("dsiem-backend-0", "dsiem-backend-1"):
        be = ctx.node(node_name)
        be.start_backend(fe.port, nats.url, node=node_name)
        backends[node_name] = be
    for node_name, be in backends.items():
        ctx.ready(be, node_name)
    check(nats.wait_subscribers("dsiem_events", 2), "the two backends are not both subscribed to dsiem_events")

    own = {"dsiem-backend-0": "directives_dsiem-backend-0_a.json",
           "dsiem-backend-1": "directives_dsiem-backend-1_b.json"}
    for node_name, be in backends.items():
        have = sorted(os.listdir(be.configs))
        want = sorted(["assets_t.json", own[node_name], "dsiem_config.json"])
        check(have == want, "%s configs/ holds %s, expected %s" % (node_name, have, want))
        for name in ("assets_t.json", own[node_name]):
            with open(os.path.join(be.configs, name), "rb") as a, open(os.path.join(fe.configs, name), "rb") as b:
                check(a.read() == b.read(), "%s configs/%s differs from the frontend's" % (node_name, name))
        with open(os.path.join(be.configs, "dsiem_config.json"), encoding="utf-8") as f:
            dump = json.load(f)
        check(dump.get("mode") == "cluster-backend" and dump.get("node") == node_name,
              "%s configs/dsiem_config.json is not its own (mode %r, node %r)"
              % (node_name, dump.get("mode"), dump.get("node")))

    ids = {1001: [], 2002: [], 3003: []}
    for i in range(1, 4):
        for plugin, prefix in ((1001, "a"), (2002, "b"), (3003, "c")):
            eid = "%s-%d" % (prefix, i)
            st, body = post(fe, event(eid, plugin, src="10.1.%d.%d" % (plugin % 256, i)))
            check((st, body) == (200, ""), "POST %s -> %s %r, expected 200 ''" % (eid, st, body))
            ids[plugin].append(eid)
    b0, b1 = backends["dsiem-backend-0"], backends["dsiem-backend-1"]
    check(wait_linked(b0, ids[1001]), "backend-0 did not link %s (has %s)" % (ids[1001], sorted(linked_ids(b0))))
    check(wait_linked(b1, ids[2002]), "backend-1 did not link %s (has %s)" % (ids[2002], sorted(linked_ids(b1))))
    rc.wait_outputs_settled(b0.logs)
    rc.wait_outputs_settled(b1.logs)
    for be, want in ((b0, ids[1001]), (b1, ids[2002])):
        recs = links(be)
        got = sorted((l.get("stage"), l.get("event_id")) for l in recs)
        check(got == sorted((1, e) for e in want),
              "%s links %s, expected stage-1 links of exactly %s" % (os.path.basename(be.root), got, want))
        check(len({l.get("alarm_id") for l in recs}) == len(want), "%s: expected one backlog per event"
              % os.path.basename(be.root))
    ctx.stop_all([("frontend", fe), ("backend-0", b0), ("backend-1", b1)])


# ------------------------------------------------------------------ b. wire format
EXAMPLE_EVENT = {  # events.md §7 example, without conn_id / rcvd_time
    "event_id": "5c1f\u2026", "timestamp": "2024-01-01T00:00:00.000Z", "title": "ICMP Ping",
    "sensor": "ids-1", "plugin_id": 1001, "plugin_sid": 2100384,
    "product": "Intrusion Detection System", "category": "Misc activity",
    "src_ip": "192.168.0.10", "src_port": 0, "dst_ip": "8.8.8.8", "dst_port": 0, "protocol": "ICMP",
}
EXAMPLE_BYTES = ('{"conn_id":42,"event_id":"5c1f\u2026","timestamp":"2024-01-01T00:00:00.000Z",'
                 '"title":"ICMP Ping","sensor":"ids-1","plugin_id":1001,"plugin_sid":2100384,'
                 '"product":"Intrusion Detection System","category":"Misc activity",'
                 '"src_ip":"192.168.0.10","src_port":0,"dst_ip":"8.8.8.8","dst_port":0,'
                 '"protocol":"ICMP","rcvd_time":1704067201123456789}').encode("utf-8")


def wire_cases():
    """-> [(label, body text or bytes, decoded fields or None when the POST must be refused, status)]."""
    cases = [("events.md §7 example", dumps(EXAMPLE_EVENT), EXAMPLE_EVENT, 200)]
    special = {
        "event_id": "sp-1", "timestamp": "2024-01-01T00:00:01+07:00",
        "title": "a&b <script>x</script> >= done", "sensor": "s\u00e9nsor-\u00fc \u65e5\u672c \U0001F680",
        "plugin_id": 1, "plugin_sid": 2, "product": "", "category": "", "subcategory": "",
        "src_ip": "10.0.0.1", "src_port": 0, "dst_ip": "10.0.0.2", "dst_port": 0, "protocol": "",
        "custom_data1": "line\u2028sep\u2029para", "custom_label1": "",
        "custom_data2": "q\" b\\ / t\t n\n r\r bel\u0007 bs\b ff\f nul\u0000 del\u007f",
        "custom_label2": "label<2>",
    }
    cases.append(("special characters, escaped input", dumps(special, ascii_only=True), special, 200))
    raw_utf8 = dict(special, event_id="sp-2")
    cases.append(("special characters, raw UTF-8 input", dumps(raw_utf8), raw_utf8, 200))
    taxonomy = {
        "event_id": "tx-1", "timestamp": "2024-01-01T00:00:02Z", "sensor": "ids-2",
        "product": "P&Q", "category": "C<1>", "subcategory": "S>2",
        "src_ip": "not-an-ip", "src_port": -1, "dst_ip": "10.0.0.3", "dst_port": 70000,
        "custom_data3": "\u2029", "custom_label3": "L3",
        "trace_parent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "trace_state": "k=v&w",
        "conn_id": 999, "rcvd_time": 5,
    }
    decoded = {k: v for k, v in taxonomy.items() if k not in ("conn_id", "rcvd_time")}
    cases.append(("taxonomy only, no protocol, odd ports, trace fields, conn_id/rcvd_time sent",
                  dumps(taxonomy), decoded, 200))
    cases.append(("invalid: no sensor (418, nothing published)",
                  dumps({"event_id": "bad-1", "timestamp": "2024-01-01T00:00:03Z", "plugin_id": 1,
                         "plugin_sid": 1, "src_ip": "1.1.1.1", "dst_ip": "2.2.2.2"}), None, 418))
    mixed = ('{"EVENT_ID":"mc-1","Timestamp":"2024-01-01T00:00:04Z","SENSOR":"s","Plugin_Id":7,'
             '"plugin_SID":9007199254740993,"Src_Ip":"1.2.3.4","DST_IP":"5.6.7.8","Dst_Port":65535,'
             '"unknown":{"x":[1,2]}}')
    cases.append(("mixed-case keys, unknown key, 2^53+1 sid", mixed,
                  {"event_id": "mc-1", "timestamp": "2024-01-01T00:00:04Z", "sensor": "s", "plugin_id": 7,
                   "plugin_sid": 9007199254740993, "src_ip": "1.2.3.4", "dst_ip": "5.6.7.8",
                   "dst_port": 65535}, 200))
    bad_utf8 = (b'{"event_id":"u8-1","timestamp":"2024-01-01T00:00:05Z","sensor":"s","plugin_id":1,'
                b'"plugin_sid":1,"src_ip":"1.1.1.1","dst_ip":"2.2.2.2",'
                b'"title":"bad\xff \xc0\xaf lone \\ud800 pair \\ud83d\\ude80"}')
    cases.append(("invalid UTF-8 bytes and a lone surrogate become U+FFFD (Go decoder)", bad_utf8,
                  {"event_id": "u8-1", "timestamp": "2024-01-01T00:00:05Z", "sensor": "s", "plugin_id": 1,
                   "plugin_sid": 1, "src_ip": "1.1.1.1", "dst_ip": "2.2.2.2",
                   "title": "bad\ufffd \ufffd\ufffd lone \ufffd pair \U0001F680"}, 200))
    return cases


CONN_ID_RE = re.compile(rb'^\{"conn_id":(\d+),')
RCVD_TIME_RE = re.compile(rb',"rcvd_time":(\d+)[,}]')  # a `"` inside a value is always escaped


def test_wire_format(ctx):
    # The Go encoding written here must itself reproduce the spec's example byte for byte.
    check(go_event(EXAMPLE_EVENT, 42, 1704067201123456789) == EXAMPLE_BYTES,
          "self-check: go_event() does not reproduce the events.md §7 example")
    nats = ctx.started_nats()
    raw = ctx.raw(nats.port, [("dsiem_events", 1)])
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    fe.start_frontend(nats.url)
    ctx.ready(fe, "frontend")
    conn_id = 0
    for label, body, fields, want_status in wire_cases():
        conn_id += 1  # every request that passes the limiter counts, invalid ones included
        t0 = time.time_ns()
        st, text = post(fe, body)
        t1 = time.time_ns()
        check((st, text) == (want_status, "Not a valid event\n" if want_status == 418 else ""),
              "%s: POST -> %s %r, expected %d" % (label, st, text, want_status))
        if fields is None:
            continue
        payload = raw.next_msg(1)
        check(payload is not None, "%s: nothing on dsiem_events within %.0f s" % (label, MSG_TIMEOUT_S))
        m1, m2 = CONN_ID_RE.match(payload), RCVD_TIME_RE.search(payload)
        check(m1 is not None and m2 is not None,
              "%s: payload lacks a leading conn_id or a rcvd_time: %r" % (label, payload))
        got_conn, got_rcvd = int(m1.group(1)), int(m2.group(1))
        check(got_conn == conn_id, "%s: conn_id %d, expected %d" % (label, got_conn, conn_id))
        check(t0 <= got_rcvd <= t1, "%s: rcvd_time %d outside the request window [%d, %d] ns"
              % (label, got_rcvd, t0, t1))
        want = go_event(fields, got_conn, got_rcvd)
        check(payload == want, "%s: payload differs from the Go encoding\n      got:  %r\n      want: %r"
              % (label, payload, want))
        log("%s: %d bytes OK" % (label, len(payload)))
    time.sleep(0.5)
    extra = raw.drain(1)
    check(not extra, "unexpected extra messages on dsiem_events: %r" % extra[:3])
    ctx.stop_all([("frontend", fe)])


# ------------------------------------------------------------------ c. faults
def expect_startup_failure(be, url_prefix, timeout=15.0):
    code = be.wait_exit(timeout)
    check(code is not None, "backend still running %.0f s after start (expected exit 1)\n%s" % (timeout, be.tail()))
    err = be.stderr_text()
    check(code == 1, "backend exit status %s, expected 1; stderr: %r" % (code, err[-500:]))
    want = "Cannot start backend worker process: " + url_prefix
    check(want in err, "stderr lacks %r: %r" % (want, err[-500:]))
    return err


def test_frontend_unreachable(ctx):
    closed = rc.free_port()
    be = ctx.node("be")
    started = time.monotonic()
    be.start_backend(closed, "nats://127.0.0.1:%d" % rc.free_port())
    err = expect_startup_failure(be, "http://127.0.0.1:%d/config/: " % closed)
    ctx.notes.append("exit after %.1f s; stderr: %s" % (time.monotonic() - started, err.strip().splitlines()[-1]))


class FakeFrontend(http.server.BaseHTTPRequestHandler):
    """GET /config/ lists assets_x.json; GET /config/assets_x.json is a 404."""

    def do_GET(self):  # noqa: N802 - http.server naming
        self.server.seen.append(self.path)
        if self.path == "/config":
            self.send_response(301)
            self.send_header("Location", "/config/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/config/":
            body = b'{\n  "files": [\n    {\n      "filename": "assets_x.json"\n    }\n  ]\n}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            body = b"404 page not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_config_file_404(ctx):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeFrontend)
    srv.seen = []
    port = srv.server_address[1]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    ctx.closers.append(lambda: (srv.shutdown(), srv.server_close()))
    be = ctx.node("be")
    be.start_backend(port, "nats://127.0.0.1:%d" % rc.free_port())
    url = "http://127.0.0.1:%d/config/assets_x.json" % port
    err = expect_startup_failure(be, url + ": ")
    tries = srv.seen.count("/config/assets_x.json")
    check(tries == 3, "the file was requested %d time(s), expected 3 tries (decisions.md §2); requests: %s"
          % (tries, srv.seen))
    leftovers = sorted(set(os.listdir(be.configs)) - {"dsiem_config.json"})
    check(not leftovers, "a failed download left files in configs/: %s" % leftovers)
    ctx.notes.append("stderr: %s" % err.strip().splitlines()[-1])


def test_frontend_before_nats(ctx):
    nport = rc.free_port()
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    fe.start_frontend("nats://127.0.0.1:%d" % nport)
    check(wait_for(lambda: fe.alive() and cc.port_open(fe.port), READY_TIMEOUT_S),
          "frontend HTTP port not open without NATS (decisions.md §3)\n%s" % fe.tail())
    st, body, _ = fe.get("/health/live")
    check(st == 200, "/health/live -> %s, expected 200" % st)
    st, body, _ = fe.get("/health/ready")
    check(st == 503, "/health/ready without NATS -> %s, expected 503" % st)
    st, text = post(fe, event("early-1", 1001))
    check((st, text) == (503, ""), "POST without NATS -> %s %r, expected 503 ''" % (st, text))
    nats = ctx.nats(nport)
    check(nats.start(), "nats-server did not start on port %d" % nport)
    started = time.monotonic()
    result = {}

    def accepted():
        result["last"] = post(fe, event("late-1", 1001), timeout=5.0)
        return result["last"][0] == 200
    ok = wait_for(accepted, 10.0, 0.2)
    check(ok, "POST still refused 10 s after NATS started (last answer %s)" % (result.get("last"),))
    ctx.notes.append("POST accepted %.1f s after nats-server started" % (time.monotonic() - started))
    check(result["last"][1] == "", "200 with a body: %r" % result["last"][1])
    check(fe.is_ready(), "/health/ready not 200 once POST is accepted")
    ctx.stop_all([("frontend", fe)])


def test_backend_before_nats(ctx):
    nport = rc.free_port()
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    write_json(os.path.join(fe.configs, "directives_dsiem-backend-0_a.json"), directive_file(101, 1001, "A"))
    url = "nats://127.0.0.1:%d" % nport
    fe.start_frontend(url)
    check(wait_for(lambda: fe.alive() and cc.port_open(fe.port), READY_TIMEOUT_S), "frontend port not open")
    be = ctx.node("be")
    be.start_backend(fe.port, url)
    check(wait_for(lambda: be.alive() and cc.port_open(be.port), READY_TIMEOUT_S),
          "backend HTTP port not open without NATS (exit status %s)\n%s" % (be.proc.poll(), be.tail()))
    st = be.get("/health/ready")[0]
    check(st == 503, "backend /health/ready without NATS -> %s, expected 503" % st)
    have = sorted(os.listdir(be.configs))
    check(have == ["assets_t.json", "directives_dsiem-backend-0_a.json", "dsiem_config.json"],
          "backend configs/ without NATS: %s" % have)
    nats = ctx.nats(nport)
    check(nats.start(), "nats-server did not start on port %d" % nport)
    started = time.monotonic()
    check(wait_for(lambda: fe.is_ready() and be.is_ready(), 20.0, 0.1),
          "frontend/backend not ready 20 s after NATS started")
    check(nats.wait_subscribers("dsiem_events", 1), "backend not subscribed to dsiem_events")
    ctx.notes.append("both ready %.1f s after nats-server started" % (time.monotonic() - started))
    st, text = post(fe, event("bn-1", 1001))
    check((st, text) == (200, ""), "POST -> %s %r" % (st, text))
    check(wait_linked(be, ["bn-1"]), "event not linked by a backend started before NATS")
    ctx.stop_all([("frontend", fe), ("backend", be)])


def test_nats_restart(ctx):
    nats = ctx.started_nats()
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    write_json(os.path.join(fe.configs, "directives_dsiem-backend-0_a.json"), directive_file(101, 1001, "A"))
    fe.start_frontend(nats.url)
    ctx.ready(fe, "frontend")
    be = ctx.node("be")
    be.start_backend(fe.port, nats.url)
    ctx.ready(be, "backend")
    check(nats.wait_subscribers("dsiem_events", 1), "backend not subscribed to dsiem_events")

    def batch(prefix, n, expect_200):
        statuses = []
        for i in range(1, n + 1):
            eid = "%s-%d" % (prefix, i)
            st, text = post(fe, event(eid, 1001, src="10.2.%d.%d" % (len(prefix), i)), timeout=15.0)
            statuses.append((eid, st))
            if expect_200:
                check((st, text) == (200, ""), "POST %s -> %s %r, expected 200" % (eid, st, text))
            time.sleep(0.05)
        return statuses

    before = batch("before", 5, True)
    check(wait_linked(be, [e for e, _ in before]), "events posted before the outage not linked: %s"
          % sorted(linked_ids(be)))
    nats.kill()
    check(wait_for(lambda: not cc.port_open(nats.port), 5.0), "nats-server port still open after SIGKILL")
    time.sleep(0.5)
    during = batch("during", 5, False)
    ready_during = (fe.get("/health/ready", 2.0)[0], be.get("/health/ready", 2.0)[0])
    time.sleep(0.5)
    check(nats.start(), "nats-server did not restart on port %d" % nats.port)
    restarted = time.monotonic()
    check(wait_for(lambda: fe.is_ready() and be.is_ready(), 20.0, 0.1),
          "frontend/backend not ready 20 s after NATS came back (ready: fe %s, be %s)"
          % (fe.get("/health/ready", 2.0)[0], be.get("/health/ready", 2.0)[0]))
    remaining = max(1.0, 20.0 - (time.monotonic() - restarted))
    check(nats.wait_subscribers("dsiem_events", 1, remaining),
          "backend reported ready but its dsiem_events subscription is not on the restarted server")
    ready_after = time.monotonic() - restarted
    after = batch("after", 5, True)
    check(wait_linked(be, [e for e, _ in after]), "events posted after the restart not linked: %s"
          % sorted(linked_ids(be)))
    rc.wait_outputs_settled(be.logs)
    got = linked_ids(be)
    during_linked = [e for e, _ in during if e in got]
    ctx.notes.append("outage: POST statuses %s; /health/ready fe=%d be=%d; linked afterwards: %s; "
                     "ready %.1f s after restart" % ([s for _, s in during], ready_during[0], ready_during[1],
                                                     during_linked or "none", ready_after))
    dup = [l.get("event_id") for l in links(be)]
    check(len(dup) == len(set(dup)), "an event was linked twice: %s" % dup)
    ctx.stop_all([("frontend", fe), ("backend", be)])


# ------------------------------------------------------------------ d. overload signal
def test_overload_signal(ctx):
    nats = ctx.started_nats()
    raw = ctx.raw(nats.port, [("dsiem_overload_signals", 2)])
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    write_json(os.path.join(fe.configs, "directives_dsiem-backend-0_a.json"), directive_file(101, 1001, "A"))
    fe.start_frontend(nats.url)
    ctx.ready(fe, "frontend")
    be = ctx.node("be")
    be.start_backend(fe.port, nats.url, ["--maxDelay", "1", "--holdDuration", "2"])
    ctx.ready(be, "backend")
    first = raw.next_msg(2, 20.0)
    check(first == b"false", "first overload signal %r, expected b'false' at backend start" % first)
    check(nats.wait_subscribers("dsiem_events", 1), "backend not subscribed to dsiem_events")

    src = "10.9.9.9"
    st, text = post(fe, event("ov-1", 1001, sid=1, src=src))
    check((st, text) == (200, ""), "POST ov-1 -> %s %r" % (st, text))
    check(wait_linked(be, ["ov-1"]), "ov-1 did not open a backlog")
    time.sleep(0.2)
    extra = raw.drain(2)
    check(not extra, "overload signals before the late event: %r" % extra)

    late = event("ov-late", 1001, sid=2, src=src)
    rcvd = time.time_ns() - 3600 * 10**9
    raw.publish("dsiem_events", go_event(late, 4242, rcvd))
    signal_true = raw.next_msg(2, 10.0)
    check(signal_true == b"true", "overload signal after a 1 h old event: %r, expected b'true'" % signal_true)
    check(wait_linked(be, ["ov-late"]), "the late event was not processed (no stage-2 link)")
    stage = [l.get("stage") for l in links(be) if l.get("event_id") == "ov-late"]
    check(stage == [2], "ov-late linked at stages %s, expected [2]" % stage)
    want_log = "Received overload status change from false to true from backend"
    check(wait_for(lambda: want_log in fe.stdout_text() + fe.stderr_text(), 5.0, 0.1),
          "frontend did not log %r" % want_log)
    started = time.monotonic()
    signal_false = raw.next_msg(2, 10.0)
    check(signal_false == b"false", "no 'false' within 10 s after the overload (hold 2 s): %r" % signal_false)
    ctx.notes.append("false came %.1f s after true (holdDuration 2)" % (time.monotonic() - started))
    ctx.stop_all([("frontend", fe), ("backend", be)])


def test_junk_messages(ctx):
    nats = ctx.started_nats()
    raw = ctx.raw(nats.port, [("dsiem_overload_signals", 2)])
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    write_json(os.path.join(fe.configs, "directives_dsiem-backend-0_a.json"), directive_file(101, 1001, "A"))
    fe.start_frontend(nats.url)
    ctx.ready(fe, "frontend")
    be = ctx.node("be")
    be.start_backend(fe.port, nats.url)
    ctx.ready(be, "backend")
    check(nats.wait_subscribers("dsiem_events", 1), "backend not subscribed to dsiem_events")
    for junk in (b"", b"garbage", b"[1,2]", b'{"plugin_id":"1001"}', b"\xff\xfe", b'{"event_id":1}'):
        raw.publish("dsiem_events", junk)
    for junk in (b"maybe", b"", b"1", b'"true"'):
        raw.publish("dsiem_overload_signals", junk)
    raw.publish("dsiem_events", go_event(event("after-junk", 1001), 1, time.time_ns()))
    check(wait_linked(be, ["after-junk"]), "a valid event published after junk was not linked")
    check(fe.alive() and be.alive(), "a process died on junk NATS messages")
    st, text = post(fe, event("after-junk-2", 1001, src="10.3.0.1"))
    check((st, text) == (200, ""), "frontend POST after junk overload signals -> %s %r" % (st, text))
    check(wait_linked(be, ["after-junk-2"]), "event posted after junk not linked")
    ctx.stop_all([("frontend", fe), ("backend", be)])


def test_batch_through_frontend(ctx):
    """A JSON array and an NDJSON body posted to a frontend reach the backend event by event."""
    nats = ctx.started_nats()
    fe = ctx.node("fe")
    write_json(os.path.join(fe.configs, "assets_t.json"), ASSETS)
    write_json(os.path.join(fe.configs, "directives_dsiem-backend-0_a.json"), directive_file(101, 1001, "A"))
    fe.start_frontend(nats.url)
    ctx.ready(fe, "frontend")
    be = ctx.node("be")
    be.start_backend(fe.port, nats.url)
    ctx.ready(be, "backend")
    check(nats.wait_subscribers("dsiem_events", 1), "backend not subscribed to dsiem_events")

    array_ids = ["arr-%d" % i for i in range(50)]
    body = [event(eid, 1001, src="10.4.%d.%d" % (i // 200, i % 200)) for i, eid in enumerate(array_ids)]
    body.insert(7, {"event_id": "no-sensor", "timestamp": now_rfc3339(), "plugin_id": 1001,
                    "plugin_sid": 1, "src_ip": "10.4.9.9", "dst_ip": "10.255.0.1"})
    st, text = post(fe, body)
    check((st, text) == (200, '{"received":51,"accepted":50,"rejected":[{"index":7,"error":"Not a valid event"}]}'),
          "array POST -> %s %r" % (st, text))
    nd_ids = ["nd-%d" % i for i in range(20)]
    lines = "\n".join(dumps(event(eid, 1001, src="10.5.0.%d" % i)) for i, eid in enumerate(nd_ids))
    status, data, _ = http_request(fe.port, "POST", "/events", body=lines.encode("utf-8"),
                                   headers={"Content-Type": "application/x-ndjson"}, timeout=10.0)
    check((status, data) == (200, b'{"received":20,"accepted":20,"rejected":[]}'),
          "NDJSON POST -> %s %r" % (status, data))
    check(wait_linked(be, array_ids + nd_ids),
          "backend did not link every batch event (missing %s)"
          % sorted(set(array_ids + nd_ids) - linked_ids(be))[:5])
    rc.wait_outputs_settled(be.logs)
    check("no-sensor" not in linked_ids(be), "the rejected event reached the backend")
    check(len(links(be)) == 70, "backend holds %d links, expected 70" % len(links(be)))
    ctx.stop_all([("frontend", fe), ("backend", be)])


TESTS = [
    ("pull_by_node", test_pull_by_node),
    ("wire_format", test_wire_format),
    ("frontend_unreachable", test_frontend_unreachable),
    ("config_file_404", test_config_file_404),
    ("frontend_before_nats", test_frontend_before_nats),
    ("backend_before_nats", test_backend_before_nats),
    ("nats_restart", test_nats_restart),
    ("overload_signal", test_overload_signal),
    ("junk_messages", test_junk_messages),
    ("batch_through_frontend", test_batch_through_frontend),
]


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the dsiem binary")
    ap.add_argument("--nats-server", default=shutil.which("nats-server") or "/usr/sbin/nats-server")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("tests", nargs="*", help="test names (default: all)")
    a = ap.parse_args()
    VERBOSE = a.verbose
    binary = os.path.abspath(a.bin)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("not an executable: %s" % binary)
        print("0 passed, 1 failed")
        return 1
    if not (a.nats_server and os.access(a.nats_server, os.X_OK)):
        print("nats-server not found (use --nats-server)")
        print("0 passed, 1 failed")
        return 1
    selected = [t for t in TESTS if not a.tests or t[0] in a.tests]
    unknown = set(a.tests) - {t[0] for t in TESTS}
    if unknown or not selected:
        print("unknown test(s): %s; known: %s" % (sorted(unknown), [t[0] for t in TESTS]))
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    for name, fn in selected:
        ctx = Ctx(binary, a.nats_server, name)
        started = time.monotonic()
        error = None
        try:
            fn(ctx)
        except TestFailure as e:
            error = str(e)
        except Exception:  # noqa: BLE001
            error = "exception:\n" + traceback.format_exc()
        finally:
            ctx.cleanup()
        elapsed = time.monotonic() - started
        if error is None:
            passed += 1
            print("[PASS] %s (%.1fs)" % (name, elapsed))
        else:
            failed += 1
            print("[FAIL] %s (%.1fs): %s" % (name, elapsed, error))
        for note in ctx.notes:
            print("  note: " + note)
        if a.keep or error is not None:
            print("  temp dir: %s" % ctx.tmp)
        else:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
