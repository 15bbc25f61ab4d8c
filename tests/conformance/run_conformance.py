#!/usr/bin/env python3
"""Run the recorded conformance cases against a dsiem binary.

Usage:
  run_conformance.py --bin PATH [--runs N] [--interval-ms X] [--strict-order] [--keep] [-v]
                     CASES_DIR_OR_CASE...

A case is a folder holding case.json, configs/, events.jsonl and expected/ (format: the
README.md next to this script); a folder of cases runs them all in name order.

Per case and run:
  1. a temp dir T gets a copy of the binary (dsiem's base dir is its executable's dir) and
     the case's configs/ in T/configs; T/logs is left for the binary to create;
  2. `T/dsiem serve -a 127.0.0.1 -p <free port> <case.json "args">` is started;
  3. once the port accepts connections, every events.jsonl line is POSTed to /events in
     order, `post_interval_ms` apart ({"_sleep": S} waits S s, {"_raw": "text"} posts text
     as is).  Unless "rebase_timestamps" is false, every RFC3339 "timestamp" (and every quoted
     RFC3339 string of a _raw body) is moved by a whole number of seconds so that the first
     event happens now: backlog expiry compares event time with the wall clock;
  4. the runner waits until T/logs/siem_alarms.json and siem_alarm_events.json stop changing
     (at least 1 s, 1 s without change, at most 10 s), sends SIGINT and requires exit
     status 0 within 5 s;
  5. the outputs are compared with expected/: volatile fields dropped (alarm_id becomes a
     stable label, created_time, update_time, rules[].rcvd_time), networks sorted,
     rules[].start_time/end_time moved back by the rebase offset, per backlog the multiset
     of alarm snapshots and of (stage, event_id) lines (file order with --strict-order),
     and the status + body of every POST in order.  Also checked: created_time <=
     update_time, and logs/ (0700) with both files (0600) created by the binary.

The last line printed is 'N passed, N failed' (each case counts once per run); the exit
status is non-zero if anything failed.
"""

import argparse
import calendar
import difflib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from loopback_ports import free_port  # noqa: E402

ALARMS_FILE = "siem_alarms.json"
LINKS_FILE = "siem_alarm_events.json"

CASE_DEFAULTS = {"args": [], "rebase_timestamps": True, "post_interval_ms": 50}
STARTUP_TIMEOUT_S = 30.0    # generous: sanitizer builds start slowly
REQUEST_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 5.0
SETTLE_MIN_S, SETTLE_QUIET_S, SETTLE_MAX_S = 1.0, 1.0, 10.0

VOLATILE_ALARM_KEYS = ("alarm_id", "created_time", "update_time")

# RFC3339 as dsiem accepts it: date, 'T', time, optional fraction, 'Z' or an offset.
RFC3339 = r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
RFC3339_FULL = re.compile("^" + RFC3339 + "$")
RFC3339_QUOTED = re.compile(r'"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))"')


# ------------------------------------------------------------------ timestamps
def parse_rfc3339(text):
    """-> (unix seconds, fraction text, zone text, zone offset seconds), or None."""
    if not isinstance(text, str):
        return None
    m = RFC3339_FULL.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    zone = m.group(8)
    offset = 0
    if zone not in ("Z", "z"):
        offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    local = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return local - offset, m.group(7) or "", zone, offset


def shift_rfc3339(text, seconds):
    """The same timestamp moved by `seconds`, keeping its fraction and zone notation."""
    parsed = parse_rfc3339(text)
    if parsed is None:
        return text
    epoch, fraction, zone, offset = parsed
    local = time.gmtime(epoch + seconds + offset)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + fraction + zone


def shift_quoted_timestamps(raw, seconds):
    return RFC3339_QUOTED.sub(lambda m: '"%s"' % shift_rfc3339(m.group(1), seconds), raw)


# ------------------------------------------------------------------ case files
class Step:
    """One events.jsonl line: a pause, or a body to POST (raw text or an event object)."""

    def __init__(self, line, sleep=None, raw=None, event=None):
        self.line, self.sleep, self.raw, self.event = line, sleep, raw, event

    def first_epoch(self):
        if self.event is not None and isinstance(self.event, dict):
            parsed = parse_rfc3339(self.event.get("timestamp"))
            return parsed[0] if parsed else None
        if self.raw is not None:
            m = RFC3339_QUOTED.search(self.raw)
            return parse_rfc3339(m.group(1))[0] if m else None
        return None

    def payload(self, offset):
        if self.raw is not None:
            return shift_quoted_timestamps(self.raw, offset) if offset else self.raw
        event = self.event
        if offset and isinstance(event, dict) and "timestamp" in event:
            event = dict(event, timestamp=shift_rfc3339(event["timestamp"], offset))
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def load_case(case_dir):
    options = dict(CASE_DEFAULTS)
    case_json = os.path.join(case_dir, "case.json")
    if os.path.exists(case_json):
        with open(case_json, encoding="utf-8") as f:
            options.update(json.load(f))
    steps = []
    with open(os.path.join(case_dir, "events.jsonl"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                steps.append(Step(lineno, raw=line))  # not JSON: posted verbatim
                continue
            if isinstance(obj, dict) and "_sleep" in obj:
                steps.append(Step(lineno, sleep=float(obj["_sleep"])))
            elif isinstance(obj, dict) and "_raw" in obj:
                steps.append(Step(lineno, raw=obj["_raw"]))
            else:
                steps.append(Step(lineno, event=obj))
    return options, steps


def read_json_lines(path):
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    records.append({"_unparseable_line": line})
    return records


def find_cases(paths):
    cases = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isfile(os.path.join(path, "events.jsonl")):
            cases.append(path)
        elif os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if os.path.isfile(os.path.join(path, name, "events.jsonl")):
                    cases.append(os.path.join(path, name))
        else:
            print("warning: %s is neither a case nor a folder of cases" % path, file=sys.stderr)
    return cases


# ------------------------------------------------------------------ running the binary
def wait_listening(proc, port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Poster:
    """POSTs on one keep-alive connection, reopened when the server closes it."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.reconnects = 0

    def _send(self, body):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        self.conn.request("POST", "/events", body=body, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        if resp.will_close:
            self.close()
        return resp.status, data

    def post(self, text):
        body = text.encode("utf-8")
        reused = self.conn is not None
        try:
            return self._send(body)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
            self.close()
            if not reused:
                return -1, "EXCEPTION: %s: %s" % (type(e).__name__, e)
            # An idle keep-alive connection closed by the server before our request
            # was read: the usual race, so send once more on a fresh connection.
            self.reconnects += 1
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return -1, "EXCEPTION: %s: %s" % (type(e).__name__, e)
        try:
            return self._send(body)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return -1, "EXCEPTION: %s: %s" % (type(e).__name__, e)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def file_signature(path):
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except FileNotFoundError:
        return None


def wait_outputs_settled(logs_dir):
    """Wait until both output files have been quiet for a while (bounded)."""
    paths = [os.path.join(logs_dir, ALARMS_FILE), os.path.join(logs_dir, LINKS_FILE)]
    start = time.monotonic()
    time.sleep(SETTLE_MIN_S)
    last = [file_signature(p) for p in paths]
    quiet_since = time.monotonic()
    while time.monotonic() - start < SETTLE_MAX_S:
        time.sleep(0.1)
        current = [file_signature(p) for p in paths]
        if current != last:
            last, quiet_since = current, time.monotonic()
        elif time.monotonic() - quiet_since >= SETTLE_QUIET_S:
            return


def run_case(binary, case_dir, interval_ms, extra_args, verbose):
    """Run one case; -> dict with tmp, offset, http, alarms, links, problems."""
    options, steps = load_case(case_dir)
    if interval_ms is not None:
        options["post_interval_ms"] = interval_ms
    tmp = tempfile.mkdtemp(prefix="dsiem-conformance-")
    bin_copy = os.path.join(tmp, os.path.basename(binary))
    shutil.copy2(binary, bin_copy)
    shutil.copytree(os.path.join(case_dir, "configs"), os.path.join(tmp, "configs"))
    logs_dir = os.path.join(tmp, "logs")
    port = free_port()
    cmd = [bin_copy, "serve", "-a", "127.0.0.1", "-p", str(port)] + list(options["args"]) + list(extra_args)
    result = {"tmp": tmp, "offset": 0, "http": [], "alarms": [], "links": [], "problems": []}
    if verbose:
        print("  %s  (cwd %s)" % (" ".join(cmd), tmp))
    with open(os.path.join(tmp, "server.log"), "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    poster = Poster(port)
    try:
        if not wait_listening(proc, port, STARTUP_TIMEOUT_S):
            result["problems"].append("server did not listen on 127.0.0.1:%d (exit status %s)"
                                      % (port, proc.poll()))
            return result
        if options["rebase_timestamps"]:
            first = next((e for e in (s.first_epoch() for s in steps if s.sleep is None) if e is not None), None)
            if first is not None:
                result["offset"] = int(time.time()) - first
        interval = options["post_interval_ms"] / 1000.0
        for step in steps:
            if step.sleep is not None:
                if verbose:
                    print("  sleep %.1f s (line %d)" % (step.sleep, step.line))
                time.sleep(step.sleep)
                continue
            status, body = poster.post(step.payload(result["offset"]))
            result["http"].append({"line": step.line, "status": status, "body": body})
            if interval > 0:
                time.sleep(interval)
        poster.close()
        wait_outputs_settled(logs_dir)
    finally:
        poster.close()
        if poster.reconnects and verbose:
            print("  note: %d keep-alive reconnect(s)" % poster.reconnects)
        result["problems"] += stop_server(proc)
    result["problems"] += check_logs_dir(logs_dir)
    for key, name in (("alarms", ALARMS_FILE), ("links", LINKS_FILE)):
        path = os.path.join(logs_dir, name)
        if os.path.isfile(path):
            result[key] = read_json_lines(path)
    return result


def stop_server(proc):
    if proc.poll() is not None:
        return ["server exited on its own before SIGINT (exit status %d)" % proc.returncode]
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(SHUTDOWN_TIMEOUT_S)
        return ["server did not exit within %.0f s of SIGINT" % SHUTDOWN_TIMEOUT_S]
    return [] if code == 0 else ["exit status %d after SIGINT, expected 0" % code]


def check_logs_dir(logs_dir):
    if not os.path.isdir(logs_dir):
        return ["the binary did not create logs/ next to itself"]
    problems = []
    mode = stat.S_IMODE(os.stat(logs_dir).st_mode)
    if mode != 0o700:
        problems.append("logs/ has mode %o, expected 700" % mode)
    for name in (ALARMS_FILE, LINKS_FILE):
        path = os.path.join(logs_dir, name)
        if not os.path.isfile(path):
            problems.append("logs/%s was not created" % name)
        elif stat.S_IMODE(os.stat(path).st_mode) != 0o600:
            problems.append("logs/%s has mode %o, expected 600" % (name, stat.S_IMODE(os.stat(path).st_mode)))
    return problems


# ------------------------------------------------------------------ normalisation
def canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def normalise_snapshot(alarm, offset):
    """Drop the volatile fields and bring start/end times back to the case's own timeline."""
    alarm = json.loads(json.dumps(alarm))
    if not isinstance(alarm, dict):
        return alarm
    for key in VOLATILE_ALARM_KEYS:
        alarm.pop(key, None)
    if isinstance(alarm.get("networks"), list):
        alarm["networks"] = sorted(alarm["networks"], key=canonical)
    for rule in alarm.get("rules") or []:
        if not isinstance(rule, dict):
            continue
        rule.pop("rcvd_time", None)
        for key in ("start_time", "end_time"):
            value = rule.get(key)
            if offset and isinstance(value, int) and not isinstance(value, bool) and value != 0:
                rule[key] = value - offset
    return alarm


def group_by_backlog(alarms, links, offset, strict_order):
    """-> {label: {"snapshots": [...], "links": [[stage, event_id], ...]}}.

    alarm_id is random, so each backlog gets a label from its content: the smallest
    stage-1 event_id (the event that created it); when several backlogs share that
    (several directives matched one event) the alarm title is added, then "#n"."""
    order, link_lists, snapshot_lists = [], {}, {}
    for link in links:
        alarm_id = link.get("alarm_id") if isinstance(link, dict) else None
        if alarm_id not in link_lists:
            link_lists[alarm_id], snapshot_lists[alarm_id] = [], []
            order.append(alarm_id)
        link_lists[alarm_id].append([link.get("stage"), link.get("event_id")] if isinstance(link, dict) else link)
    for alarm in alarms:
        alarm_id = alarm.get("alarm_id") if isinstance(alarm, dict) else None
        if alarm_id not in snapshot_lists:
            link_lists[alarm_id], snapshot_lists[alarm_id] = [], []
            order.append(alarm_id)
        snapshot_lists[alarm_id].append(normalise_snapshot(alarm, offset))

    backlogs = []
    for alarm_id in order:
        backlog_links, snapshots = link_lists[alarm_id], snapshot_lists[alarm_id]
        if not strict_order:
            # compared as multisets: give them one canonical order
            backlog_links = sorted(backlog_links, key=canonical)
            snapshots = sorted(snapshots, key=canonical)
        stage1 = sorted(str(l[1]) for l in backlog_links if isinstance(l, list) and l[0] == 1)
        creator = stage1[0] if stage1 else (str(backlog_links[0][1]) if backlog_links else "?")
        titles = sorted({str(s.get("title", "-")) for s in snapshots if isinstance(s, dict)})
        title = titles[-1] if titles else "-"
        backlogs.append((creator, title, canonical([backlog_links, snapshots]), backlog_links, snapshots))

    backlogs.sort(key=lambda b: (b[0], b[1], b[2]))
    creators = {}
    for b in backlogs:
        creators[b[0]] = creators.get(b[0], 0) + 1
    grouped, used = {}, {}
    for creator, title, _, backlog_links, snapshots in backlogs:
        label = creator if creators[creator] == 1 else "%s|%s" % (creator, title)
        used[label] = used.get(label, 0) + 1
        if used[label] > 1:
            label = "%s#%d" % (label, used[label])
        grouped[label] = {"snapshots": snapshots, "links": backlog_links}
    return grouped


# ------------------------------------------------------------------ comparison
def pretty_lines(value):
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def unified(expected, actual, name, limit=200):
    diff = list(difflib.unified_diff(pretty_lines(expected), pretty_lines(actual),
                                     "expected/" + name, "actual/" + name, lineterm="", n=3))
    if len(diff) > limit:
        diff = diff[:limit] + ["... (%d more diff lines)" % (len(diff) - limit)]
    return "\n".join("    " + line for line in diff)


def compare_http(expected, actual):
    want = [(h.get("status"), h.get("body")) for h in expected]
    got = [(h["status"], h["body"]) for h in actual]
    if want == got:
        return []
    lines = []
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w != g:
            where = actual[i]["line"] if i < len(actual) else "?"
            lines.append("    POST #%d (events.jsonl line %s): expected %s, got %s"
                         % (i + 1, where, json.dumps(w), json.dumps(g)))
    more = "\n    ... %d more" % (len(lines) - 30) if len(lines) > 30 else ""
    return ["HTTP responses differ:\n" + "\n".join(lines[:30]) + more]


def compare_times(alarms):
    problems = []
    for alarm in alarms:
        if not isinstance(alarm, dict):
            continue
        created, updated = alarm.get("created_time"), alarm.get("update_time")
        if not (isinstance(created, int) and isinstance(updated, int)):
            problems.append("alarm %s: created_time/update_time missing or not integers (%r, %r)"
                            % (alarm.get("alarm_id"), created, updated))
        elif created > updated:
            problems.append("alarm %s: created_time %d > update_time %d"
                            % (alarm.get("alarm_id"), created, updated))
    return problems[:10]


def compare_case(case_dir, result, strict_order):
    expected_dir = os.path.join(case_dir, "expected")
    problems = compare_http(read_json_lines(os.path.join(expected_dir, "http.jsonl")), result["http"])
    problems += compare_times(result["alarms"])
    want = group_by_backlog(read_json_lines(os.path.join(expected_dir, ALARMS_FILE)),
                            read_json_lines(os.path.join(expected_dir, LINKS_FILE)), 0, strict_order)
    got = group_by_backlog(result["alarms"], result["links"], result["offset"], strict_order)
    how = "in file order" if strict_order else "as multisets"
    for label in sorted(set(want) & set(got)):
        w, g = want[label], got[label]
        if w["links"] != g["links"]:
            problems.append("%s lines of backlog %s differ (%s):\n%s" % (
                LINKS_FILE, label, how, unified(w["links"], g["links"], "%s[%s]" % (LINKS_FILE, label))))
        if w["snapshots"] != g["snapshots"]:
            problems.append("%s snapshots of backlog %s differ (%d expected, %d actual, %s):\n%s" % (
                ALARMS_FILE, label, len(w["snapshots"]), len(g["snapshots"]), how,
                unified(w["snapshots"], g["snapshots"], "%s[%s]" % (ALARMS_FILE, label))))
    for label in sorted(set(want) - set(got)):
        problems.append("missing backlog %s: %d snapshot(s), links %s" % (
            label, len(want[label]["snapshots"]), json.dumps(want[label]["links"])))
    for label in sorted(set(got) - set(want)):
        problems.append("unexpected backlog %s: %d snapshot(s), links %s\n%s" % (
            label, len(got[label]["snapshots"]), json.dumps(got[label]["links"]),
            "\n".join("    " + l for l in pretty_lines(got[label]["snapshots"])[:60])))
    return problems


def server_log_tail(tmp, lines=15):
    try:
        with open(os.path.join(tmp, "server.log"), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4000))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join("    " + l for l in text.splitlines()[-lines:]) or "    (no output)"


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the dsiem binary under test")
    ap.add_argument("--runs", type=int, default=1, help="run every case N times")
    ap.add_argument("--interval-ms", type=float, default=None, help="override post_interval_ms of every case")
    ap.add_argument("--strict-order", action="store_true", help="compare output lines in file order")
    ap.add_argument("--extra-arg", action="append", default=[],
                    help="extra 'serve' argument (repeatable; use --extra-arg=--flag for dashes)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("cases", nargs="+", metavar="CASES_DIR_OR_CASE")
    args = ap.parse_args()

    binary = os.path.abspath(args.bin)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("not an executable: %s" % binary)
        print("0 passed, 1 failed")
        return 1
    cases = find_cases(args.cases)
    if not cases:
        print("no cases found in %s" % " ".join(args.cases))
        print("0 passed, 1 failed")
        return 1

    passed = failed = 0
    for run in range(1, args.runs + 1):
        for case_dir in cases:
            name = os.path.basename(case_dir)
            started = time.monotonic()
            result = run_case(binary, case_dir, args.interval_ms, args.extra_arg, args.verbose)
            problems = result["problems"]
            if not any("did not listen" in p for p in problems):
                problems += compare_case(case_dir, result, args.strict_order)
            elapsed = time.monotonic() - started
            print("[%s] %s (run %d) %.1fs" % ("FAIL" if problems else "PASS", name, run, elapsed))
            if problems:
                failed += 1
                for problem in problems:
                    print("  - " + problem)
                print("  server output (tail):\n" + server_log_tail(result["tmp"]))
            else:
                passed += 1
            if args.keep or problems:
                print("  temp dir: %s" % result["tmp"])
            else:
                shutil.rmtree(result["tmp"], ignore_errors=True)
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
