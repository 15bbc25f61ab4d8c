#!/usr/bin/env python3
"""Broken-input tests against the real dsiem binary.

Usage:
  run_bad_input.py --bin PATH [--keep] [-v] [--only SUBSTR] [BADINPUT_DIR]

BADINPUT_DIR (default: this script's folder) holds:

  events.jsonl      one request per line, sent to a running `dsiem serve`:
                      {"name": ..., "body": "<text>" | "body_hex": "<hex>",
                       "repeat": {"@PLACEHOLDER@": ["text", count], ...},   (optional)
                       "method": "POST", "path": "/events",                  (optional)
                       "status": N, "resp": "<exact response body>"}          ("resp" optional)
                    "repeat" expands each placeholder in "body" into `text` repeated `count`
                    times ("{i}" inside `text` becomes the repetition index), so that megabyte
                    bodies and deep nesting need no megabyte files.
  events_configs/   the configs/ folder used for the events run.
  configs/<case>/   one start-up case each: every file except expect.json is copied to
                    <tmp>/configs/, then the binary runs and expect.json is checked:
                      "command":   "serve" (default; started with -a 127.0.0.1 -p <port>) or
                                   "validate"
                      "args":      extra command-line arguments
                      "env":       extra environment variables
                      "exit":      expected exit status; for serve, 0 means "starts listening
                                   and exits 0 on SIGINT", non-zero means "exits by itself"
                      "output_contains": strings that must all occur in stdout+stderr
                      "log_contains":    entries that must each occur in one output line; an
                                   entry is a string or a list of strings that must all occur
                                   in the same line (JSON log lines are also matched on their
                                   decoded "msg" and other string values)
                    In strings, {configs} stands for the absolute path of <tmp>/configs.

After the events corpus the process must still be alive, accept a valid event (200) and
answer GET /debug/vars/ with 200, then exit 0 within 5 s of SIGINT.

The last line printed is 'N passed, N failed'; the exit status is non-zero on any failure.
Only 127.0.0.1 is used, and every wait is bounded.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from loopback_ports import free_port  # noqa: E402

STARTUP_TIMEOUT_S = 30.0    # generous: sanitizer builds start slowly
REQUEST_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 5.0
VALIDATE_TIMEOUT_S = 30.0

VALID_EVENT = (b'{"timestamp":"2024-03-01T10:00:00Z","event_id":"bi-final-valid","title":"ICMP Ping",'
               b'"sensor":"sensor-1","plugin_id":1001,"plugin_sid":2100384,"src_ip":"192.168.0.10",'
               b'"src_port":0,"dst_ip":"8.8.8.8","dst_port":0,"protocol":"ICMP"}')


# ------------------------------------------------------------------ results
class Results:
    def __init__(self, verbose):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def record(self, name, problems, detail=None):
        if problems:
            self.failed += 1
            print("[FAIL] %s" % name)
            for p in problems:
                print("  - " + p.replace("\n", "\n    "))
            if detail:
                print("    " + detail.replace("\n", "\n    "))
        else:
            self.passed += 1
            if self.verbose:
                print("[PASS] %s" % name)
        sys.stdout.flush()


# ------------------------------------------------------------------ process helpers
def prepare_dir(binary, config_files):
    """Temp dir with the binary copied in (its base dir is the executable's dir) and configs/."""
    tmp = tempfile.mkdtemp(prefix="dsiem-badinput-")
    bin_copy = os.path.join(tmp, os.path.basename(binary))
    shutil.copy2(binary, bin_copy)
    configs = os.path.join(tmp, "configs")
    os.makedirs(configs)
    for src in config_files:
        shutil.copy2(src, os.path.join(configs, os.path.basename(src)))
    return tmp, bin_copy


def wait_listening_or_exit(proc, port, timeout):
    """True once 127.0.0.1:port accepts a connection; False if the process exits or time runs out."""
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


def interrupt(proc):
    """SIGINT, then the exit status, or None if it did not exit in time (it is then killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(SHUTDOWN_TIMEOUT_S)
        return None


def tail(path, lines=15, max_bytes=4000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def request(port, method, path, body):
    """One request on a fresh connection (a broken body must not poison the next test)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()


# ------------------------------------------------------------------ events corpus
def expand_body(rec):
    """Bytes to send for one events.jsonl record."""
    if "body_hex" in rec:
        return bytes.fromhex(rec["body_hex"])
    body = rec.get("body")
    if body is None:
        return None
    for placeholder, (text, count) in rec.get("repeat", {}).items():
        if "{i}" in text:
            filler = "".join(text.replace("{i}", str(i)) for i in range(count))
        else:
            filler = text * count
        body = body.replace(placeholder, filler)
    return body.encode("utf-8")


def load_manifest(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                rec = json.loads(line)
                rec["_line"] = lineno
                records.append(rec)
    return records


def short(text, limit=120):
    text = repr(text)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def run_events(binary, base_dir, results, keep, only, verbose):
    manifest = os.path.join(base_dir, "events.jsonl")
    cfg_dir = os.path.join(base_dir, "events_configs")
    records = [r for r in load_manifest(manifest) if not only or only in r["name"]]
    if not records and only:
        return
    cfg_files = sorted(os.path.join(cfg_dir, f) for f in os.listdir(cfg_dir))
    tmp, bin_copy = prepare_dir(binary, cfg_files)
    port = free_port()
    out_path = os.path.join(tmp, "server.log")
    cmd = [bin_copy, "serve", "-a", "127.0.0.1", "-p", str(port)]
    if verbose:
        print("events: %s (cwd %s)" % (" ".join(cmd), tmp))
    failed_before = results.failed
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        if not wait_listening_or_exit(proc, port, STARTUP_TIMEOUT_S):
            results.record("events: server start", [
                "did not listen on 127.0.0.1:%d (exit status %s)" % (port, proc.poll())],
                tail(out_path))
            return
        for index, rec in enumerate(records):
            name = "events/%s" % rec["name"]
            body = expand_body(rec)
            status, text = request(port, rec.get("method", "POST"), rec.get("path", "/events"), body)
            problems = []
            if status != rec["status"]:
                problems.append("status %s, expected %d (response %s)" % (status, rec["status"], short(text)))
            elif "resp" in rec and text != rec["resp"]:
                problems.append("body %s, expected %s" % (short(text), short(rec["resp"])))
            if proc.poll() is not None:
                problems.append("server died (exit status %s)" % proc.returncode)
            results.record(name, problems, tail(out_path) if proc.poll() is not None else None)
            if proc.poll() is not None:
                unsent = len(records) - index - 1
                if unsent:
                    results.record("events: rest of the corpus", ["%d request(s) not sent: the server died" % unsent])
                return
        # The corpus must leave the server healthy.
        status, text = request(port, "POST", "/events", VALID_EVENT)
        results.record("events: valid event after the corpus",
                       [] if status == 200 and text == "" else ["got %s %s" % (status, short(text))])
        status, text = request(port, "GET", "/debug/vars/", None)
        results.record("events: GET /debug/vars/ after the corpus",
                       [] if status == 200 else ["got %s %s" % (status, short(text))])
    finally:
        code = interrupt(proc)
        problems = []
        if code is None:
            problems.append("did not exit within %.0f s of SIGINT" % SHUTDOWN_TIMEOUT_S)
        elif code != 0:
            problems.append("exit status %d after SIGINT, expected 0" % code)
        results.record("events: clean shutdown", problems, tail(out_path) if problems else None)
        if keep or results.failed != failed_before:
            print("  temp dir: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ start-up cases
def json_strings(value):
    """Every string inside a decoded JSON value (log lines may carry the text in any field)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v)


def searchable_lines(output):
    """Each output line, plus its decoded form for JSON log lines (quotes and <>& are escaped there)."""
    lines = []
    for raw in output.splitlines():
        forms = [raw]
        stripped = raw.strip()
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
                strings = list(json_strings(obj))
                forms.extend(strings)
                forms.append(" ".join(strings))
            except ValueError:
                pass
        lines.append(forms)
    return lines


def check_output(expect, output, configs_dir):
    subst = lambda s: s.replace("{configs}", configs_dir)
    problems = []
    lines = searchable_lines(output)
    decoded_all = "\n".join(" ".join(forms) for forms in lines)
    for needle in expect.get("output_contains", []):
        needle = subst(needle)
        if needle not in output and needle not in decoded_all:
            problems.append("output lacks %r" % needle)
    for entry in expect.get("log_contains", []):
        needles = [subst(n) for n in ([entry] if isinstance(entry, str) else entry)]
        if not any(any(all(n in form for n in needles) for form in forms) for forms in lines):
            problems.append("no output line contains %s" % " + ".join(repr(n) for n in needles))
    return problems


def run_config_case(binary, case_dir, results, keep, verbose):
    name = "configs/%s" % os.path.basename(case_dir)
    with open(os.path.join(case_dir, "expect.json"), encoding="utf-8") as f:
        expect = json.load(f)
    cfg_files = sorted(os.path.join(case_dir, f) for f in os.listdir(case_dir) if f != "expect.json")
    tmp, bin_copy = prepare_dir(binary, cfg_files)
    configs_dir = os.path.join(os.path.realpath(tmp), "configs")
    command = expect.get("command", "serve")
    port = free_port()
    cmd = [bin_copy, command]
    if command == "serve":
        cmd += ["-a", "127.0.0.1", "-p", str(port)]
    cmd += expect.get("args", [])
    env = dict(os.environ)
    env.update(expect.get("env", {}))
    out_path = os.path.join(tmp, "output.log")
    if verbose:
        print("%s: %s" % (name, " ".join(cmd)))
    problems = []
    want_exit = expect.get("exit", 0)
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
    try:
        if command == "serve":
            listening = wait_listening_or_exit(proc, port, STARTUP_TIMEOUT_S)
            if listening and want_exit != 0:
                problems.append("started listening, expected exit status %d" % want_exit)
            elif not listening and want_exit == 0:
                problems.append("did not start listening (exit status %s)" % proc.poll())
            code = interrupt(proc) if listening or proc.poll() is None else proc.returncode
        else:
            try:
                code = proc.wait(VALIDATE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                code = interrupt(proc)
                problems.append("did not finish within %.0f s" % VALIDATE_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(SHUTDOWN_TIMEOUT_S)
    if code is None:
        problems.append("did not exit within %.0f s of SIGINT" % SHUTDOWN_TIMEOUT_S)
    elif code != want_exit:
        problems.append("exit status %d, expected %d" % (code, want_exit))
    with open(out_path, "rb") as f:
        output = f.read().decode("utf-8", "replace")
    problems += check_output(expect, output, configs_dir)
    results.record(name, problems, tail(out_path) if problems else None)
    if keep or problems:
        print("  temp dir: %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def run_configs(binary, base_dir, results, keep, only, verbose):
    root = os.path.join(base_dir, "configs")
    for case in sorted(os.listdir(root)):
        case_dir = os.path.join(root, case)
        if only and only not in case:
            continue
        if os.path.isfile(os.path.join(case_dir, "expect.json")):
            run_config_case(binary, case_dir, results, keep, verbose)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the dsiem binary under test")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs")
    ap.add_argument("--only", default="", help="run only tests whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("dir", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    results = Results(args.verbose)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("not an executable: %s" % binary)
        results.failed += 1
    else:
        base_dir = os.path.abspath(args.dir)
        run_events(binary, base_dir, results, args.keep, args.only, args.verbose)
        run_configs(binary, base_dir, results, args.keep, args.only, args.verbose)
    print("%d passed, %d failed" % (results.passed, results.failed))
    return 0 if results.failed == 0 and results.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
