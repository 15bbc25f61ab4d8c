#!/usr/bin/env python3
"""End-to-end check of `dsiem dtester` against a running `dsiem serve`.

Usage:
  test_dtester.py --bin PATH [--dtester-bin PATH] [--keep] [-v] [TEST_NAME...]

--bin is the dsiem binary used for `serve`; --dtester-bin (default: --bin) is the binary whose
`dtester` subcommand is tested.

A temp dir T gets a copy of the serve binary (dsiem's base dir is its executable's dir) next to
T/configs/ holding the directives and assets below, and `T/dsiem serve -a 127.0.0.1 -p <free
port>` is started there.

Tests:
  drives_every_directive  `dtester dsiem -f T/configs/directives_*.json -p <port> -i <homenet>`
                          exits 0 with every event accepted, and for every directive the last
                          record of one of its alarms in T/logs/siem_alarms.json has every rule
                          "finished" (all stages completed, in order)
  refused_events          against a port where nothing listens: exit 1, every event failed,
                          "Exiting: Cannot send events: ..." on stdout
  bad_rate                --rps 0 is refused at start (exit 1) without sending anything
  fbeat_file              `dtester fbeat -l T/fbeat.json` appends one valid JSON event per line
                          (mode 0600), titled with the rule names

Only 127.0.0.1 is used and every wait is bounded. The server is stopped with SIGTERM. The last
line printed is 'N passed, N failed'; the exit status is non-zero if anything failed.
"""

import argparse
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
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from loopback_ports import free_port  # noqa: E402

STARTUP_TIMEOUT_S = 30.0  # generous: sanitizer builds start slowly
DTESTER_TIMEOUT_S = 60.0
ALARM_WAIT_S = 20.0
STOP_TIMEOUT_S = 20.0

HOME_NET = "192.168.0.10"
ASSETS = {
    "assets": [
        {"name": "192-168-Net", "cidr": "192.168.0.0/16", "value": 5},
        {"name": "10-Net", "cidr": "10.0.0.0/8", "value": 3},
    ]
}


def plugin_rule(stage, sid, occurrence, frm, to, reliability, port_from="ANY", port_to="ANY",
                plugin_id=1001, **extra):
    rule = {"name": "stage %d" % stage, "type": "PluginRule", "stage": stage,
            "plugin_id": plugin_id, "plugin_sid": sid, "occurrence": occurrence, "from": frm,
            "to": to, "port_from": port_from, "port_to": port_to, "protocol": "ANY",
            "reliability": reliability, "timeout": 0 if stage == 1 else 600}
    rule.update(extra)
    return rule


def taxonomy_rule(stage, product, category, occurrence, frm, to, reliability, **extra):
    rule = {"name": "stage %d" % stage, "type": "TaxonomyRule", "stage": stage,
            "product": product, "category": category, "occurrence": occurrence, "from": frm,
            "to": to, "port_from": "ANY", "port_to": "ANY", "reliability": reliability,
            "timeout": 0 if stage == 1 else 600}
    rule.update(extra)
    return rule


def directive(did, name, rules):
    return {"id": did, "name": name, "priority": 3, "kingdom": "Reconnaissance & Probing",
            "category": "Misc Activity", "rules": rules}


# Every directive touches an asset address, so that its completed stages give risk >= 1 and an
# alarm record is written.
DIRECTIVES = {
    "directives": [
        directive(1, "E2E ping flood from SRC_IP", [
            plugin_rule(1, [1, 2], 1, "HOME_NET", "ANY", 1),
            plugin_rule(2, [1, 2], 3, ":1", "ANY", 5),
            plugin_rule(3, [1, 2], 20, ":1", "ANY", 10),
        ]),
        directive(2, "E2E inbound to DST_IP", [
            plugin_rule(1, [10], 1, "!HOME_NET", "HOME_NET", 1, port_to="80, 443"),
            plugin_rule(2, [11], 2, ":1", ":1", 5, port_to=":1"),
            plugin_rule(3, [12], 1, ":1", ":2", 8, port_from=":1", port_to=":2"),
        ]),
        directive(3, "E2E web attack on DST_IP", [
            taxonomy_rule(1, ["IDS", "WAF"], "Web Attack", 1, "ANY", "HOME_NET", 1,
                          subcategory=["SQL Injection", "XSS"]),
            taxonomy_rule(2, ["IDS", "WAF"], "Web Attack", 2, ":1", ":1", 5,
                          subcategory=["ANY"]),
            taxonomy_rule(3, ["Firewall"], "Allowed Traffic", 1, ":1", ":1", 9),
        ]),
        directive(4, "E2E subnet sweep from SRC_IP", [
            plugin_rule(1, [20], 1, "10.0.0.0/24", "ANY", 1, plugin_id=1002),
            plugin_rule(2, [21], 4, ":1", "!HOME_NET", 10, port_to="80, 443", plugin_id=1002,
                        sticky_different="DST_IP"),
        ]),
        directive(5, "E2E privileged user activity", [
            plugin_rule(1, [30], 1, "ANY", "HOME_NET", 1, plugin_id=1003,
                        custom_data1="admin, root", custom_label1="user"),
            plugin_rule(2, [31], 2, ":1", ":1", 8, plugin_id=1003, custom_data1=":1",
                        custom_data2="!Success", custom_label2="result"),
        ]),
        directive(6, "E2E port scan on DST_IP", [
            plugin_rule(1, [40], 1, "ANY", "HOME_NET", 1, plugin_id=1004),
            plugin_rule(2, [41], 5, ":1", ":1", 10, plugin_id=1004,
                        sticky_different="DST_PORT"),
        ]),
    ]
}

VERBOSE = False


def log(msg):
    if VERBOSE:
        print("    " + msg, flush=True)


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def title_pattern(name):
    """The alarm title of a directive: SRC_IP / DST_IP replaced by an address or asset name."""
    return re.compile("^" + re.escape(name).replace("SRC_IP", ".+").replace("DST_IP", ".+") + "$")


def read_json_lines(path):
    records = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written
    except FileNotFoundError:
        pass
    return records


class Setup:
    """A temp dir with the binaries and configs, and optionally a running server."""

    def __init__(self, serve_bin, dtester_bin, keep):
        self.tmp = tempfile.mkdtemp(prefix="dsiem-dtester-")
        self.keep = keep
        self.serve_bin = os.path.join(self.tmp, "dsiem")
        shutil.copy2(serve_bin, self.serve_bin)
        self.dtester_bin = os.path.abspath(dtester_bin)
        self.configs = os.path.join(self.tmp, "configs")
        os.mkdir(self.configs)
        with open(os.path.join(self.configs, "directives_e2e.json"), "w") as f:
            json.dump(DIRECTIVES, f, indent=2)
        with open(os.path.join(self.configs, "assets_e2e.json"), "w") as f:
            json.dump(ASSETS, f, indent=2)
        self.alarms_path = os.path.join(self.tmp, "logs", "siem_alarms.json")
        self.port = None
        self.proc = None
        self.server_out = None

    def start_server(self):
        self.port = free_port()
        cmd = [self.serve_bin, "serve", "-a", "127.0.0.1", "-p", str(self.port)]
        log("start: %s" % " ".join(cmd))
        self.server_out = open(os.path.join(self.tmp, "server.log"), "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=self.server_out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("dsiem serve exited with status %s before listening"
                                  % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TestFailure("dsiem serve did not listen on 127.0.0.1:%d within %.0f s"
                          % (self.port, STARTUP_TIMEOUT_S))

    def stop_server(self):
        """SIGTERM; -> exit status (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # this Popen's own pid only
            self.proc.wait(STOP_TIMEOUT_S)
            return None

    def dtester(self, args, cwd=None):
        cmd = [self.dtester_bin, "dtester"] + list(args)
        log("run: %s" % " ".join(cmd))
        try:
            res = subprocess.run(cmd, cwd=cwd or self.tmp, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                 timeout=DTESTER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TestFailure("dtester did not finish within %.0f s" % DTESTER_TIMEOUT_S)
        out = res.stdout.decode("utf-8", "replace")
        err = res.stderr.decode("utf-8", "replace")
        log("exit %d\n%s%s" % (res.returncode, out, err))
        return res.returncode, out, err

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # this Popen's own pid only
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.server_out is not None:
            self.server_out.close()
        if self.keep:
            print("    kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def completed_directives(alarms_path):
    """-> ids of the directives with an alarm whose last record has every rule finished."""
    last = {}
    for record in read_json_lines(alarms_path):
        last[record.get("alarm_id")] = record
    done = set()
    for d in DIRECTIVES["directives"]:
        pattern = title_pattern(d["name"])
        for record in last.values():
            rules = record.get("rules", [])
            if (pattern.match(record.get("title", "")) and len(rules) == len(d["rules"])
                    and all(r.get("status") == "finished" for r in rules)):
                done.add(d["id"])
    return done


# ------------------------------------------------------------------ tests
def test_drives_every_directive(setup):
    setup.start_server()
    rc, out, err = setup.dtester([
        "dsiem", "-f", os.path.join(setup.configs, "directives_*.json"), "-a", "127.0.0.1",
        "-p", str(setup.port), "-i", HOME_NET, "-r", "300", "-c", "8"])
    total = sum(max(r["occurrence"], 1) for d in DIRECTIVES["directives"] for r in d["rules"])
    check(rc == 0, "dtester exit status %d; stdout:\n%s\nstderr:\n%s" % (rc, out, err))
    check("Events sent: %d\nAccepted: %d\nFailed: 0\n" % (total, total) in out,
          "unexpected summary:\n%s" % out)
    check("Directives driven: %d\n" % len(DIRECTIVES["directives"]) in out,
          "unexpected directive count:\n%s" % out)
    check(not re.search(r"Directive \d+ stage", err),
          "dtester reported stages it cannot complete:\n%s" % err)

    wanted = {d["id"] for d in DIRECTIVES["directives"]}
    deadline = time.monotonic() + ALARM_WAIT_S
    done = set()
    while time.monotonic() < deadline:
        done = completed_directives(setup.alarms_path)
        if done == wanted:
            break
        time.sleep(0.2)
    status = setup.stop_server()
    check(done == wanted, "directives without a completed alarm: %s" % sorted(wanted - done))
    check(status == 0, "dsiem serve exit status %s after SIGTERM, expected 0" % status)


def test_refused_events(setup):
    port = free_port()  # nothing listens there
    rc, out, _ = setup.dtester([
        "dsiem", "-f", os.path.join(setup.configs, "directives_*.json"), "-p", str(port),
        "-n", "2"])
    check(rc == 1, "exit status %d, expected 1; stdout:\n%s" % (rc, out))
    check("Accepted: 0\n" in out, "some events were accepted:\n%s" % out)
    check(re.search(r"^Exiting: Cannot send events: (\d+) of \1 events were not accepted$", out,
                    re.M), "no 'Exiting: Cannot send events' line:\n%s" % out)


def test_bad_rate(setup):
    rc, out, _ = setup.dtester(["dsiem", "-f", os.path.join(setup.configs, "directives_*.json"),
                                "-p", "1", "--rps", "0"])
    check(rc == 1, "exit status %d, expected 1" % rc)
    check(out == "Exiting: Invalid --rps value: must be greater than 0, got 0\n",
          "unexpected output: %r" % out)


def test_fbeat_file(setup):
    logfile = os.path.join(setup.tmp, "fbeat.json")
    # The glob is relative to the working directory.
    rc, out, err = setup.dtester(["fbeat", "-f", "configs/directives_*.json", "-l", logfile,
                                  "-n", "3"])
    check(rc == 0, "exit status %d; stdout:\n%s\nstderr:\n%s" % (rc, out, err))
    check(out == "", "fbeat printed something without --verbose: %r" % out)
    check(stat.S_IMODE(os.stat(logfile).st_mode) == 0o600, "log file mode is not 0600")
    records = read_json_lines(logfile)
    names = {r["name"] for d in DIRECTIVES["directives"] for r in d["rules"]}
    expected = sum(min(max(r["occurrence"], 1), 3) for d in DIRECTIVES["directives"]
                   for r in d["rules"])
    check(len(records) == expected, "%d lines, expected %d" % (len(records), expected))
    check(len({r["event_id"] for r in records}) == len(records), "duplicate event_id")
    for r in records:
        check(r.get("sensor") == "dtester" and r.get("title") in names,
              "unexpected event %r" % r)


TESTS = [
    ("drives_every_directive", test_drives_every_directive),
    ("refused_events", test_refused_events),
    ("bad_rate", test_bad_rate),
    ("fbeat_file", test_fbeat_file),
]


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="dsiem binary used for 'serve'")
    ap.add_argument("--dtester-bin", help="binary providing 'dtester' (default: --bin)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("tests", nargs="*", help="test names (default: all)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    dtester_bin = args.dtester_bin or args.bin
    selected = [t for t in TESTS if not args.tests or t[0] in args.tests]
    unknown = set(args.tests) - {name for name, _ in TESTS}
    if unknown:
        print("unknown test(s): %s" % ", ".join(sorted(unknown)))
        return 2
    passed = failed = 0
    for name, fn in selected:
        setup = Setup(args.bin, dtester_bin, args.keep)
        started = time.monotonic()
        try:
            fn(setup)
            passed += 1
            print("PASS %s (%.1f s)" % (name, time.monotonic() - started), flush=True)
        except TestFailure as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception:  # a bug in the test itself
            failed += 1
            print("FAIL %s:\n%s" % (name, traceback.format_exc()), flush=True)
        finally:
            setup.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
