"""The real binaries fed with real Binance recordings labelled the way the real upstream labels them.

For each replay in ../shared/binance-real/replay: relabel it with scripts/relabel-upstream
(every depthUpdate -> `<sym>@depth20@100ms`, every spot partial book -> `<FIRST>@depth20@100ms`,
spot bookTicker dropped, klines `<sym>@kline`), run `realtime-sidecar` against a real
nats-server, publish the lines at a fixed rate (a plain NATS client in this file, like
`sidecarctl replay`, so that the test knows exactly how far it has published) and poll the
per-symbol depth endpoint as fast as possible while it runs. A loopback HTTP server stands in
for Binance's REST depth endpoint and answers the book as of the replay's position: the
independent rebuild of that symbol after the last diff already published (up to `limit` levels;
the capture's recorded snapshot until the rebuild has bridged it), so that a snapshot the
sidecar asks for late is as recent as Binance's would be (BOOK_INTEGRITY_SNAPSHOTS=recorded
serves the recorded snapshot every time instead). Few answers may then be shallower than the
rebuild (at most 5 % per replay), and some book must have used a snapshot.

Every answer must be a book of that very (venue, symbol): at its `last_update_id` the independent rebuild (scripts/book_rebuild.py, on the TRUE-labelled replay)
must have the same best bid/ask and no more levels (fewer only while a book synced from a
partial book waits for a REST snapshot to deepen it); when that id is not in the rebuild, the mid
must be within 2 % of the symbol's own last trade price. That rules out another symbol's book
(the upstream's `<FIRST>` label) and a diff served as a book. After the replay drains, the
stats must add up (received == processed + rejected).

Binaries come from SIDECAR_BIN_DIR (default .build/debug); nats-server from PATH. Rates: the
relabelled replays have 13,317 / 11,378 / 11,704 / 7,644 lines (spot bookTicker is dropped by
the relabelling, so the 37k-line ETHUSDT replay shrinks to 13k), so 2000 lines/s keeps each under
7 s with the whole file published; no prefix is cut.
"""
import bisect
import collections
import gzip
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from integrity_common import REPLAYS, ROOT, SCRIPTS, replay_path, require_shared

RATE = 2000                 # messages/s published (largest relabelled file: 13,317 lines)
# What the loopback REST depth endpoint answers: "replay" (default) the independent rebuild's book
# after the last diff already published, "recorded" the capture's recorded snapshot every time.
SNAPSHOTS = os.environ.get("BOOK_INTEGRITY_SNAPSHOTS", "replay")
MAX_SHALLOW_SHARE = 0.05    # of the answers checked against the rebuild, per replay (SNAPSHOTS=replay)
SUBJECT = "binance.websocket.data"
MID_TOLERANCE = 0.02        # fallback check: mid within 2 % of the symbol's last trade price
NEW_FIELDS = {"book_source": str, "synced": bool, "last_update_id": int, "event_time": int, "age_ms": int,
              "stale": bool}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_dir():
    d = os.environ.get("SIDECAR_BIN_DIR")
    return Path(d) if d else ROOT / ".build" / "debug"


def nats_server_path():
    for c in [shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/local/bin/nats-server"]:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail("nats-server not found (scripts/install-deps installs it)")


def sidecar_binary():
    sidecar = bin_dir() / "realtime-sidecar"
    if not sidecar.exists():
        pytest.fail(f"{sidecar} missing: set SIDECAR_BIN_DIR or run `swift build`")
    return sidecar


def get_json(conn_holder, port, path):
    """GET on a kept-alive connection (reopened on error). Returns (status, parsed body or None)."""
    for attempt in range(2):
        conn = conn_holder.get("c")
        if conn is None:
            conn = conn_holder["c"] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            try:
                return r.status, json.loads(body)
            except ValueError:
                return r.status, None
        except (OSError, http.client.HTTPException):
            conn.close()
            conn_holder["c"] = None
            if attempt:
                raise


def iso_ms(text):
    """`2021-04-05T18:36:37.616Z` -> epoch ms (None if it does not parse)."""
    from datetime import datetime, timezone
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def nats_url():
    require_shared()
    work = Path(tempfile.mkdtemp(prefix="bi-nats-"))
    port = free_port()
    proc = subprocess.Popen([nats_server_path(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(work / "js")],
                            stdout=open(work / "nats.log", "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("nats-server exited: " + (work / "nats.log").read_text()[-2000:])
                time.sleep(0.05)
        else:
            pytest.fail("nats-server did not listen within 15 s")
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(work, ignore_errors=True)


class Publisher(threading.Thread):
    """Publishes a replay to NATS (plain client protocol: CONNECT, PUB, PING/PONG), one line per
    message at `rate` lines/s, as `sidecarctl replay` does. `sent` is the number of lines already
    handed to the connection: the snapshot server's "replay position"."""

    def __init__(self, url, path, rate, subject=SUBJECT):
        super().__init__(daemon=True)
        parsed = urllib.parse.urlsplit(url)
        self.addr = (parsed.hostname, parsed.port or 4222)
        with gzip.open(path, "rb") as f:
            self.lines = [line.rstrip(b"\r\n") for line in f if line.strip()]
        self.rate, self.subject = rate, subject.encode()
        self.sent = 0
        self.error = None
        self.seconds = None
        self._lock = threading.Lock()
        self._pong = threading.Event()
        self._errors = []

    def _send(self, sock, data):
        with self._lock:
            sock.sendall(data)

    def _read(self, sock, f):
        for line in f:
            if line.startswith(b"PING"):
                self._send(sock, b"PONG\r\n")
            elif line.startswith(b"PONG"):
                self._pong.set()
            elif line.startswith(b"-ERR"):
                self._errors.append(line.decode(errors="replace").strip())

    def run(self):
        try:
            with socket.create_connection(self.addr, timeout=10) as sock:
                f = sock.makefile("rb")
                info = f.readline()
                if not info.startswith(b"INFO"):
                    raise RuntimeError(f"no INFO from nats-server: {info[:200]!r}")
                sock.settimeout(None)
                self._send(sock, b'CONNECT {"verbose":false,"pedantic":false,"lang":"python","version":"0",'
                                 b'"protocol":1}\r\n')
                threading.Thread(target=self._read, args=(sock, f), daemon=True).start()
                started = time.monotonic()
                for i, payload in enumerate(self.lines):
                    delay = started + i / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    self._send(sock, b"PUB %s %d\r\n%s\r\n" % (self.subject, len(payload), payload))
                    self.sent = i + 1
                self._send(sock, b"PING\r\n")          # the PONG: nats-server has processed every PUB
                if not self._pong.wait(30):
                    raise RuntimeError("no PONG from nats-server within 30 s after the last PUB")
                self.seconds = time.monotonic() - started
                if self._errors:
                    raise RuntimeError(f"nats-server: {self._errors[:3]}")
        except Exception as err:  # noqa: BLE001 - reported by the test
            self.error = repr(err)


_STREAM_PREFIX = re.compile(rb'^\s*\{\s*"stream"\s*:\s*"(?:[^"\\]|\\.)*"')


def true_line_indices(true_replay, relabelled):
    """For each line of the relabelled file, the index of the true-labelled line it came from
    (as `enumerate(book_rebuild.read_replay(true_replay))`). relabel-upstream keeps lines in order,
    drops some and rewrites only the leading `stream` value, so the rest of a line is unchanged."""
    def rest(line):
        m = _STREAM_PREFIX.match(line)
        return line[m.end():] if m else line

    with gzip.open(true_replay, "rb") as f:
        true_lines = [rest(line.rstrip(b"\r\n")) for line in f if line.strip()]
    out, j = [], 0
    with gzip.open(relabelled, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            key = rest(line.rstrip(b"\r\n"))
            while j < len(true_lines) and true_lines[j] != key:
                j += 1
            assert j < len(true_lines), f"relabelled line {len(out) + 1} not found in {true_replay}"
            out.append(j)
            j += 1
    return out


class SnapshotServer:
    """Loopback stand-in for Binance REST depth (`/api/v3/depth`, `/fapi/v1/depth`, `?symbol=X&limit=N`).

    mode "recorded": the capture's recorded answer, byte for byte, whatever the time.
    mode "replay": the book as of the replay's position: the independent rebuild
    (book_rebuild.BookCursor) of that symbol after the most recent diff the publisher has
    already handed to NATS, at most `limit` levels a side (max 1000); before the rebuild has
    bridged the recorded snapshot, the recorded answer."""

    def __init__(self, texts, mode="recorded", true_replay=None, publisher=None, line_map=None):
        self.texts = texts            # {(venue, SYMBOL): json text}
        self.mode = mode
        self.publisher, self.line_map = publisher, line_map
        self.cursors = {}             # built now: the first request must not wait for a rebuild
        if mode == "replay":
            import book_rebuild as br
            self.cursors = {k: br.BookCursor(str(true_replay), *k) for k in texts}
        self.sidecar_port = None      # set once the sidecar runs: requests note its book's id then
        self.requests = []            # (monotonic time, path, symbol, limit, status, served)
        self.lock = threading.Lock()
        outer = self

        def rebuilt(venue, symbol, limit):
            """(JSON text, description) of the rebuilt book at the publisher's position, or None."""
            sent = outer.publisher.sent
            if sent == 0:
                return None
            line = outer.line_map[sent - 1]
            cursor = outer.cursors.get((venue, symbol))
            if cursor is None:
                return None
            answer = cursor.answer(line, limit)
            return None if answer is None else (json.dumps(answer, separators=(",", ":")),
                                                f"rebuild@u={answer['lastUpdateId']},sent={sent}")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(url.query)
                symbol = (q.get("symbol") or [""])[0].upper()
                limit = (q.get("limit") or [""])[0]
                try:
                    levels = min(1000, max(1, int(limit))) if limit else 100
                except ValueError:
                    levels = 100
                venue = {"/api/v3/depth": "spot", "/fapi/v1/depth": "usdm"}.get(url.path)
                text = outer.texts.get((venue, symbol)) if venue else None
                served = "recorded" if text is not None else "-"
                if venue and outer.mode == "replay":
                    with outer.lock:
                        got = rebuilt(venue, symbol, levels)
                    if got is not None:
                        text, served = got
                status = 200 if text is not None else 404
                body = (text if text is not None else '{"code":-1121,"msg":"Invalid symbol."}').encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if outer.sidecar_port and venue:
                    try:               # diagnostics: the id of the book the sidecar serves just after
                        _, book = get_json({}, outer.sidecar_port, f"/api/v1/metrics/depth/{symbol}?venue={venue}")
                        served += f",sidecar_u_after={book.get('last_update_id')}"
                    except Exception:  # noqa: BLE001 - diagnostics only
                        pass
                with outer.lock:
                    outer.requests.append((time.monotonic(), url.path, symbol, limit, status, served))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class Sidecar:
    def __init__(self, binary, nats_url, snapshot_port, work):
        self.work = work
        self.port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NATS_", "SIDECAR_", "HTTP_", "CONFIG_", "DEPTH_", "BOOK_", "SYMBOL_"))}
        env.update(NATS_URL=nats_url, HTTP_PORT=str(self.port), HTTP_HOST="127.0.0.1", ADMIN_HTTP_PORT="0",
                   SIDECAR_SOCKET_PATH=str(work / "s.sock"), CONFIG_STORE="memory",
                   DEPTH_SNAPSHOT_URL_SPOT=f"http://127.0.0.1:{snapshot_port}/api/v3/depth",
                   DEPTH_SNAPSHOT_URL_USDM=f"http://127.0.0.1:{snapshot_port}/fapi/v1/depth",
                   BOOK_STALE_MS="600000000000", SYMBOL_TTL_SECONDS="100000000",
                   LOG_LEVEL="warning", HEARTBEAT_ENABLED="false")
        self.log_path = work / "sidecar.log"
        self.proc = subprocess.Popen([str(binary)], env=env, stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT)

    def log_tail(self, n=3000):
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_ready(self, timeout=60):
        holder = {}
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"realtime-sidecar exited {self.proc.returncode} before ready:\n{self.log_tail()}")
            try:
                if get_json(holder, self.port, "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail("realtime-sidecar not ready within 60 s:\n" + self.log_tail())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Poller(threading.Thread):
    """GETs every symbol's depth answer in a loop, as fast as one connection allows."""

    def __init__(self, port, keys):
        super().__init__(daemon=True)
        self.port, self.keys = port, keys
        self.stop_event = threading.Event()
        self.answers = []             # (venue, symbol, status, body)
        self.errors = []

    def poll_once(self, holder):
        for venue, symbol in self.keys:
            status, body = get_json(holder, self.port, f"/api/v1/metrics/depth/{symbol}?venue={venue}")
            self.answers.append((venue, symbol, status, body))

    def run(self):
        holder = {}
        while not self.stop_event.is_set():
            try:
                self.poll_once(holder)
            except Exception as err:  # noqa: BLE001 - kept and reported by the test
                self.errors.append(repr(err))
                time.sleep(0.01)


# ---------------------------------------------------------------- checks

class Checker:
    def __init__(self, true_replay, keys):
        import book_rebuild as br
        self.br = br
        self.path = str(true_replay)
        self.books = {k: br.book_by_u(self.path, *k) for k in keys}
        self.tickers = {}                           # (SYMBOL, u) -> (best bid, best ask) of bookTicker frames
        for env in br.read_replay(self.path):
            d = env.get("data")
            if isinstance(d, dict) and "@bookTicker" in env.get("stream", "") and "u" in d:
                self.tickers[(d["s"].upper(), d["u"])] = (float(d["b"]), float(d["a"]))
        trades = br.trade_prices(self.path)
        self.trades = {s: sorted(v) for s, v in trades.items()}
        self.trade_times = {s: [t for t, _ in v] for s, v in self.trades.items()}
        self.failures = collections.defaultdict(list)
        self.counts = collections.Counter()          # (book_source, mode)
        self.statuses = collections.Counter()

    def fail(self, kind, detail):
        self.failures[kind].append(detail)

    def dump(self, name):
        """BOOK_INTEGRITY_DUMP=DIR writes every failure of a replay to DIR/<replay>.failures.json."""
        d = os.environ.get("BOOK_INTEGRITY_DUMP")
        if d and self.failures:
            Path(d).mkdir(parents=True, exist_ok=True)
            (Path(d) / f"{name}.failures.json").write_text(json.dumps(self.failures, indent=1, default=str))

    def last_trade(self, symbol, event_time):
        times = self.trade_times.get(symbol)
        if not times:
            return None
        i = bisect.bisect_right(times, event_time) - 1
        return self.trades[symbol][max(i, 0)][1]    # before the first trade: the first trade

    def check(self, venue, symbol, status, body):
        self.statuses[status] += 1
        if status == 404:
            return                                  # not tracked yet (or no book yet)
        if status != 200 or not isinstance(body, dict):
            self.fail("non-200/non-JSON answer", (venue, symbol, status, str(body)[:200]))
            return
        missing = [f for f, t in NEW_FIELDS.items()
                   if f not in body or not isinstance(body[f], t) or (t is int and isinstance(body[f], bool))]
        if missing:
            self.fail(f"missing or mistyped fields {missing}", (venue, symbol, {f: body.get(f) for f in missing}))
        if body.get("symbol") != symbol or body.get("venue") != venue:
            self.fail("wrong symbol/venue in answer", (venue, symbol, body.get("symbol"), body.get("venue")))
        spread, quality = body.get("spread") or {}, body.get("order_book_quality") or {}
        bid, ask, mid = spread.get("best_bid"), spread.get("best_ask"), spread.get("mid_price")
        nb, na = quality.get("bid_levels"), quality.get("ask_levels")
        source = body.get("book_source")
        if source not in ("local", "partial"):
            self.fail("book_source not local/partial", (venue, symbol, source))
        if not (isinstance(nb, int) and nb >= 1 and isinstance(na, int) and na >= 1):
            self.fail("(b) a side has no level", (venue, symbol, source, nb, na))
        uid = body.get("last_update_id")
        rebuilt = self.books[(venue, symbol)].get(uid) if isinstance(uid, int) else None
        if rebuilt is not None:
            # The best levels must be the rebuild's exactly. A book synced from a partial book
            # (20 levels) knows fewer after a removal until a REST snapshot deepens it
            # (docs/BOOKS.md): fewer levels than the rebuild are allowed, never more.
            shallow = (nb, na) != rebuilt[2:]
            self.counts[(source, "exact-shallow" if shallow else "exact")] += 1
            if (bid, ask) != rebuilt[:2] or not (isinstance(nb, int) and isinstance(na, int)
                                                  and 1 <= nb <= rebuilt[2] and 1 <= na <= rebuilt[3]):
                self.fail("(a) differs from the rebuild at last_update_id",
                          (venue, symbol, source, uid, "got", (bid, ask, nb, na), "rebuild", rebuilt))
            return
        ticker = self.tickers.get((symbol, uid)) if isinstance(uid, int) else None
        if ticker is not None:
            # A book refreshed by a (futures) bookTicker carries that frame's update id: its top
            # must be the bookTicker's bid/ask exactly.
            self.counts[(source, "bookTicker")] += 1
            if (bid, ask) != ticker:
                self.fail("(a) differs from the bookTicker at last_update_id",
                          (venue, symbol, source, uid, "got", (bid, ask), "bookTicker", ticker))
            return
        event_time = body.get("event_time")
        mode = "fallback"
        if not isinstance(event_time, int) and isinstance(body.get("timestamp"), str):
            # Without the new field, the existing `timestamp` (event time, ISO-8601 ms) still
            # allows the 2 % price check, so the report says which book was served.
            event_time, mode = iso_ms(body["timestamp"]), "fallback(timestamp)"
        self.counts[(source, mode)] += 1
        price = self.last_trade(symbol, event_time) if isinstance(event_time, int) else None
        if price is None or not isinstance(mid, (int, float)):
            self.fail("(a) id not in rebuild and no trade price/mid to compare",
                      (venue, symbol, source, uid, event_time, mid))
        elif abs(mid - price) > MID_TOLERANCE * price:
            self.fail("(a) id not in rebuild and mid not within 2 % of the symbol's last trade",
                      (venue, symbol, source, uid, event_time, "mid", mid, "trade", price))

    def report(self):
        lines = [f"  answers by HTTP status: {dict(self.statuses)}",
                 "  checked: " + ", ".join(f"{src}/{mode}: {n}" for (src, mode), n in sorted(
                     self.counts.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])))]
        for kind, items in self.failures.items():
            lines.append(f"  FAIL {kind}: {len(items)}, e.g. {items[:3]}")
        return "\n".join(lines)


# ---------------------------------------------------------------- the test

@pytest.mark.parametrize("name", REPLAYS)
def test_real_labels_serve_only_that_symbols_book(name, nats_url):
    require_shared()
    import book_rebuild as br

    sidecar_bin = sidecar_binary()
    true_replay = replay_path(name)
    keys = sorted(k for k, r in br.reports(str(true_replay)).items() if r.applied)
    checker = Checker(true_replay, keys)
    texts = br.snapshot_texts(str(true_replay))
    work = Path(tempfile.mkdtemp(prefix="bi-"))     # short: the Unix socket path must fit 108 bytes
    sidecar = None
    try:
        relabelled = work / f"{name}.upstream.jsonl.gz"
        r = subprocess.run([sys.executable, str(SCRIPTS / "relabel-upstream"), str(true_replay), str(relabelled)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        print(f"\n{name}: {r.stderr.strip()}")
        publisher = Publisher(nats_url, relabelled, RATE)
        published = len(publisher.lines)
        line_map = true_line_indices(true_replay, relabelled) if SNAPSHOTS == "replay" else None

        with SnapshotServer(texts, SNAPSHOTS, true_replay, publisher, line_map) as snapshots:
            sidecar = Sidecar(sidecar_bin, nats_url, snapshots.port, work)
            sidecar.wait_ready()
            snapshots.sidecar_port = sidecar.port
            poller = Poller(sidecar.port, keys)
            poller.start()
            publisher.start()
            publisher.join(120)
            assert not publisher.is_alive(), "the publisher did not finish within 120 s"
            assert publisher.error is None, f"publishing failed after {publisher.sent} lines: {publisher.error}"
            replay_seconds = publisher.seconds

            holder = {}
            stats, last, received, stable_since = None, None, None, time.monotonic()
            deadline = time.time() + 60
            while time.time() < deadline:
                status, stats = get_json(holder, sidecar.port, "/api/v1/stats")
                messages = stats.get("messages") if status == 200 and isinstance(stats, dict) else None
                received = messages.get("received") if isinstance(messages, dict) else None
                if received == published and messages == last:
                    if time.monotonic() - stable_since >= 1.0:
                        break
                else:
                    stable_since = time.monotonic()
                last = messages
                time.sleep(0.1)
            else:
                pytest.fail(f"the sidecar did not drain: received {received} of {published}; stats {stats}")
            poller.stop_event.set()
            poller.join(15)
            during = len(poller.answers)
            final_answers = []
            for venue, symbol in keys:                 # one more round on the drained state
                status, body = get_json(holder, sidecar.port, f"/api/v1/metrics/depth/{symbol}?venue={venue}")
                final_answers.append((venue, symbol, status, body))
            requests = list(snapshots.requests)

        for answer in poller.answers + final_answers:
            checker.check(*answer)
        # Drained: every symbol has a book, at the last diff's update id (its derived partial, if
        # any, carries the same id, and BOOK_STALE_MS/SYMBOL_TTL_SECONDS keep it served).
        for venue, symbol, status, body in final_answers:
            last_u = max(checker.books[(venue, symbol)])
            if status != 200:
                checker.fail("no book after the drain", (venue, symbol, status))
            elif not isinstance(body.get("last_update_id"), int) or body["last_update_id"] < last_u:
                # >=: a later futures bookTicker may refresh the top after the last diff.
                checker.fail("book after the drain behind the last diff",
                             (venue, symbol, body.get("book_source"), body.get("last_update_id"), "want", last_u))

        m = stats["messages"]
        print(f"{name}: published {published} lines in {replay_seconds:.1f} s at {RATE}/s; "
              f"{during} depth answers polled during the replay, {len(final_answers)} after it; "
              f"poller errors {len(poller.errors)} {poller.errors[:2]}")
        print(checker.report())
        checker.dump(name)
        print(f"  snapshot requests ({len(requests)}, SNAPSHOTS={SNAPSHOTS}): "
              + ", ".join(f"{p}?symbol={s}&limit={lim}->{st} {served}" for _, p, s, lim, st, served in requests[:20]))
        exact = sum(n for (_, mode), n in checker.counts.items() if mode in ("exact", "exact-shallow"))
        shallow = sum(n for (_, mode), n in checker.counts.items() if mode == "exact-shallow")
        shallow_share = shallow / exact if exact else 0.0
        books = stats.get("books") or {}
        from_snapshot = (books.get("deepened_from_snapshot") or 0) + ((books.get("synced_from") or {}).get("snapshot") or 0)
        print(f"  exact-shallow: {shallow} of {exact} answers checked against the rebuild ({100 * shallow_share:.2f} %); "
              f"deepened_from_snapshot + synced_from.snapshot = {from_snapshot}")
        print(f"  messages: received {m['received']} processed {m['processed']} rejected {m['rejected']}")
        print(f"  rejected_by_reason: {m.get('rejected_by_reason')}")
        print(f"  by_kind: {m.get('by_kind')}  symbol_mismatches: {m.get('symbol_mismatches')}")
        print(f"  books: {json.dumps(stats.get('books'))}")

        problems = []
        if poller.errors:
            problems.append(f"HTTP errors while polling: {poller.errors[:5]}")
        if m["received"] != published:
            problems.append(f"received {m['received']} != published {published}")
        if m["received"] != m["processed"] + m["rejected"]:
            problems.append(f"received {m['received']} != processed {m['processed']} + rejected {m['rejected']}")
        if "books" not in stats:
            problems.append("the stats have no `books` object")
        if not sum(checker.counts.values()):
            problems.append("no depth answer was checked")
        if checker.failures:
            problems.append("depth answers:\n" + checker.report())
        if SNAPSHOTS == "replay" and shallow_share > MAX_SHALLOW_SHARE:
            problems.append(f"{shallow} of {exact} answers ({100 * shallow_share:.2f} %) were shallower than the rebuild "
                            f"(bound {100 * MAX_SHALLOW_SHARE:.0f} %): snapshots at the replay's position should deepen them")
        if keys and from_snapshot < 1:                 # keys: the symbols whose diffs the rebuild applied
            problems.append(f"no book was deepened or synced from a REST snapshot (books: {books})")
        if sidecar.proc.poll() is not None:
            problems.append("the sidecar died:\n" + sidecar.log_tail())
        assert not problems, f"{name}:\n" + "\n".join(problems)
    finally:
        if sidecar is not None:
            if sidecar.proc.poll() is not None:
                print("sidecar log tail:\n" + sidecar.log_tail())
            sidecar.stop()
        shutil.rmtree(work, ignore_errors=True)
