"""Fixtures: a real nats-server (JetStream on, free loopback port) and real realtime-sidecar
processes (the SwiftPM debug build), each fed market data by the built `sidecarctl`.

Binaries: $SIDECAR_BIN_DIR, else `swift build --show-bin-path` (`make test` builds first).
Every process started here is stopped (SIGTERM, then SIGKILL) when its fixture ends.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package, when not installed

from realtime_sidecar_client import SidecarClient, SidecarClientError  # noqa: E402

REPO_ROOT = HERE.parents[2]
# The recording fed to the sidecars; $SIDECAR_TEST_REPLAY overrides it ("" feeds `sidecarctl simulate`).
_replay = os.environ.get("SIDECAR_TEST_REPLAY",
                         str(REPO_ROOT.parent / "shared" / "binance-real" / "replay" / "spot_10symbols_20210405.nats.jsonl.gz"))
REPLAY: Optional[Path] = Path(_replay) if _replay else None
# Without the recording: a synthetic market big enough for as many signals (> 2000).
SIMULATED_MESSAGES = 40_000
# The sidecar's signal log holds all the signals the tests make unless a test asks otherwise.
DEFAULT_LOG_CAPACITY = 500_000


def _bin_dir() -> Path:
    configured = os.environ.get("SIDECAR_BIN_DIR")
    if configured:
        return Path(configured)
    swift = os.environ.get("SWIFT", "swift")
    try:
        out = subprocess.run([swift, "build", "--show-bin-path"], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=120, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        pytest.fail(f"cannot find the Swift build: set SIDECAR_BIN_DIR or put swift on PATH ({e})")
    return Path(out.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def binaries() -> Dict[str, Path]:
    bin_dir = _bin_dir()
    found = {name: bin_dir / name for name in ("realtime-sidecar", "sidecarctl")}
    missing = [str(p) for p in found.values() if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (run `swift build` or `make test`)")
    return found


def _nats_server() -> str:
    for candidate in (shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/local/sbin/nats-server",
                      "/usr/bin/nats-server"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("nats-server not found (Debian package nats-server; scripts/install-deps installs it)")
    raise AssertionError  # unreachable


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


class Process:
    """A child process with its output in a log file; stop() is idempotent and bounded."""

    def __init__(self, name: str, args: List[str], log: Path, env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.log = log
        self._log_file = open(log, "ab")
        self.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT,
                                      env=env, start_new_session=True)

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10) -> Optional[int]:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log_file.close()
        return self.popen.returncode

    def tail(self) -> str:
        self._log_file.flush()
        return _tail(self.log)


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    # Short, under /tmp: Unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="rsc-py-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url(workdir: Path) -> Iterator[str]:
    port = _free_port()
    process = Process("nats-server", [_nats_server(), "-a", "127.0.0.1", "-p", str(port), "-js",
                                      "--store_dir", str(workdir / "jetstream")], workdir / "nats-server.log")
    try:
        deadline = time.monotonic() + 15
        while True:
            if not process.running():
                pytest.fail(f"nats-server exited early:\n{process.tail()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nats-server did not listen on {port} within 15 s:\n{process.tail()}")
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.stop()


class Sidecar:
    """A running realtime-sidecar consuming its own subject `md.<name>`."""

    def __init__(self, name: str, binaries: Dict[str, Path], nats_url: str, workdir: Path,
                 extra_env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.binaries = binaries
        self.nats_url = nats_url
        self.subject = f"md.{name}"
        self.socket_path = str(workdir / f"{name}.sock")
        env = dict(os.environ)
        env.update({
            "NATS_URL": nats_url,
            "NATS_CONSUMER_TOPIC": self.subject,
            "NATS_PUBLISHER_TOPIC": f"signals.{name}",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            # Several sidecars run at once: the admin listener's default port (8081) would clash.
            "ADMIN_HTTP_PORT": "0",
            "SIDECAR_SOCKET_PATH": self.socket_path,
            "CONFIG_STORE": "memory",
            "ORDERBOOK_SKEW_COOLDOWN_SECONDS": "0",
            "SIGNAL_LOG_CAPACITY": str(DEFAULT_LOG_CAPACITY),
            "LOG_LEVEL": "warning",
            # These feeds carry Binance's own stream names, and several synthetic markets with
            # the same symbols but unrelated update ids follow each other on one sidecar: trust
            # the labels (attribution by evidence is tested in tests/book-integrity).
            "BOOK_ATTRIBUTION": "label",
            # Never reach Binance from a test.
            "DEPTH_SNAPSHOT_URL_SPOT": "off",
            "DEPTH_SNAPSHOT_URL_USDM": "off",
        })
        env.update(extra_env or {})
        self.process = Process(name, [str(binaries["realtime-sidecar"])], workdir / f"{name}.log", env)
        self.fed = 0

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        last_error: Optional[BaseException] = None
        while time.monotonic() < deadline:
            if not self.process.running():
                pytest.fail(f"sidecar {self.name} exited ({self.process.popen.returncode}):\n{self.process.tail()}")
            if os.path.exists(self.socket_path):
                try:
                    with self.client(timeout=2) as client:
                        if client.health().ready:
                            return
                except (SidecarClientError, OSError) as e:
                    last_error = e
            time.sleep(0.05)
        pytest.fail(f"sidecar {self.name} not ready within {timeout} s ({last_error}):\n{self.process.tail()}")

    def wait_socket(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket_path):
            if not self.process.running():
                pytest.fail(f"sidecar {self.name} exited ({self.process.popen.returncode}):\n{self.process.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"sidecar {self.name} made no socket within {timeout} s:\n{self.process.tail()}")
            time.sleep(0.05)

    def client(self, **kwargs: object) -> SidecarClient:
        kwargs.setdefault("client_name", f"pytest/{self.name}")
        kwargs.setdefault("timeout", 10)
        return SidecarClient(self.socket_path, **kwargs)  # type: ignore[arg-type]

    def _ctl(self, args: List[str], timeout: float) -> str:
        result = subprocess.run([str(self.binaries["sidecarctl"]), *args, "--nats-url", self.nats_url,
                                 "--subject", self.subject, "--quiet"],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"sidecarctl {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def feed_replay(self, timeout: float = 120) -> int:
        """Publishes the shared 10-symbol recording; returns the message count."""
        assert REPLAY is not None
        out = self._ctl(["replay", str(REPLAY), "--max"], timeout)
        match = re.search(r"replayed (\d+) messages", out)
        assert match, out
        return self._fed(int(match.group(1)))

    def feed_simulated(self, count: int, seed: int = 42, timeout: float = 120) -> int:
        out = self._ctl(["simulate", "--count", str(count), "--seed", str(seed), "--speed", "1000000"], timeout)
        match = re.search(r"simulated (\d+) messages", out)
        assert match, out
        return self._fed(int(match.group(1)))

    def feed(self) -> int:
        """The recording when ../shared has it, else a synthetic market of the same size."""
        if REPLAY is not None and REPLAY.is_file():
            return self.feed_replay()
        print(f"SKIPPED replay: {REPLAY or 'no recording'} not found; feeding `sidecarctl simulate` instead")
        return self.feed_simulated(SIMULATED_MESSAGES)

    def _fed(self, count: int) -> int:
        self.fed += count
        return count

    def wait_processed(self, client: SidecarClient, timeout: float = 60) -> None:
        """Until every message fed so far was received by the sidecar."""
        deadline = time.monotonic() + timeout
        while True:
            stats = client.stats()
            if stats.messages_processed + stats.messages_rejected >= self.fed:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"sidecar {self.name} processed {stats.messages_processed} + rejected {stats.messages_rejected} of {self.fed} messages "
                            f"in {timeout} s:\n{self.process.tail()}")
            time.sleep(0.05)

    def stop(self) -> Optional[int]:
        return self.process.stop()


@pytest.fixture(scope="session")
def start_sidecar(binaries: Dict[str, Path], nats_url: str, workdir: Path):
    """Factory: start_sidecar(name, **env) → a ready Sidecar, stopped at the end of the session
    at the latest (tests may stop theirs earlier)."""
    started: List[Sidecar] = []

    def start(name: str, wait_ready: bool = True, **env: object) -> Sidecar:
        sidecar = Sidecar(name, binaries, nats_url, workdir, {k: str(v) for k, v in env.items()})
        started.append(sidecar)
        if wait_ready:
            sidecar.wait_ready()
        else:
            sidecar.wait_socket()
        return sidecar

    try:
        yield start
    finally:
        for sidecar in started:
            sidecar.stop()


@pytest.fixture(scope="session")
def sidecar(start_sidecar) -> Sidecar:
    """The shared sidecar, already fed the market data (recording, else synthetic)."""
    running = start_sidecar("main")
    running.feed()
    with running.client() as client:
        running.wait_processed(client)
    return running


@pytest.fixture
def client(sidecar: Sidecar) -> Iterator[SidecarClient]:
    with sidecar.client() as c:
        yield c
