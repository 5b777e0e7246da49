"""HTTP API fuzzing of a real `realtime-sidecar` binary against its own /openapi.json (issue #8, part 5).

The sidecar runs with the memory config store and a real nats-server, so it is ready: the
documented 503s (not ready, store unavailable) cannot happen, and any 5xx is a finding.
schemathesis runs every operation with every check (`--checks all`). Bounded in `make test`
(API_FUZZ_MAX_EXAMPLES, default 20 per operation); `make api-fuzz` runs the full size.
Every finding of the first run is a regression test below (docs/RELIABILITY.md lists them).

Writes on the public port need the bearer token (SIDECAR_API_TOKEN): schemathesis sends it with
every request, so the writes are exercised, and its `ignored_auth` check replays them without it
(expecting 401); test_every_write_without_the_token_is_401 checks each write operation directly.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import secrets

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_dir():
    d = os.environ.get("SIDECAR_BIN_DIR")
    if not d:
        d = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.strip()
    return Path(d)


def nats_server_path():
    for c in [shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/local/bin/nats-server"]:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail("nats-server not found (scripts/install-deps installs it)")


# The fuzzed sidecar's API token: helpers below send it on writes unless told not to.
TOKEN = "fuzz-" + secrets.token_hex(16)


def http(method, url, body=None, token=TOKEN):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token and method not in ("GET", "HEAD"):
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def sidecar():
    binary = bin_dir() / "realtime-sidecar"
    if not binary.exists():
        pytest.fail(f"{binary} missing: run `swift build`")
    work = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
    nats_port, http_port, admin_port = free_port(), free_port(), free_port()
    nats = subprocess.Popen([nats_server_path(), "-a", "127.0.0.1", "-p", str(nats_port)],
                            stdout=open(work / "nats.log", "w"), stderr=subprocess.STDOUT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "SIDECAR_", "HTTP_", "CONFIG_", "ADMIN_"))}
    env.update(NATS_URL=f"nats://127.0.0.1:{nats_port}", HTTP_HOST="127.0.0.1", HTTP_PORT=str(http_port),
               ADMIN_HTTP_HOST="127.0.0.1", ADMIN_HTTP_PORT=str(admin_port), SIDECAR_API_TOKEN=TOKEN,
               SIDECAR_SOCKET_PATH="", CONFIG_STORE="memory", LOG_LEVEL="warning", HEARTBEAT_ENABLED="false")
    log = open(work / "sidecar.log", "w")
    proc = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if http("GET", base + "/ready")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        proc.kill()
        nats.kill()
        pytest.fail("sidecar not ready within 60 s: " + (work / "sidecar.log").read_text()[-2000:])
    proc.admin_base = f"http://127.0.0.1:{admin_port}"
    yield base, proc, work
    if proc.poll() is not None:
        print("sidecar log tail:\n" + (work / "sidecar.log").read_text()[-3000:])
    proc.terminate()
    try:
        assert proc.wait(15) == 0, "the sidecar did not exit 0 on SIGTERM after the fuzzing"
    finally:
        if proc.poll() is None:
            proc.kill()
        nats.terminate()
        nats.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def test_schemathesis_every_operation_every_check(sidecar):
    base, proc, work = sidecar
    examples = int(os.environ.get("API_FUZZ_MAX_EXAMPLES", "20"))
    seed = os.environ.get("API_FUZZ_SEED")
    schemathesis = Path(sys.executable).parent / "schemathesis"
    cmd = [str(schemathesis), "run", base + "/openapi.json", "--checks", "all", "--max-examples", str(examples),
           "--workers", "1", "--no-color", "--request-timeout", "10", "--suppress-health-check", "all",
           "--generation-database", "none", "--report", "junit", "--report-dir", str(work / "report"),
           "--header", f"Authorization: Bearer {TOKEN}"]
    if seed:
        cmd += ["--seed", seed]
    started = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=work, timeout=1800)
    out = run.stdout + run.stderr
    print(out[-6000:].replace(TOKEN, "<token>"))
    print(f"schemathesis: {examples} examples per operation, {time.time() - started:.0f} s")
    assert proc.poll() is None, "the sidecar died during the fuzzing"
    assert http("GET", base + "/ready")[0] == 200, "the sidecar is no longer ready after the fuzzing"
    assert run.returncode == 0, "schemathesis found failures:\n" + out[-20000:].replace(TOKEN, "<token>")
    selected = next((line.split(":")[1].strip() for line in out.splitlines() if "Selected:" in line), "")
    tested = next((line.split(":")[1].strip() for line in out.splitlines() if "Tested:" in line), "")
    done, _, total = selected.partition("/")
    assert done == total == tested and int(tested) >= 24, f"selected {selected}, tested {tested}"


def _write_operations(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method.upper() != "GET":
                yield path, method.upper(), op


def test_every_write_without_the_token_is_401(sidecar):
    """Each write operation of the document declares the bearer scheme and a 401; on the public
    port it answers 401 without the token and with a wrong one, and changes nothing; the admin
    listener takes it without a token; reads need none."""
    base, proc, _ = sidecar
    doc = json.loads(http("GET", base + "/openapi.json")[2])
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}
    config_path = "/api/v1/strategies/orderbook_skew/config"
    before = json.loads(http("GET", base + config_path)[2])["data"]
    audit_before = json.loads(http("GET", base + "/api/v1/strategies/orderbook_skew/audit")[2])["data"]
    writes = list(_write_operations(doc))
    assert len(writes) >= 8
    body = {"parameters": {"top_levels": 3}, "changed_by": "fuzz", "strategy_id": "orderbook_skew"}
    for path, method, op in writes:
        assert op.get("security") == [{"bearerAuth": []}], (method, path)
        assert "401" in op["responses"], (method, path)
        url = _url(base, path, {"changed_by": "fuzz"})
        for token in (None, "wrong-" + TOKEN):
            status, headers, answer = http(method, url, body if method == "POST" else None, token=token)
            assert status == 401, (method, path, status, answer)
            assert headers.get("WWW-Authenticate") == 'Bearer realm="realtime-sidecar"', headers
            assert json.loads(answer)["error"]["code"] == "UNAUTHORIZED"
    assert json.loads(http("GET", base + config_path)[2])["data"] == before
    assert json.loads(http("GET", base + "/api/v1/strategies/orderbook_skew/audit")[2])["data"] == audit_before
    status, _, answer = http("POST", proc.admin_base + "/api/v1/config/validate",
                             {"strategy_id": "orderbook_skew", "parameters": {"top_levels": 3}}, token=None)
    assert status == 200, answer
    metrics = http("GET", base + "/metrics")[2].decode()
    refused = [line for line in metrics.splitlines() if line.startswith("realtime_http_unauthorized_total ")]
    assert refused and float(refused[0].split()[1]) >= 2 * len(writes), refused


# ---- Regression tests: one per finding of the first run (docs/RELIABILITY.md) ----

def test_undeclared_method_gets_405_with_allow(sidecar):
    """Finding ST204: TRACE (or any undeclared method) on a served path answered 404."""
    base, _, _ = sidecar
    for method, path, allowed in [("TRACE", "/healthz", {"GET"}), ("PUT", "/api/v1/stats", {"GET"}),
                                  ("PATCH", "/api/v1/strategies/orderbook_skew/config", {"GET", "POST", "DELETE"}),
                                  ("GET", "/api/v1/strategies/cache/refresh", {"POST"}),
                                  ("DELETE", "/api/v1/metrics/depth/BTCUSDT", {"GET"})]:
        status, headers, body = http(method, base + path)
        assert status == 405, (method, path, status, body)
        assert {m.strip() for m in headers.get("Allow", "").split(",")} == allowed, (method, path, headers)
    assert http("GET", base + "/no/such/path")[0] == 404
    assert http("GET", base + "/api/v1/metrics/depth/NOSUCHSYMBOL")[0] == 404


def _query_params(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if p["in"] == "query":
                    yield path, method.upper(), p, op


def _url(base, path, query):
    concrete = path.replace("{strategy_id}", "orderbook_skew").replace("{symbol}", "BTCUSDT")
    return base + concrete + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_documented_query_bounds_and_enums_are_what_the_service_accepts(sidecar):
    """Findings ST202: empty venue/trend/sort values, limit=0, audit limits and symbols, empty
    changed_by were schema-valid but refused. The document now states the enums and bounds; each
    documented value must pass the parameter check (any answer but 400/422) and each value just
    outside must be refused with 400 or 422."""
    base, _, _ = sidecar
    doc = json.loads(http("GET", base + "/openapi.json")[2])
    checked = 0
    for path, method, p, op in _query_params(doc):
        if method != "GET":
            continue
        schema = p["schema"]
        good, bad = [], []
        if "enum" in schema:
            good, bad = list(schema["enum"]), ["", "not-a-value"]
        if "minimum" in schema:
            good.append(schema["minimum"])
            bad.append(schema["minimum"] - 1)
        if "maximum" in schema:
            good.append(schema["maximum"])
            bad.append(schema["maximum"] + 1)
        for value in good:
            status = http(method, _url(base, path, {p["name"]: value}))[0]
            assert status not in (400, 422), f"{method} {path} {p['name']}={value}: {status}"
            checked += 1
        for value in bad:
            status = http(method, _url(base, path, {p["name"]: value}))[0]
            assert status in (400, 422), f"{method} {path} {p['name']}={value!r} accepted ({status})"
            checked += 1
    assert checked >= 30


def test_delete_requires_a_non_empty_changed_by_as_documented(sidecar):
    base, _, _ = sidecar
    doc = json.loads(http("GET", base + "/openapi.json")[2])
    op = doc["paths"]["/api/v1/strategies/{strategy_id}/config"]["delete"]
    changed_by = next(p for p in op["parameters"] if p["name"] == "changed_by")
    assert changed_by["required"] and changed_by["schema"].get("minLength") == 1
    assert http("DELETE", base + "/api/v1/strategies/orderbook_skew/config?changed_by=")[0] == 400
    assert http("DELETE", base + "/api/v1/strategies/orderbook_skew/config?changed_by=ops")[0] in (200, 404)


def test_lenient_filters_are_documented_as_free_strings(sidecar):
    """Finding ST201 (after the first fix): `trend=AAA` is accepted (seed behaviour: it matches no
    row), so the document must not declare an enum for trend, sort_by or sort_order."""
    base, _, _ = sidecar
    doc = json.loads(http("GET", base + "/openapi.json")[2])
    params = {p["name"]: p for p in doc["paths"]["/api/v1/metrics/all"]["get"]["parameters"]}
    for name in ["trend", "sort_by", "sort_order"]:
        assert "enum" not in params[name]["schema"], name
        assert http("GET", base + f"/api/v1/metrics/all?{name}=AAA")[0] == 200, name


def test_validate_requires_a_non_empty_strategy_id_as_documented(sidecar):
    """Finding ST202: `{"strategy_id": ""}` was schema-valid but answered 422."""
    base, _, _ = sidecar
    doc = json.loads(http("GET", base + "/openapi.json")[2])
    body = doc["paths"]["/api/v1/config/validate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["strategy_id"].get("minLength") == 1
    assert http("POST", base + "/api/v1/config/validate", {"strategy_id": "", "parameters": {}})[0] == 422


def test_integers_beyond_int64_are_outside_the_document(sidecar):
    """Findings ST202 of the full runs: `offset=58260335217308154028097536` (query) and
    `"target_version": 2743086949565219874064325060356734976` (body) were schema-valid but refused:
    the service reads 64-bit integers, and the document now says so with its bounds."""
    base, _, _ = sidecar
    doc = json.loads(http("GET", base + "/openapi.json")[2])
    offset = next(p for p in doc["paths"]["/api/v1/metrics/all"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**63 - 1
    assert http("GET", base + f"/api/v1/metrics/all?offset={2**63 - 1}")[0] == 200
    assert http("GET", base + f"/api/v1/metrics/all?offset={2**63}")[0] == 422
    rollback = doc["paths"]["/api/v1/strategies/{strategy_id}/rollback"]["post"]
    target = rollback["requestBody"]["content"]["application/json"]["schema"]["properties"]["target_version"]
    assert target["maximum"] == 2**63 - 1
    status = http("POST", base + "/api/v1/strategies/orderbook_skew/rollback",
                  {"changed_by": "fuzz", "target_version": 2**63})[0]
    assert status == 400


def test_offset_int64_max_does_not_crash_the_sidecar(sidecar):
    """Finding of the full run (network error, the sidecar died with SIGILL): `limit=1&offset=2**63-1`
    overflowed the page number (`offset / limit + 1`) and trapped."""
    base, proc, _ = sidecar
    for limit in (1, 2, 200):
        status, _, body = http("GET", base + f"/api/v1/metrics/all?limit={limit}&offset={2**63 - 1}")
        assert status == 200, body
        assert json.loads(body)["pagination"]["has_next"] is False
    assert proc.poll() is None
