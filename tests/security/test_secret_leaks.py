"""No secret given to the process appears in anything it prints or serves (issue #15, part 3).

Each scenario starts the built `realtime-sidecar` (and `sidecarctl`) with secrets it must hold:
NATS passwords in every URL of a list, NATS_PASSWORD(_FILE), NATS_TOKEN(_FILE), the API token
(SIDECAR_API_TOKEN and _FILE), against real nats-servers that require them (and one that refuses
them), logs at `trace`. It then drives every output: every GET operation of /openapi.json, /info,
/metrics, /ready, refused and accepted config writes, `sidecarctl` over the socket and HTTP with a
wrong token, `--help`, a configuration error, shutdown. Everything printed (stdout, stderr) and
served (status line, headers, bodies) is collected and searched for each secret, verbatim and
URL-encoded. A scenario also checks it exercised what it meant to (ready, 401, 200), so a run that
never reached the code paths cannot pass.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_dir() -> Path:
    d = os.environ.get("SIDECAR_BIN_DIR")
    if not d:
        pytest.skip("SIDECAR_BIN_DIR is not set (make test sets it to `swift build --show-bin-path`)")
    path = Path(d)
    for binary in ("realtime-sidecar", "sidecarctl"):
        if not (path / binary).exists():
            pytest.fail(f"{path / binary} missing: run `swift build`")
    return path


def nats_server_path():
    for c in [shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/local/bin/nats-server"]:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail("nats-server not found (scripts/install-deps installs it)")


def forms(secret: str) -> list[str]:
    return sorted({secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)})


class Outputs:
    """Everything the processes printed and served, searched for secrets at the end."""

    def __init__(self):
        self.parts: list[tuple[str, str]] = []

    def add(self, where: str, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.parts.append((where, text))

    def assert_free_of(self, secrets: list[str]):
        assert self.parts, "nothing was collected"
        leaks = []
        for where, text in self.parts:
            for secret in secrets:
                for form in forms(secret):
                    if form in text:
                        at = text.index(form)
                        leaks.append(f"{where}: …{text[max(0, at - 80):at + len(form) + 20]}…")
        assert not leaks, "secrets in the output:\n" + "\n".join(leaks)


def http(outputs: Outputs, method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, head, payload = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, head, payload = e.code, dict(e.headers), e.read()
    outputs.add(f"{method} {urllib.parse.urlsplit(url).path} → {status}", f"{status} {json.dumps(head)}\n{payload.decode('utf-8', 'replace')}")
    return status, payload


class NATSServer:
    def __init__(self, work: Path, *auth: str):
        self.port = free_port()
        self.log = work / f"nats-{self.port}.log"
        self.process = subprocess.Popen([nats_server_path(), "-a", "127.0.0.1", "-p", str(self.port), *auth],
                                        stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start: " + self.log.read_text())

    def stop(self):
        self.process.kill()
        self.process.wait()


class Sidecar:
    def __init__(self, work: Path, outputs: Outputs, env: dict):
        self.outputs = outputs
        self.http_port, self.admin_port = free_port(), free_port()
        self.socket_path = str(work / f"sidecar-{self.http_port}.sock")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "SIDECAR_", "HTTP_", "CONFIG_", "ADMIN_"))}
        base.update(HTTP_HOST="127.0.0.1", HTTP_PORT=str(self.http_port), ADMIN_HTTP_PORT=str(self.admin_port),
                    SIDECAR_SOCKET_PATH=self.socket_path, CONFIG_STORE="memory", LOG_LEVEL="trace",
                    HEARTBEAT_INTERVAL_SECONDS="1", DEPTH_SNAPSHOT_URL_SPOT="off", DEPTH_SNAPSHOT_URL_USDM="off")
        base.update(env)
        self.env = base
        self.log = work / f"sidecar-{self.http_port}.log"
        self.process = subprocess.Popen([str(bin_dir() / "realtime-sidecar")], env=base,
                                        stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.process.poll() is None, "sidecar exited at start:\n" + self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail("sidecar did not serve HTTP within 30 s:\n" + self.log.read_text()[-3000:])

    def ready(self, timeout=30) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=2) as r:
                    if r.status == 200:
                        return True
            except urllib.error.HTTPError:
                pass
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def ctl(self, *args, env=None):
        out = subprocess.run([str(bin_dir() / "sidecarctl"), *args], capture_output=True, text=True, timeout=60,
                             env={**os.environ, **(env or {})})
        self.outputs.add(f"sidecarctl {' '.join(args[:3])} (exit {out.returncode})", out.stdout + out.stderr)
        return out

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.outputs.add(f"sidecar log {self.log.name}", self.log.read_text())


def get_every_operation(sidecar: Sidecar, outputs: Outputs) -> int:
    """GETs every parameterless-or-fillable GET path of /openapi.json; returns how many answered 2xx."""
    status, body = http(outputs, "GET", sidecar.base + "/openapi.json")
    assert status == 200
    fill = {"strategy_id": "orderbook_skew", "symbol": "BTCUSDT", "venue": "spot"}
    ok = 0
    for path, operations in json.loads(body)["paths"].items():
        if "get" not in operations:
            continue
        concrete = path
        for name, value in fill.items():
            concrete = concrete.replace("{" + name + "}", value)
        if "{" in concrete:
            continue
        for base in (sidecar.base, sidecar.admin):
            status, _ = http(outputs, "GET", base + concrete)
            ok += 200 <= status < 300
    return ok


@pytest.fixture()
def work():
    path = Path(tempfile.mkdtemp(prefix="secret-leak-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_url_passwords_and_api_token_never_leak(work):
    outputs = Outputs()
    url_password, api_token = "Url-Pa55-7fq2Kx", "api-T0ken-Zr81wq"
    server = NATSServer(work, "--user", "leakuser", "--pass", url_password)
    dead = free_port()
    nats_url = f"nats://leakuser:{url_password}@127.0.0.1:{server.port},nats://leakuser:{url_password}@127.0.0.1:{dead}"
    sidecar = Sidecar(work, outputs, {"NATS_URL": nats_url, "SIDECAR_API_TOKEN": api_token})
    try:
        assert sidecar.ready(), "the sidecar never became ready: the NATS password path was not exercised"
        assert get_every_operation(sidecar, outputs) >= 20
        http(outputs, "GET", sidecar.base + "/metrics")
        write = {"parameters": {"min_total_volume": 5}, "changed_by": "leak-test", "reason": "r"}
        path = "/api/v1/strategies/orderbook_skew/config/BTCUSDT"
        assert http(outputs, "POST", sidecar.base + path, write)[0] == 401
        assert http(outputs, "POST", sidecar.base + path, write, token="wrong-token")[0] == 401
        assert http(outputs, "POST", sidecar.base + path, write, token=api_token[:-1])[0] == 401
        assert http(outputs, "POST", sidecar.base + path, write, token=api_token)[0] == 200
        assert http(outputs, "POST", sidecar.admin + path, write)[0] == 200
        assert sidecar.ctl("stats", "--socket", sidecar.socket_path).returncode == 0
        assert sidecar.ctl("health", "--socket", sidecar.socket_path).returncode == 0
        sidecar.ctl("config", "get", "orderbook_skew", "--url", sidecar.base)
        wrong = sidecar.ctl("config", "set", "orderbook_skew", "min_total_volume=6", "--reason", "x",
                            "--url", sidecar.base, "--token", "not-" + api_token[::-1])
        assert wrong.returncode != 0
        # The NATS server goes away and comes back: reconnect logs name the URLs.
        server.stop()
        time.sleep(2)
        server = NATSServer.__new__(NATSServer)
        server.port, server.log = int(nats_url.split(":")[3].split(",")[0]), work / "nats-again.log"
        server.process = subprocess.Popen([nats_server_path(), "-a", "127.0.0.1", "-p", str(server.port), "--user", "leakuser",
                                           "--pass", url_password], stdout=open(server.log, "w"), stderr=subprocess.STDOUT)
        assert sidecar.ready(), "did not reconnect"
        http(outputs, "GET", sidecar.base + "/info")
    finally:
        sidecar.stop()
        server.stop()
    outputs.assert_free_of([url_password, api_token])


def test_nats_credentials_from_variables_and_files_never_leak(work):
    outputs = Outputs()
    password, token, file_token = "Pw-var-9Qz7Lm", "tok-var-4Hs8Jd", "api-file-Tk3Vn6"
    (work / "api-token").write_text(file_token + "\n")
    (work / "nats-password").write_text(password + "\n")
    user_server = NATSServer(work, "--user", "svc", "--pass", password)
    token_server = NATSServer(work, "--auth", token)
    sidecars = []
    try:
        # User and password from a file; API token from a file.
        a = Sidecar(work, outputs, {"NATS_URL": f"nats://127.0.0.1:{user_server.port}", "NATS_USER": "svc",
                                    "NATS_PASSWORD_FILE": str(work / "nats-password"),
                                    "SIDECAR_API_TOKEN_FILE": str(work / "api-token")})
        sidecars.append(a)
        assert a.ready(), "NATS_USER + NATS_PASSWORD_FILE did not connect"
        get_every_operation(a, outputs)
        assert http(outputs, "POST", a.base + "/api/v1/strategies/orderbook_skew/config",
                    {"parameters": {"min_total_volume": 5}, "changed_by": "t"}, token="x" + file_token)[0] == 401
        # A token from the environment.
        b = Sidecar(work, outputs, {"NATS_URL": f"nats://127.0.0.1:{token_server.port}", "NATS_TOKEN": token})
        sidecars.append(b)
        assert b.ready(), "NATS_TOKEN did not connect"
        http(outputs, "GET", b.base + "/info")
        # Wrong credentials: not ready, a clear error, and still no secret in it.
        c = Sidecar(work, outputs, {"NATS_URL": f"nats://127.0.0.1:{user_server.port}", "NATS_USER": "svc",
                                    "NATS_PASSWORD": password[::-1]})
        sidecars.append(c)
        assert not c.ready(timeout=5)
        status, body = http(outputs, "GET", c.base + "/ready")
        assert status == 503
        d = Sidecar(work, outputs, {"NATS_URL": f"nats://127.0.0.1:{token_server.port}", "NATS_TOKEN": token + "x"})
        sidecars.append(d)
        assert not d.ready(timeout=5)
        http(outputs, "GET", d.base + "/ready")
    finally:
        for s in sidecars:
            s.stop()
        user_server.stop()
        token_server.stop()
    outputs.assert_free_of([password, token, file_token, password[::-1], token + "x"])


def test_help_and_configuration_errors_never_print_secrets(work):
    outputs = Outputs()
    password, token = "Pw-help-2Wc5Rt", "api-help-8Yb1Nx"
    env = {**os.environ, "NATS_URL": f"nats://u:{password}@127.0.0.1:4222", "SIDECAR_API_TOKEN": token,
           "NATS_PASSWORD": password}
    help_out = subprocess.run([str(bin_dir() / "realtime-sidecar"), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert help_out.returncode == 0 and "NATS_PASSWORD" in help_out.stdout
    outputs.add("realtime-sidecar --help", help_out.stdout + help_out.stderr)
    # NATS_PASSWORD without NATS_USER is a configuration error that must name the variable only.
    bad = subprocess.run([str(bin_dir() / "realtime-sidecar")], capture_output=True, text=True, timeout=60,
                         env={**env, "HTTP_PORT": str(free_port()), "SIDECAR_SOCKET_PATH": "", "CONFIG_STORE": "memory"})
    assert bad.returncode != 0 and "NATS_PASSWORD" in bad.stdout + bad.stderr
    outputs.add("realtime-sidecar with a bad configuration", bad.stdout + bad.stderr)
    # A token file that cannot be read: named, and nothing else.
    missing = subprocess.run([str(bin_dir() / "realtime-sidecar")], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "SIDECAR_API_TOKEN_FILE": str(work / "absent"), "HTTP_PORT": str(free_port()),
                                  "SIDECAR_SOCKET_PATH": "", "CONFIG_STORE": "memory", "NATS_URL": f"nats://u:{password}@127.0.0.1:1"})
    assert missing.returncode != 0 and "SIDECAR_API_TOKEN_FILE" in missing.stdout + missing.stderr
    outputs.add("realtime-sidecar with an unreadable token file", missing.stdout + missing.stderr)
    ctl_help = subprocess.run([str(bin_dir() / "sidecarctl"), "config", "--help"], capture_output=True, text=True, env=env, timeout=60)
    outputs.add("sidecarctl config --help", ctl_help.stdout + ctl_help.stderr)
    outputs.assert_free_of([password, token])


def test_the_search_finds_a_planted_secret():
    outputs = Outputs()
    outputs.add("planted", "connected to nats://u:s%40cret@host")
    with pytest.raises(AssertionError):
        outputs.assert_free_of(["s@cret"])
