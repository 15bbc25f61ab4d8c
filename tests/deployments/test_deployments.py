#!/usr/bin/env python3
"""Static and light functional checks of the deployment files (deployments/, scripts/local-cluster.sh).

Nothing here needs Docker, Kubernetes or a dsiem build:

* every YAML file under deployments/ parses (PyYAML when it is installed, and always with the
  small YAML-subset loader below, whose output must then equal PyYAML's);
* every DSIEM_* variable set in deployments/ is a real `dsiem serve` flag variable (or one of
  the two variables the image's entrypoint reads);
* the cluster compose file: frontend `dsiem`, backends with distinct DSIEM_NODE,
  DSIEM_FRONTEND=http://dsiem:8080, one log volume per backend shared with its own Filebeat;
* the Kubernetes manifests, the Filebeat and Logstash configs, the index templates, the
  Dockerfile (including its HEALTHCHECK command, run against a local HTTP server), the
  entrypoint (run against a stand-in binary) and scripts/local-cluster.sh (syntax, usage,
  status on an empty folder).

Usage: test_deployments.py [--repo DIR]     prints `N passed, N failed` last; exit 1 on failure.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from loopback_ports import free_port  # noqa: E402

try:
    import yaml  # type: ignore
except ImportError:  # the subset loader below is used alone
    yaml = None

# `dsiem serve` flags (overview.md §4) and global flags, as DSIEM_* variables, plus the two
# variables read by the image's entrypoint only.
FLAG_VARS = {
    "DSIEM_" + name
    for name in (
        "ADDRESS PORT MAXDELAY MAXQUEUE MAXEPS MINEPS MINALARMLIFETIME HOLDDURATION APM "
        "WRITEABLECONFIG PPROF WEBSOCKET TRACE INTELPRIVATEIP MODE CACHEDURATION MSQ FRONTEND "
        "NODE TAGS STATUS MEDRISKMIN MEDRISKMAX DEV DEBUG"
    ).split()
}
ENTRYPOINT_VARS = {"DSIEM_WEB_ESURL", "DSIEM_WEB_KBNURL"}
ALLOWED_VARS = FLAG_VARS | ENTRYPOINT_VARS


# ---------------------------------------------------------------------------------------------
# A YAML-subset loader: block mappings and sequences, single-line flow collections, plain and
# quoted scalars, literal block scalars (|, |-, |+), comments and `---` documents. Enough for
# compose files, Kubernetes manifests and Beats/Logstash configs; anchors, tags, folded
# scalars and multi-line flow collections are rejected.


class YamlSubsetError(ValueError):
    pass


def _strip_comment(text: str) -> str:
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                    continue
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "\"'" and (i == 0 or text[i - 1] in " [{,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


_DQ_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "/": "/", "0": "\0", " ": " "}


def _double_quoted(text: str, start: int) -> tuple[str, int]:
    out = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1]
            if nxt == "u":
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _DQ_ESCAPES:
                raise YamlSubsetError(f"unsupported escape \\{nxt}")
            out.append(_DQ_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise YamlSubsetError("unterminated double-quoted string")


def _single_quoted(text: str, start: int) -> tuple[str, int]:
    out = []
    i = start + 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise YamlSubsetError("unterminated single-quoted string")


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def _plain(text: str):
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text[0] in "&*!|>%@`":
        raise YamlSubsetError(f"unsupported construct: {text}")
    return text


def _scalar(text: str):
    text = text.strip()
    if not text:
        return None
    if text[0] in "\"'":
        value, end = (_double_quoted if text[0] == '"' else _single_quoted)(text, 0)
        if text[end:].strip():
            raise YamlSubsetError(f"text after quoted scalar: {text}")
        return value
    if text[0] in "[{":
        value, end = _flow(text, 0)
        if text[end:].strip():
            raise YamlSubsetError(f"text after flow collection: {text}")
        return value
    return _plain(text)


def _flow(text: str, i: int):
    """Parses a flow collection starting at text[i] ('[' or '{'); returns (value, end)."""
    opener = text[i]
    closer = "]" if opener == "[" else "}"
    items: list = []
    mapping: dict = {}
    i += 1
    while True:
        while i < len(text) and text[i] == " ":
            i += 1
        if i >= len(text):
            raise YamlSubsetError("unterminated flow collection (multi-line flows are not supported)")
        if text[i] == closer:
            return (items if opener == "[" else mapping), i + 1
        # one entry
        if text[i] in "[{":
            value, i = _flow(text, i)
        elif text[i] in "\"'":
            value, i = (_double_quoted if text[i] == '"' else _single_quoted)(text, i)
        else:
            j = i
            while j < len(text) and text[j] not in ",]}" and not (
                opener == "{" and text[j] == ":" and (j + 1 == len(text) or text[j + 1] == " ")
            ):
                j += 1
            value, i = _plain(text[i:j].strip()), j
        while i < len(text) and text[i] == " ":
            i += 1
        if opener == "{":
            if i >= len(text) or text[i] != ":":
                raise YamlSubsetError("flow mapping entry without ':'")
            i += 1
            while i < len(text) and text[i] == " ":
                i += 1
            if text[i] in "[{":
                item, i = _flow(text, i)
            elif text[i] in "\"'":
                item, i = (_double_quoted if text[i] == '"' else _single_quoted)(text, i)
            else:
                j = i
                while j < len(text) and text[j] not in ",}":
                    j += 1
                item, i = _plain(text[i:j].strip()), j
            mapping[value] = item
        else:
            items.append(value)
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == ",":
            i += 1


def _split_key(text: str):
    """'key: value' → (key, value text); None when text is not a mapping entry."""
    if text[0] in "\"'":
        key, end = (_double_quoted if text[0] == '"' else _single_quoted)(text, 0)
        rest = text[end:].lstrip()
        if rest.startswith(":") and (len(rest) == 1 or rest[1] == " "):
            return key, rest[1:].strip()
        return None
    if text[0] in "[{":
        return None
    for i, ch in enumerate(text):
        if ch == ":" and (i + 1 == len(text) or text[i + 1] == " "):
            return _plain(text[:i].strip()), text[i + 1 :].strip()
        if ch == " " and i + 1 < len(text) and text[i + 1] == "#":
            return None
    return None


class _Line:
    __slots__ = ("number", "indent", "text", "raw")

    def __init__(self, number: int, raw: str):
        self.number = number
        self.raw = raw
        stripped = raw.lstrip(" ")
        if stripped.startswith("\t"):
            raise YamlSubsetError(f"line {number}: tab indentation")
        self.indent = len(raw) - len(stripped)
        self.text = _strip_comment(stripped)


class _Parser:
    def __init__(self, lines: list[str], first_number: int):
        self.lines = [_Line(first_number + n, raw) for n, raw in enumerate(lines)]
        self.pos = 0

    def _next(self):
        while self.pos < len(self.lines) and not self.lines[self.pos].text:
            self.pos += 1
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def document(self):
        line = self._next()
        if line is None:
            return None
        value = self._block(line.indent)
        if self._next() is not None:
            raise YamlSubsetError(f"line {self._next().number}: unexpected indentation")
        return value

    def _block(self, indent: int):
        line = self._next()
        if line.text == "-" or line.text.startswith("- "):
            return self._sequence(line.indent)
        if _split_key(line.text) is not None:
            return self._mapping(line.indent)
        self.pos += 1
        return _scalar(line.text)

    def _value(self, rest: str, indent: int, in_sequence_item: bool):
        """The value of a key (or a bare '-') whose inline text is `rest`."""
        if rest in ("|", "|-", "|+"):
            return self._literal(indent, rest)
        if rest.startswith((">", "&", "*", "!")):
            raise YamlSubsetError(f"unsupported construct: {rest}")
        if rest:
            return _scalar(rest)
        nxt = self._next()
        if nxt is None:
            return None
        if nxt.indent > indent:
            return self._block(nxt.indent)
        if (
            not in_sequence_item
            and nxt.indent == indent
            and (nxt.text == "-" or nxt.text.startswith("- "))
        ):
            return self._sequence(indent)  # "key:\n- item" at the key's own indentation
        return None

    def _mapping(self, indent: int) -> dict:
        result: dict = {}
        while True:
            line = self._next()
            if line is None or line.indent < indent:
                return result
            if line.indent > indent:
                raise YamlSubsetError(f"line {line.number}: unexpected indentation")
            if line.text == "-" or line.text.startswith("- "):
                return result
            split = _split_key(line.text)
            if split is None:
                raise YamlSubsetError(f"line {line.number}: expected 'key: value'")
            key, rest = split
            if key == "<<":
                raise YamlSubsetError(f"line {line.number}: merge keys are not supported")
            if key in result:
                raise YamlSubsetError(f"line {line.number}: duplicate key {key!r}")
            self.pos += 1
            result[key] = self._value(rest, indent, False)

    def _sequence(self, indent: int) -> list:
        result: list = []
        while True:
            line = self._next()
            if line is None or line.indent < indent:
                return result
            if line.indent > indent or not (line.text == "-" or line.text.startswith("- ")):
                if line.indent == indent:
                    return result
                raise YamlSubsetError(f"line {line.number}: unexpected indentation")
            item = line.text[1:].lstrip(" ")
            if not item:
                self.pos += 1
                result.append(self._value("", indent, True))
                continue
            offset = line.indent + (len(line.text) - len(item))
            if item.startswith("- ") or _split_key(item) is not None:
                # "- key: value" (or "- - x"): the item is a block that starts on this line
                line.indent = offset
                line.text = item
                result.append(self._block(offset))
            else:
                self.pos += 1
                result.append(self._value(item, offset, True))

    def _literal(self, parent_indent: int, style: str) -> str:
        body = []
        content_indent = None
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.raw.strip() == "":
                body.append("")
                self.pos += 1
                continue
            if line.indent <= parent_indent:
                break
            if content_indent is None:
                content_indent = line.indent
            if line.indent < content_indent:
                break
            body.append(line.raw[content_indent:])
            self.pos += 1
        if style == "|+":
            return "\n".join(body) + "\n"
        while body and body[-1] == "":
            body.pop()
            # blank lines after the block belong to nobody; give them back to the parser
        text = "\n".join(body)
        return text if style == "|-" or not text else text + "\n"


def load_yaml_subset(text: str) -> list:
    """All documents of `text`."""
    docs, current, start = [], [], 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.rstrip() == "---" or raw.startswith("--- "):
            docs.append((start, current))
            current, start = [], number + 1
        elif raw.rstrip() == "...":
            continue
        else:
            current.append(raw.rstrip("\r"))
    docs.append((start, current))
    result = []
    for first, lines in docs:
        value = _Parser(lines, first).document()
        if value is not None:
            result.append(value)
    return result


def load_yaml(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if yaml is not None:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    return load_yaml_subset(text)


# ---------------------------------------------------------------------------------------------
# Test plumbing.


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, name: str, func, *args) -> None:
        try:
            outcome = func(*args)
        except AssertionError as e:
            self.failed += 1
            print(f"FAIL {name}: {e}")
            return
        except Exception:  # a crash in a check is a failure of that check
            self.failed += 1
            print(f"FAIL {name}: unexpected error\n{traceback.format_exc()}")
            return
        if outcome == "skip":
            self.skipped += 1
            print(f"SKIP {name}")
        else:
            self.passed += 1
            print(f"PASS {name}")


def env_of_compose_service(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): ("" if v is None else str(v)) for k, v in env.items()}
    out = {}
    for item in env:
        key, _, value = str(item).partition("=")
        out[key] = value
    return out


def pod_templates(doc: dict):
    """(kind/name, pod spec) of a workload manifest."""
    kind = doc.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        yield f"{kind}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]
    elif kind == "CronJob":
        yield f"{kind}/{doc['metadata']['name']}", doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif kind == "Pod":
        yield f"Pod/{doc['metadata']['name']}", doc["spec"]


def k8s_env(container: dict) -> dict:
    """name → value, or name → ('fieldRef', path) for a downward-API value."""
    out = {}
    for item in container.get("env") or []:
        if "valueFrom" in item:
            ref = item["valueFrom"].get("fieldRef")
            out[item["name"]] = ("fieldRef", ref.get("fieldPath")) if ref else ("valueFrom", None)
        else:
            out[item["name"]] = "" if item.get("value") is None else str(item["value"])
    return out


# ---------------------------------------------------------------------------------------------
# The checks.


class Checks:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.dep = repo / "deployments"
        self.docker = self.dep / "docker"
        self.k8s = self.dep / "kubernetes"
        self.logstash = self.docker / "conf" / "logstash"

    # --- files ---------------------------------------------------------------------------

    def yaml_files(self) -> list[Path]:
        return sorted(p for p in self.dep.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())

    def all_files(self) -> list[Path]:
        return sorted(p for p in self.dep.rglob("*") if p.is_file())

    def compose(self, name: str) -> dict:
        return load_yaml(self.docker / name)[0]

    def k8s_docs(self) -> list[dict]:
        docs = []
        for path in sorted(self.k8s.glob("*.yaml")):
            docs.extend(load_yaml(path))
        return docs

    # --- YAML ----------------------------------------------------------------------------

    def yaml_parses(self, path: Path):
        docs = load_yaml(path)
        assert docs, f"{path}: no document"
        for doc in docs:
            assert isinstance(doc, (dict, list)), f"{path}: a document is neither a mapping nor a list"
        subset = load_yaml_subset(path.read_text(encoding="utf-8"))
        if yaml is not None:
            assert subset == docs, f"{path}: the subset loader disagrees with PyYAML"

    def subset_loader_self_test(self):
        text = (
            "# comment\n"
            "a: 1\n"
            "b: \"x: y\" # trailing\n"
            "c:\n"
            "- p\n"
            "- 'q''s'\n"
            "d:\n"
            "  e: [1, \"two\", {f: g}]\n"
            "  h: {}\n"
            "  i: |\n"
            "    line 1\n"
            "\n"
            "    line 3\n"
            "  j:\n"
            "    - k: v\n"
            "      l: true\n"
            "    - m\n"
            "  n: http://x:80/y\n"
            "---\n"
            "o: null\n"
        )
        expected = [
            {
                "a": 1,
                "b": "x: y",
                "c": ["p", "q's"],
                "d": {
                    "e": [1, "two", {"f": "g"}],
                    "h": {},
                    "i": "line 1\n\nline 3\n",
                    "j": [{"k": "v", "l": True}, "m"],
                    "n": "http://x:80/y",
                },
            },
            {"o": None},
        ]
        got = load_yaml_subset(text)
        assert got == expected, f"got {got!r}"
        if yaml is not None:
            assert list(yaml.safe_load_all(text)) == expected, "PyYAML disagrees with the expectation"
        for bad in ("a: &x 1\n", "a: >\n  folded\n", "a: [1,\n  2]\n", "a: 1\na: 2\n"):
            try:
                load_yaml_subset(bad)
            except YamlSubsetError:
                continue
            raise AssertionError(f"accepted unsupported input {bad!r}")

    # --- DSIEM_* variables -----------------------------------------------------------------

    def env_names_structured(self):
        bad = []
        seen = 0
        for name in ("docker-compose.yml", "docker-compose-cluster.yml"):
            for svc_name, svc in (self.compose(name).get("services") or {}).items():
                for key in env_of_compose_service(svc):
                    if key.startswith("DSIEM_"):
                        seen += 1
                        if key not in ALLOWED_VARS:
                            bad.append(f"{name}:{svc_name}:{key}")
        for doc in self.k8s_docs():
            for where, spec in pod_templates(doc):
                for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
                    for key in k8s_env(c):
                        if key.startswith("DSIEM_"):
                            seen += 1
                            if key not in ALLOWED_VARS:
                                bad.append(f"{where}:{c['name']}:{key}")
        assert seen > 0, "no DSIEM_* variable found at all"
        assert not bad, "not dsiem flags: " + ", ".join(bad)

    def env_names_text(self):
        token = re.compile(r"(?<![A-Za-z0-9_])(-D)?(DSIEM_[A-Z0-9_]+)")
        bad = []
        for path in self.all_files():
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                for m in token.finditer(line):
                    if m.group(1):  # -DDSIEM_...: a CMake cache variable, not an env variable
                        continue
                    if m.group(2) not in ALLOWED_VARS:
                        bad.append(f"{path.relative_to(self.repo)}:{number}: {m.group(2)}")
        assert not bad, "unknown DSIEM_* variables: " + "; ".join(bad)

    # --- compose ---------------------------------------------------------------------------

    @staticmethod
    def _named_volume_mounts(service: dict) -> dict:
        """target path → named volume (or bind source) of a compose service."""
        out = {}
        for vol in service.get("volumes") or []:
            if isinstance(vol, dict):
                out[vol["target"]] = vol.get("source")
            else:
                parts = str(vol).split(":")
                if len(parts) >= 2:
                    out[parts[1]] = parts[0]
        return out

    def cluster_compose_frontend(self):
        services = self.compose("docker-compose-cluster.yml")["services"]
        fronts = [
            (n, s)
            for n, s in services.items()
            if env_of_compose_service(s).get("DSIEM_MODE") == "cluster-frontend"
        ]
        assert len(fronts) == 1, f"expected one frontend, found {[n for n, _ in fronts]}"
        name, svc = fronts[0]
        assert name == "dsiem", f"frontend service is {name!r}, not 'dsiem'"
        assert svc.get("container_name") == "dsiem", "frontend container_name is not 'dsiem'"
        env = env_of_compose_service(svc)
        assert env.get("DSIEM_NODE") == "dsiem", f"frontend DSIEM_NODE={env.get('DSIEM_NODE')!r}"
        assert env.get("DSIEM_MSQ") == "nats://dsiem-nats:4222", f"DSIEM_MSQ={env.get('DSIEM_MSQ')!r}"
        assert env.get("DSIEM_PORT") == "8080", f"DSIEM_PORT={env.get('DSIEM_PORT')!r}"
        assert any(str(p).endswith(":8080") for p in svc.get("ports") or []), "port 8080 not published"
        nats = services.get("dsiem-nats")
        assert nats, "no dsiem-nats service"
        assert nats.get("container_name") == "dsiem-nats", "NATS container_name is not dsiem-nats"
        assert str(nats.get("image", "")).startswith("nats:2.9"), f"NATS image {nats.get('image')!r}"

    def cluster_compose_backends(self):
        services = self.compose("docker-compose-cluster.yml")["services"]
        backs = {
            n: s
            for n, s in services.items()
            if env_of_compose_service(s).get("DSIEM_MODE") == "cluster-backend"
        }
        assert set(backs) >= {"dsiem-backend-0", "dsiem-backend-1"}, f"backends: {sorted(backs)}"
        nodes = {}
        for name, svc in backs.items():
            env = env_of_compose_service(svc)
            node = env.get("DSIEM_NODE", "")
            assert node, f"{name}: empty DSIEM_NODE"
            assert env.get("DSIEM_FRONTEND") == "http://dsiem:8080", f"{name}: DSIEM_FRONTEND={env.get('DSIEM_FRONTEND')!r}"
            assert env.get("DSIEM_MSQ") == "nats://dsiem-nats:4222", f"{name}: DSIEM_MSQ={env.get('DSIEM_MSQ')!r}"
            assert env.get("DSIEM_PORT") == "8081", f"{name}: DSIEM_PORT={env.get('DSIEM_PORT')!r}"
            nodes[name] = node
        values = list(nodes.values())
        assert len(set(values)) == len(values), f"duplicate DSIEM_NODE values: {values}"
        # prefix rule: no backend may pull another backend's directive files
        for a in values:
            for b in values:
                if a != b:
                    assert not f"directives_{b}_".startswith(f"directives_{a}_"), (
                        f"{a} would also pull the directive files of {b}"
                    )
        # each backend: own log volume, read by exactly one Filebeat, not by other backends
        log_volumes = {}
        for name, svc in backs.items():
            vol = self._named_volume_mounts(svc).get("/dsiem/logs")
            assert vol, f"{name}: no volume on /dsiem/logs"
            log_volumes[name] = vol
        assert len(set(log_volumes.values())) == len(log_volumes), f"shared log volumes: {log_volumes}"
        for name, vol in log_volumes.items():
            readers = [
                n
                for n, s in services.items()
                if self._named_volume_mounts(s).get("/var/log/dsiem") == vol
                and "filebeat" in str(s.get("image", ""))
            ]
            assert len(readers) == 1, f"{name}: log volume {vol} is read by {readers}"

    def standalone_compose(self):
        services = self.compose("docker-compose.yml")["services"]
        for needed in ("elasticsearch", "kibana", "logstash", "filebeat", "dsiem"):
            assert needed in services, f"no {needed} service"
        dsiem = services["dsiem"]
        env = env_of_compose_service(dsiem)
        assert env.get("DSIEM_MODE", "standalone") == "standalone", "standalone dsiem has another mode"
        assert dsiem.get("container_name") == "dsiem"
        log_vol = self._named_volume_mounts(dsiem).get("/dsiem/logs")
        assert log_vol, "dsiem has no volume on /dsiem/logs"
        assert self._named_volume_mounts(services["filebeat"]).get("/var/log/dsiem") == log_vol, (
            "filebeat does not read dsiem's log volume"
        )
        es_image = str(services["elasticsearch"]["image"])
        assert re.search(r":\$\{ELASTIC_VERSION:-7\.[0-9.]+\}$|:7\.[0-9.]+$", es_image), es_image
        es_env = env_of_compose_service(services["elasticsearch"])
        assert es_env.get("discovery.type") == "single-node", "elasticsearch is not single-node"

    def compose_build_and_mounts(self):
        for name in ("docker-compose.yml", "docker-compose-cluster.yml"):
            services = self.compose(name)["services"]
            for svc_name, svc in services.items():
                build = svc.get("build")
                if build:
                    context = (self.docker / build["context"]).resolve()
                    assert context == self.repo.resolve(), f"{name}:{svc_name}: build context {context}"
                    assert (context / build["dockerfile"]).is_file(), f"{name}:{svc_name}: no Dockerfile"
                for source in self._named_volume_mounts(svc).values():
                    if source.startswith((".", "/")):
                        assert (self.docker / source).exists(), f"{name}:{svc_name}: missing {source}"
                declared = set((self.compose(name).get("volumes") or {}).keys())
                for source in self._named_volume_mounts(svc).values():
                    if not source.startswith((".", "/", "$")):
                        assert source in declared, f"{name}:{svc_name}: undeclared volume {source}"

    # --- Kubernetes ------------------------------------------------------------------------

    def k8s_shape(self):
        docs = self.k8s_docs()
        assert docs, "no manifests"
        for doc in docs:
            for key in ("apiVersion", "kind", "metadata"):
                assert key in doc, f"a manifest lacks {key}"
            assert doc["metadata"].get("name"), f"a {doc['kind']} has no name"
        for where, spec in (p for d in docs for p in pod_templates(d)):
            for c in spec.get("containers") or []:
                for mount in c.get("volumeMounts") or []:
                    names = {v["name"] for v in spec.get("volumes") or []}
                    assert mount["name"] in names, f"{where}:{c['name']}: unknown volume {mount['name']}"
        workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
        for w in workloads:
            sel = w["spec"]["selector"]["matchLabels"]
            labels = w["spec"]["template"]["metadata"]["labels"]
            assert all(labels.get(k) == v for k, v in sel.items()), f"{w['metadata']['name']}: selector/labels mismatch"

    def _by_kind(self, kind: str, name: str) -> dict:
        for doc in self.k8s_docs():
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
        raise AssertionError(f"no {kind} {name}")

    @staticmethod
    def _service_selects(service: dict, workload: dict) -> bool:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        return all(labels.get(k) == v for k, v in service["spec"]["selector"].items())

    def k8s_nats(self):
        dep = self._by_kind("Deployment", "dsiem-nats")
        svc = self._by_kind("Service", "dsiem-nats")
        assert self._service_selects(svc, dep), "Service dsiem-nats does not select the NATS pods"
        assert any(p["port"] == 4222 for p in svc["spec"]["ports"]), "Service dsiem-nats lacks port 4222"
        image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith("nats:"), image

    def k8s_frontend(self):
        svc = self._by_kind("Service", "dsiem")
        deployments = [d for d in self.k8s_docs() if d["kind"] == "Deployment" and self._service_selects(svc, d)]
        assert len(deployments) == 1, "Service dsiem must select exactly one Deployment"
        assert any(p["port"] == 8080 for p in svc["spec"]["ports"]), "Service dsiem lacks port 8080"
        spec = deployments[0]["spec"]["template"]["spec"]
        env = k8s_env(spec["containers"][0])
        assert env.get("DSIEM_MODE") == "cluster-frontend", f"DSIEM_MODE={env.get('DSIEM_MODE')!r}"
        assert env.get("DSIEM_MSQ") == "nats://dsiem-nats:4222", f"DSIEM_MSQ={env.get('DSIEM_MSQ')!r}"
        assert env.get("DSIEM_NODE"), "frontend needs DSIEM_NODE"
        assert env.get("DSIEM_PORT") == "8080"

    def k8s_backend(self):
        sts = self._by_kind("StatefulSet", "dsiem-backend")
        spec = sts["spec"]["template"]["spec"]
        containers = {c["name"]: c for c in spec["containers"]}
        dsiem = next(c for c in spec["containers"] if "dsiem" in c["image"])
        env = k8s_env(dsiem)
        assert env.get("DSIEM_MODE") == "cluster-backend", f"DSIEM_MODE={env.get('DSIEM_MODE')!r}"
        assert env.get("DSIEM_NODE") == ("fieldRef", "metadata.name"), f"DSIEM_NODE={env.get('DSIEM_NODE')!r}"
        assert env.get("DSIEM_FRONTEND") == "http://dsiem:8080", f"DSIEM_FRONTEND={env.get('DSIEM_FRONTEND')!r}"
        assert env.get("DSIEM_MSQ") == "nats://dsiem-nats:4222"
        logs = {m["mountPath"]: m["name"] for m in dsiem.get("volumeMounts") or []}.get("/dsiem/logs")
        assert logs, "dsiem container has no /dsiem/logs mount"
        volume = next(v for v in spec["volumes"] if v["name"] == logs)
        assert "emptyDir" in volume, "the logs volume is not an emptyDir"
        filebeat = [c for c in containers.values() if "filebeat" in c["image"]]
        assert len(filebeat) == 1, "expected one filebeat sidecar"
        fb_mounts = {m["mountPath"]: m["name"] for m in filebeat[0].get("volumeMounts") or []}
        assert fb_mounts.get("/var/log/dsiem") == logs, "filebeat does not share the logs volume"
        config = next(
            v for v in spec["volumes"] if v["name"] == fb_mounts.get("/usr/share/filebeat/filebeat.yml")
        )
        cm = self._by_kind("ConfigMap", config["configMap"]["name"])
        assert "filebeat.yml" in cm["data"], "ConfigMap lacks filebeat.yml"
        headless = self._by_kind("Service", sts["spec"]["serviceName"])
        assert headless["spec"].get("clusterIP") == "None", "the StatefulSet's Service is not headless"
        assert self._service_selects(headless, sts), "headless Service does not select the backends"

    def k8s_readme(self):
        text = (self.k8s / "README.md").read_text(encoding="utf-8")
        for needle in ("dsiem-backend-0", "directives_dsiem-backend-0_", "prefix", "kubectl scale"):
            assert needle in text, f"README.md does not mention {needle!r}"

    # --- Filebeat, Logstash, templates ---------------------------------------------------------

    def filebeat_config(self):
        docker_fb = load_yaml(self.docker / "conf" / "filebeat" / "filebeat.yml")[0]
        inputs = docker_fb["filebeat.inputs"]
        by_type = {}
        for item in inputs:
            assert item.get("json.keys_under_root") is True, "json.keys_under_root is not true"
            assert item.get("fields_under_root") is True, "fields_under_root is not true"
            assert item["fields"]["application"] == "siem"
            by_type[item["fields"]["siem_data_type"]] = item["paths"]
        assert by_type == {
            "alarm_events": ["/var/log/dsiem/siem_alarm_events.json"],
            "alarms": ["/var/log/dsiem/siem_alarms.json"],
        }, f"inputs: {by_type}"
        assert docker_fb["output.logstash"]["hosts"] == ["logstash:5001"]
        cm = self._by_kind("ConfigMap", "dsiem-filebeat-config")
        k8s_fb = (yaml.safe_load(cm["data"]["filebeat.yml"]) if yaml else load_yaml_subset(cm["data"]["filebeat.yml"])[0])
        assert k8s_fb == docker_fb, "the ConfigMap's filebeat.yml differs from conf/filebeat/filebeat.yml"

    @staticmethod
    def _logstash_structure_ok(path: Path) -> None:
        """Balanced braces/brackets outside strings and comments, in a Logstash config."""
        text = path.read_text(encoding="utf-8")
        stack = []
        quote = None
        i = 0
        line = 1
        while i < len(text):
            ch = text[i]
            if ch == "\n":
                line += 1
            if quote:
                if ch == "\\":
                    i += 2
                    continue
                if ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
                continue
            elif ch in "{[":
                stack.append((ch, line))
            elif ch in "}]":
                assert stack, f"{path.name}:{line}: unmatched {ch}"
                opener, _ = stack.pop()
                assert (opener, ch) in (("{", "}"), ("[", "]")), f"{path.name}:{line}: {opener} closed by {ch}"
            i += 1
        assert quote is None, f"{path.name}: unterminated string"
        assert not stack, f"{path.name}: unclosed {stack[-1][0]} from line {stack[-1][1]}"

    def logstash_pipelines(self):
        pipelines = load_yaml(self.logstash / "pipelines.yml")[0]
        assert isinstance(pipelines, list) and pipelines, "pipelines.yml is not a list"
        mount = "/usr/share/logstash/conf.d/"
        confs = []
        for p in pipelines:
            path = p["path.config"]
            assert path.startswith(mount), f"{p['pipeline.id']}: {path} is outside {mount}"
            matched = sorted((self.logstash / "conf.d").glob(path[len(mount):]))
            assert matched, f"{p['pipeline.id']}: {path} matches no file"
            confs.extend(matched)
        all_confs = sorted((self.logstash / "conf.d").rglob("*.conf"))
        assert sorted(confs) == all_confs, "a .conf file belongs to no pipeline"
        for conf in all_confs:
            self._logstash_structure_ok(conf)
            text = conf.read_text(encoding="utf-8")
            for template in re.findall(r'template\s*=>\s*"([^"]+)"', text):
                prefix = "/usr/share/logstash/index-template/"
                assert template.startswith(prefix), template
                assert (self.logstash / "index-template" / template[len(prefix):]).is_file(), f"missing {template}"

    def logstash_events(self):
        text = (self.logstash / "conf.d" / "events" / "80_siem.conf").read_text(encoding="utf-8")
        flat = re.sub(r"#.*", "", text)
        assert re.search(r'uuid\s*\{[^}]*target\s*=>\s*"event_id"[^}]*overwrite\s*=>\s*true', flat), "uuid overwrite of event_id"
        http = re.search(r"http\s*\{([^}]*)\}", flat)
        assert http, "no http output"
        body = http.group(1)
        assert re.search(r'url\s*=>\s*"http://dsiem:8080/events"', body), "http url"
        assert re.search(r'format\s*=>\s*"json"', body), "http format json"
        assert re.search(r'http_method\s*=>\s*"post"', body), "http method post"
        codes = re.search(r"retryable_codes\s*=>\s*\[([^\]]*)\]", body)
        if codes:
            assert sorted(int(c) for c in codes.group(1).split(",")) == [429, 500, 502, 503, 504], "retryable codes"
        assert 'normalizedEvent' in flat
        assert re.search(r'index\s*=>\s*"siem_events-%\{\+YYYY\.MM\.dd\}"', flat), "siem_events index"
        assert re.search(r'document_id\s*=>\s*"%\{\[event_id\]\}"', flat), "siem_events document_id"

    def logstash_alarms(self):
        conf = self.logstash / "conf.d" / "alarms"
        inputs = "".join(p.read_text(encoding="utf-8") for p in sorted(conf.glob("*.conf")))
        assert re.search(r"beats\s*\{\s*port\s*=>\s*5001\s*\}", re.sub(r"#.*", "", inputs)), "beats :5001"
        text = (conf / "80_siem_alarms.conf").read_text(encoding="utf-8")
        code = re.sub(r"(?m)^\s*#.*$", "", text)
        for needle in (
            r'index\s*=>\s*"siem_alarm_events-%\{\+YYYY\.MM\.dd\}"',
            r'index\s*=>\s*"siem_alarms_id_lookup"',
            r'"siem_alarms-%\{\+YYYY\.MM\.dd\}"',
            r'action\s*=>\s*"update"',
            r"doc_as_upsert\s*=>\s*true",
            r'script_lang\s*=>\s*"painless"',
            r'match\s*=>\s*\[\s*"created_time",\s*"UNIX"\s*\]',
            r'match\s*=>\s*\[\s*"update_time",\s*"UNIX"\s*\]',
        ):
            assert re.search(needle, code), f"80_siem_alarms.conf lacks {needle}"
        script = re.search(r"script\s*=>\s*'([^']*)'", code)
        assert script, "no painless script"
        body = script.group(1)
        assert not re.search(r"ctx\._source\.(status|tag)\b", body), "the script touches status/tag"
        for key in ("timestamp", "updated_time", "risk", "risk_class", "src_ips", "dst_ips", "rules", "networks"):
            assert f'"{key}"' in body, f"the script does not overwrite {key}"
        for key in ("intel_hits", "vulnerabilities", "custom_data"):
            assert f'"{key}"' in body, f"the script does not handle {key}"
        assert 'ctx.op = "none"' in body and "isBefore" in body, "out-of-order rules missing"
        for field in ("timestamp", "title", "status", "kingdom", "category", "updated_time", "risk",
                      "risk_class", "tag", "src_ips", "dst_ips", "intel_hits", "vulnerabilities",
                      "networks", "rules", "custom_data", "perm_index"):
            assert f'"^{field}$"' in code, f"prune whitelist lacks {field}"

    def index_templates(self):
        tdir = self.logstash / "index-template"
        alarms = json.loads((tdir / "siem_alarms-template.json").read_text(encoding="utf-8"))
        assert alarms["index_patterns"] == ["siem_alarms-*"]
        assert "siem_alarms_id_lookup" in alarms["aliases"], "no siem_alarms_id_lookup alias"
        props = alarms["mappings"]["properties"]
        assert props["src_ips"]["type"] == "ip" and props["dst_ips"]["type"] == "ip", "src_ips/dst_ips not ip"
        events = json.loads((tdir / "siem_alarm_events-template.json").read_text(encoding="utf-8"))
        assert events["index_patterns"] == ["siem_alarm_events-*"]
        siem_events = json.loads((tdir / "siem_events-template.json").read_text(encoding="utf-8"))
        assert siem_events["index_patterns"] == ["siem_events-*"]
        sprops = siem_events["mappings"]["properties"]
        assert sprops["src_ip"]["type"] == "ip" and sprops["dst_ip"]["type"] == "ip"

    # --- image ---------------------------------------------------------------------------

    def _dockerfile(self) -> str:
        return (self.docker / "Dockerfile").read_text(encoding="utf-8")

    def dockerfile(self):
        text = self._dockerfile()
        froms = re.findall(r"(?m)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text)
        assert froms[0] == ("debian:12", "build"), f"first stage: {froms[0]}"
        assert froms[-1][0] == "debian:12-slim", f"runtime stage: {froms[-1]}"
        assert "-DDSIEM_BUILD_TESTS=OFF" in text and "-DCMAKE_BUILD_TYPE=Release" in text
        for pkg in ("build-essential", "cmake", "ninja-build", "libnats-dev", "libsimdjson-dev",
                    "libspdlog-dev", "libcli11-dev", "libboost-dev", "rapidjson-dev",
                    "libnats3.4", "libsimdjson14", "libspdlog1.10", "libfmt9"):
            assert re.search(rf"(?<![\w.-]){re.escape(pkg)}(?![\w.-])", text), f"package {pkg} missing"
        assert re.search(r"useradd[^\n]*--uid 1000[^\n]*dsiem", text), "no dsiem user with uid 1000"
        assert re.search(r"(?m)^USER dsiem$", text), "not run as dsiem"
        assert re.search(r"(?m)^EXPOSE 8080$", text)
        assert re.search(r"(?m)^COPY configs/ /dsiem/configs.default/$", text), "default configs"
        assert re.search(r"(?m)^ENTRYPOINT \[\"/dsiem/entrypoint.sh\"\]$", text)
        assert "/dsiem/web/dist" in text and "/dsiem/logs" in text
        for src in re.findall(r"(?m)^COPY\s+(?!--from)(\S+)\s", text):
            assert (self.repo / src).exists(), f"COPY source {src} is not in the repository"

    def dockerfile_healthcheck(self):
        m = re.search(r"(?ms)^HEALTHCHECK[^\n]*\\\n\s*CMD\s+(\[.*?\])\s*$", self._dockerfile())
        assert m, "no exec-form HEALTHCHECK"
        argv = json.loads(m.group(1))
        assert any("/health/live" in a for a in argv), "healthcheck does not use /health/live"
        status = {"code": 200}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                code = status["code"] if self.path == "/health/live" else 404
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            env = dict(os.environ, DSIEM_PORT=str(server.server_address[1]))
            ok = subprocess.run(argv, env=env, timeout=20, capture_output=True)
            assert ok.returncode == 0, f"healthy server reported unhealthy: {ok.stderr.decode()}"
            status["code"] = 503
            bad = subprocess.run(argv, env=env, timeout=20, capture_output=True)
            assert bad.returncode != 0, "503 reported healthy"
        finally:
            server.shutdown()
        closed = dict(os.environ, DSIEM_PORT=str(free_port()))
        down = subprocess.run(argv, env=closed, timeout=20, capture_output=True)
        assert down.returncode != 0, "closed port reported healthy"

    def entrypoint(self):
        script = self.docker / "entrypoint.sh"
        assert os.access(script, os.X_OK), "entrypoint.sh is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            (base / "configs.default").mkdir()
            (base / "configs.default" / "assets_a.json").write_text('{"assets":[]}')
            # a ConfigMap-like layout: ..data/ holds the files, the visible names are symlinks
            (base / "configs.default" / "..data").mkdir()
            (base / "configs.default" / "..data" / "directives_x.json").write_text("{}")
            os.symlink("..data/directives_x.json", base / "configs.default" / "directives_x.json")
            fake = base / "dsiem"
            fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/args"\n')
            fake.chmod(0o755)

            def run(args, **env):
                full = {k: v for k, v in os.environ.items() if not k.startswith("DSIEM_")}
                full.update(env, ENTRYPOINT_BASE_DIR=str(base))
                subprocess.run([str(script), *args], env=full, check=True, timeout=30, capture_output=True)
                return (base / "args").read_text().splitlines()

            shutil.rmtree(base / "configs", ignore_errors=True)
            args = run(["-p", "9090", "--debug"])
            assert args == ["serve", "-p", "9090", "--debug"], f"args {args}"
            seeded = sorted(p.name for p in (base / "configs").iterdir())
            assert seeded == ["assets_a.json", "directives_x.json"], f"seeded {seeded}"
            assert not (base / "configs" / "directives_x.json").is_symlink(), "symlink copied as a link"
            assert not (base / "web").exists(), "esconfig.json written without DSIEM_WEB_*"

            # a non-empty configs directory is left alone
            (base / "configs" / "assets_a.json").unlink()
            run([])
            assert sorted(p.name for p in (base / "configs").iterdir()) == ["directives_x.json"]

            # backends start empty, whether the mode comes from the environment or the arguments
            for env, cli in (({"DSIEM_MODE": "cluster-backend"}, []),
                             ({"DSIEM_MODE": "standalone"}, ["--mode", "cluster-backend"]),
                             ({}, ["-m", "cluster-backend"]),
                             ({}, ["--mode=cluster-backend"])):
                shutil.rmtree(base / "configs")
                (base / "configs").mkdir()
                run(cli, **env)
                assert not any((base / "configs").iterdir()), f"seeded in backend mode ({env}, {cli})"
            # ... and a frontend is seeded even when the environment says backend
            run(["--mode", "cluster-frontend"], DSIEM_MODE="cluster-backend")
            assert any((base / "configs").iterdir()), "frontend given by flag was not seeded"

            run([], DSIEM_WEB_ESURL='http://es:9200/"x"', DSIEM_WEB_KBNURL="http://kbn:5601")
            cfg = json.loads((base / "web/dist/assets/config/esconfig.json").read_text())
            assert cfg == {"elasticsearch": 'http://es:9200/"x"', "kibana": "http://kbn:5601"}, cfg
            run([], DSIEM_WEB_ESURL="http://only-es:9200")
            cfg = json.loads((base / "web/dist/assets/config/esconfig.json").read_text())
            assert cfg == {"elasticsearch": "http://only-es:9200"}, cfg

    # --- scripts/local-cluster.sh ----------------------------------------------------------

    def local_cluster_script(self):
        script = self.repo / "scripts" / "local-cluster.sh"
        subprocess.run(["bash", "-n", str(script)], check=True)
        text = script.read_text(encoding="utf-8")
        assert "docker" not in re.sub(r"#.*", "", text).lower(), "the script uses docker"
        for needle in ('NATS_PORT="${NATS_PORT:-4222}"', 'CLUSTER_DIR="${CLUSTER_DIR:-out/cluster}"',
                       "nats-server -a", "cluster-frontend", "cluster-backend", "directives_testing.json"):
            assert needle in text, f"local-cluster.sh lacks {needle!r}"
        usage = subprocess.run(["bash", str(script)], capture_output=True, timeout=30)
        assert usage.returncode == 2 and b"start|stop|status" in usage.stderr, "usage"
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, CLUSTER_DIR=tmp)
            status = subprocess.run(["bash", str(script), "status"], env=env, capture_output=True, timeout=60)
            out = status.stdout.decode()
            assert status.returncode == 3, f"status exit {status.returncode}: {out}"
            for node in ("nats", "dsiem", "dsiem-backend-0", "dsiem-backend-1"):
                assert re.search(rf"(?m)^{re.escape(node)}\s+stopped$", out), f"status: {out}"
            stop = subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True, timeout=60)
            assert stop.returncode == 0, "stop with nothing running failed"
            # start refuses cleanly without a binary (and starts nothing)
            start = subprocess.run(["bash", str(script), "start"], capture_output=True, timeout=60,
                                   env=dict(env, BIN=str(Path(tmp) / "missing")))
            assert start.returncode == 1 and b"build it first" in start.stderr, start.stderr.decode()

    def shellcheck(self):
        if shutil.which("shellcheck") is None:
            return "skip"
        files = [self.docker / "entrypoint.sh", self.repo / "scripts" / "local-cluster.sh"]
        res = subprocess.run(["shellcheck", "-S", "warning", "-x", *map(str, files)],
                             capture_output=True, timeout=120, cwd=self.repo / "scripts")
        assert res.returncode == 0, res.stdout.decode()

    def cluster_doc(self):
        text = (self.repo / "docs" / "cluster.md").read_text(encoding="utf-8")
        for needle in ("dsiem_events", "dsiem_overload_signals", "Cannot start backend worker process",
                       "directives_<node>_", "503", "scripts/local-cluster.sh", "deployments/kubernetes",
                       "docker-compose-cluster.yml", "replace the image"):
            assert needle.lower() in text.lower(), f"docs/cluster.md does not mention {needle!r}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--no-pyyaml", action="store_true",
                        help="use only the subset loader, as on a machine without PyYAML")
    args = parser.parse_args()
    if args.no_pyyaml:
        global yaml
        yaml = None
    checks = Checks(args.repo.resolve())
    results = Results()

    print(f"YAML: {'PyYAML ' + yaml.__version__ + ' and the subset loader' if yaml else 'subset loader only'}")
    results.run("yaml_subset_loader", checks.subset_loader_self_test)
    for path in checks.yaml_files():
        results.run(f"yaml_parses[{path.relative_to(checks.repo)}]", checks.yaml_parses, path)
    for name in (
        "env_names_structured",
        "env_names_text",
        "cluster_compose_frontend",
        "cluster_compose_backends",
        "standalone_compose",
        "compose_build_and_mounts",
        "k8s_shape",
        "k8s_nats",
        "k8s_frontend",
        "k8s_backend",
        "k8s_readme",
        "filebeat_config",
        "logstash_pipelines",
        "logstash_events",
        "logstash_alarms",
        "index_templates",
        "dockerfile",
        "dockerfile_healthcheck",
        "entrypoint",
        "local_cluster_script",
        "shellcheck",
        "cluster_doc",
    ):
        results.run(name, getattr(checks, name))

    summary = f"{results.passed} passed, {results.failed} failed"
    if results.skipped:
        summary += f", {results.skipped} skipped"
    print(summary)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
