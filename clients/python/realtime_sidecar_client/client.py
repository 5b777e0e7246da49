"""Blocking client for the realtime-sidecar Unix-socket protocol (proto/realtime/v1/sidecar.proto).

One ``SidecarClient`` is one connection. It may be shared between threads: whichever thread is
waiting reads the socket and hands every frame to its owner (a call's response by request id, a
pushed event to its subscription's queue), so a thread iterating a subscription and another
calling ``depth()`` both make progress on the same connection.
"""

from __future__ import annotations

import collections
import itertools
import select
import socket
import threading
import time
from typing import Callable, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from google.protobuf.message import DecodeError

from .errors import (
    ConnectionClosed,
    PermissionDenied,
    ProtocolError,
    SidecarClientError,
    SidecarError,
    SignalsLost,
    SocketMissing,
    Timeout,
    VersionMismatch,
    error_from_response,
)
from .framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encode_frame
from .realtime.v1 import sidecar_pb2 as pb

DEFAULT_SOCKET_PATH = "/var/run/realtime-sidecar/sidecar.sock"
PROTOCOL_VERSION = 1
#: The server's cap on signals per GetSignals page.
MAX_SIGNALS_PER_PAGE = 1000

# The response field that answers each request field.
_RESULT_OF = {
    "hello": "hello",
    "get_signals": "signals",
    "subscribe": "subscribed",
    "unsubscribe": "unsubscribed",
    "get_depth_metrics": "depth_metrics",
    "list_depth_metrics": "depth_metrics_page",
    "get_pressure_history": "pressure_history",
    "get_market_summary": "market_summary",
    "get_stats": "stats",
    "health": "health",
}
_PUSHES = frozenset(("signal_event", "depth_event", "gap"))

LostHandler = Callable[[SignalsLost], None]


def _strings(values: Iterable[str], what: str) -> List[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of strings, not a single string")
    return [str(v) for v in values]


class _PushQueue:
    """Pushed events of one subscription, in arrival order, bounded: beyond ``limit`` the oldest
    are dropped and folded into a Gap at the front (the subscription re-pulls it like a Gap from
    the server), so a subscription nobody iterates cannot grow the client without bound."""

    def __init__(self, subscription_id: int, stream: int, limit: int) -> None:
        self.subscription_id = subscription_id
        self.stream = stream
        self.limit = max(2, limit)
        self.items: Deque[pb.Response] = collections.deque()
        self.dropped = 0

    def append(self, response: pb.Response) -> None:
        self.items.append(response)
        if len(self.items) > self.limit:
            self._fold()

    def _fold(self) -> None:
        low: Optional[int] = None
        high: Optional[int] = None
        while self.items and (len(self.items) >= self.limit or self.items[0].WhichOneof("result") == "gap"):
            item = self.items.popleft()
            kind = item.WhichOneof("result")
            if kind == "gap":
                first, last = item.gap.from_seq, item.gap.to_seq
            else:
                first = last = item.signal_event.signal.seq if kind == "signal_event" else item.depth_event.seq
                self.dropped += 1
            low = first if low is None else min(low, first)
            high = last if high is None else max(high, last)
        if low is not None and high is not None:
            gap = pb.Response(id=self.subscription_id)
            gap.gap.subscription_id = self.subscription_id
            gap.gap.from_seq = low
            gap.gap.to_seq = high
            gap.gap.stream = self.stream
            self.items.appendleft(gap)


class SidecarClient:
    """A connection to the sidecar; sends ``Hello`` on connect.

    >>> with SidecarClient("/var/run/realtime-sidecar/sidecar.sock", client_name="engine/1.0") as sidecar:
    ...     for signal in sidecar.subscribe_signals(symbols=["BTCUSDT"]):
    ...         ...

    ``timeout`` (seconds) bounds connecting and every call; subscriptions wait for events as
    long as their caller asks. ``max_frame_bytes`` is the largest frame accepted from the
    server (a larger one is a ``ProtocolError`` and closes the connection).
    ``push_queue_limit`` bounds the events kept per subscription while nobody iterates it.

    Raises ``SocketMissing`` (no socket, or nobody listening), ``PermissionDenied`` (the OS or
    the sidecar refused this user), ``VersionMismatch`` (protocol version), ``Timeout``.
    """

    def __init__(self, path: str = DEFAULT_SOCKET_PATH, client_name: str = "python-client", timeout: float = 5.0,
                 *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, push_queue_limit: int = 65536,
                 protocol_version: int = PROTOCOL_VERSION) -> None:
        if timeout is None or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.path = path
        self.client_name = client_name
        self.timeout = float(timeout)
        self.push_queue_limit = push_queue_limit
        #: The server's ``HelloResult`` (version, capabilities, strategies, venues, ...).
        self.server: pb.HelloResult = pb.HelloResult()
        self._decoder = FrameDecoder(max_frame_bytes)
        self._cond = threading.Condition(threading.Lock())
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: Set[int] = set()
        self._responses: Dict[int, pb.Response] = {}
        self._pushes: Dict[int, _PushQueue] = {}
        self._reader_active = False
        self._failure: Optional[BaseException] = None
        # An Error with id 0 (peer refused, bad frame): raised instead of a bare "closed" at EOF.
        self._connection_error: Optional[SidecarError] = None
        self._send_limit = DEFAULT_MAX_FRAME_BYTES
        self._sock = self._connect(path)
        self._poller = select.poll()
        self._poller.register(self._sock.fileno(), select.POLLIN)
        try:
            self._hello(protocol_version)
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------------------------------
    # Connection

    def _connect(self, path: str) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(path)
        except FileNotFoundError as e:
            sock.close()
            raise SocketMissing(path, e.errno, "no such file (is the sidecar running? is SIDECAR_SOCKET_PATH the same?)") from None
        except ConnectionRefusedError as e:
            sock.close()
            raise SocketMissing(path, e.errno, "connection refused (a stale socket file, or not a socket)") from None
        except PermissionError as e:
            sock.close()
            raise PermissionDenied(pb.ERROR_CODE_PERMISSION_DENIED,
                                   f"connect({path}): {e.strerror} (check the socket file's mode and group)",
                                   {"path": path}, errno=e.errno) from None
        except socket.timeout:
            sock.close()
            raise Timeout(f"connect({path}) timed out after {self.timeout} s") from None
        except BaseException:
            sock.close()
            raise
        return sock

    def _hello(self, protocol_version: int) -> None:
        result = self._call("hello", pb.Hello(protocol_version=protocol_version, client_name=self.client_name))
        if result.protocol_version != protocol_version:
            raise VersionMismatch(pb.ERROR_CODE_UNSUPPORTED_VERSION,
                                  f"server speaks protocol {result.protocol_version}, this client {protocol_version}",
                                  {"supported": str(result.protocol_version), "requested": str(protocol_version)})
        self.server = result
        if result.max_frame_bytes:
            self._send_limit = result.max_frame_bytes

    @property
    def closed(self) -> bool:
        """True once the connection is unusable (closed by either side or failed)."""
        with self._cond:
            return self._failure is not None

    def close(self) -> None:
        """Closes the connection (idempotent). Calls and iterators waiting in other threads
        raise ``ConnectionClosed``."""
        with self._cond:
            if self._failure is None:
                self._failure = ConnectionClosed("client closed the connection")
            self._shutdown_locked()
            self._cond.notify_all()

    def __enter__(self) -> "SidecarClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _shutdown_locked(self) -> None:
        # shutdown() wakes a thread blocked in poll(); the descriptor is closed only when no
        # thread is reading it (else the reader closes it), so it is never reused under a reader.
        sock = getattr(self, "_sock", None)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if not self._reader_active:
            sock.close()

    def _fail_locked(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error
        self._shutdown_locked()
        self._cond.notify_all()

    # ----------------------------------------------------------------------------------------
    # I/O

    def _send(self, request: pb.Request) -> None:
        body = request.SerializeToString()
        if len(body) > self._send_limit:
            raise ValueError(f"request of {len(body)} bytes exceeds the server's max_frame_bytes {self._send_limit}")
        frame = encode_frame(body)
        with self._send_lock:
            with self._cond:
                if self._failure is not None:
                    raise self._failure
            try:
                self._sock.sendall(frame)
            except socket.timeout:
                # Part of the frame may be out: the stream cannot be used any more.
                error: BaseException = ConnectionClosed(f"send timed out after {self.timeout} s; connection closed")
            except OSError as e:
                error = ConnectionClosed(f"send failed: {e}")
            else:
                return
        with self._cond:
            self._fail_locked(error)
            raise self._failure  # type: ignore[misc]

    def _read(self, timeout: Optional[float]) -> Tuple[List[bytes], Optional[BaseException]]:
        """Waits up to ``timeout`` for data and returns the frames completed. Never raises."""
        try:
            ms = -1 if timeout is None else max(0, int(timeout * 1000) + 1)
            if not self._poller.poll(ms):
                return [], None
            data = self._sock.recv(256 * 1024)
            if not data:
                inside = " inside a frame" if self._decoder.buffered else ""
                return [], ConnectionClosed(f"sidecar closed the connection{inside}")
            return self._decoder.feed(data), None
        except ProtocolError as e:
            return [], e
        except (socket.timeout, BlockingIOError, InterruptedError):
            return [], None
        except OSError as e:
            return [], ConnectionClosed(f"receive failed: {e}")

    def _dispatch_locked(self, body: bytes) -> None:
        response = pb.Response()
        try:
            response.ParseFromString(body)
        except DecodeError as e:
            raise ProtocolError(f"undecodable Response frame ({len(body)} bytes): {e}") from None
        kind = response.WhichOneof("result")
        if kind in _PUSHES:
            queue = self._pushes.get(response.id)
            if queue is not None:
                queue.append(response)
            return
        if kind == "goodbye":
            reason = response.goodbye.reason
            self._fail_locked(ConnectionClosed(f"sidecar said goodbye: {reason}", reason=reason, goodbye=True))
            return
        if response.id in self._waiting:
            self._responses[response.id] = response
        elif kind == "error" and response.id == 0:
            self._connection_error = error_from_response(response.error, 0)
        # Anything else answers a call that timed out: dropped.

    def _wait(self, ready: Callable[[], Optional[object]], deadline: Optional[float]) -> Optional[object]:
        """Returns ``ready()`` once it is not None, reading the socket meanwhile (one reader at a
        time); None at ``deadline``. Raises the connection's failure once nothing is ready."""
        with self._cond:
            while True:
                value = ready()
                if value is not None:
                    return value
                if self._failure is not None:
                    raise self._failure
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if self._reader_active:
                    self._cond.wait(remaining)
                    continue
                self._reader_active = True
                self._cond.release()
                try:
                    frames, error = self._read(remaining)
                finally:
                    self._cond.acquire()
                    self._reader_active = False
                try:
                    for body in frames:
                        self._dispatch_locked(body)
                except ProtocolError as e:
                    error = e
                if error is not None:
                    if isinstance(error, ConnectionClosed) and self._connection_error is not None:
                        error = self._connection_error
                    self._fail_locked(error)
                elif self._failure is not None:
                    self._shutdown_locked()  # closed meanwhile by another thread: close the descriptor now
                self._cond.notify_all()

    def _call(self, field: str, message: object, timeout: Optional[float] = None, *,
              before_send: Optional[Callable[[int], None]] = None) -> object:
        request_id = next(self._ids)
        request = pb.Request(id=request_id)
        getattr(request, field).CopyFrom(message)
        with self._cond:
            if self._failure is not None:
                raise self._failure
            self._waiting.add(request_id)
        try:
            if before_send is not None:
                before_send(request_id)
            self._send(request)
            deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
            response = self._wait(lambda: self._responses.pop(request_id, None), deadline)
        finally:
            with self._cond:
                self._waiting.discard(request_id)
                self._responses.pop(request_id, None)
        if response is None:
            raise Timeout(f"no answer to {field} (id {request_id}) within {self.timeout if timeout is None else timeout} s")
        assert isinstance(response, pb.Response)
        kind = response.WhichOneof("result")
        if kind == "error":
            raise error_from_response(response.error, request_id)
        expected = _RESULT_OF[field]
        if kind != expected:
            raise ProtocolError(f"{field} (id {request_id}) answered with {kind!r}, expected {expected!r}")
        return getattr(response, expected)

    # ----------------------------------------------------------------------------------------
    # Signals

    def get_signals(self, after_seq: int = 0, max: int = MAX_SIGNALS_PER_PAGE, symbols: Sequence[str] = (),
                    strategies: Sequence[str] = ()) -> pb.SignalPage:
        """One page of logged signals with ``seq > after_seq``, oldest first: ``signals``,
        ``next_seq`` (the next ``after_seq``), ``truncated`` (``after_seq`` had fallen out of the
        ring: signals in between are lost), ``oldest_seq``. ``max`` is capped at 1000 by the server."""
        request = pb.GetSignals(after_seq=after_seq, max=max, symbols=_strings(symbols, "symbols"),
                                strategies=_strings(strategies, "strategies"))
        return self._call("get_signals", request)  # type: ignore[return-value]

    def pull_signals(self, after_seq: int = 0, symbols: Sequence[str] = (), strategies: Sequence[str] = (),
                     page_size: int = MAX_SIGNALS_PER_PAGE, on_lost: Optional[LostHandler] = None) -> "SignalCursor":
        """A cursor over the signal log: iterating it yields every signal after ``after_seq``
        logged so far, page by page, and stops when caught up; iterate again later for newer
        ones. ``cursor.after_seq`` is the position to persist. Lost ranges raise ``SignalsLost``
        (or go to ``on_lost``)."""
        return SignalCursor(self, after_seq, symbols, strategies, page_size, on_lost)

    def subscribe_signals(self, symbols: Sequence[str] = (), strategies: Sequence[str] = (), after_seq: int = 0,
                          on_lost: Optional[LostHandler] = None) -> "SignalSubscription":
        """Live signals (after replaying the logged ones with ``seq > after_seq`` when it is
        not 0), in order, each once. A ``Gap`` (this client fell behind and the sidecar dropped
        events) is filled by re-pulling the range with ``GetSignals``; signals that had already
        left the sidecar's ring raise ``SignalsLost`` from the iterator (or go to ``on_lost``
        and iteration goes on)."""
        restarted: Optional[SignalsLost] = None
        if after_seq > self.server.last_signal_seq:
            # Ahead of the newest signal at Hello: maybe a cursor from an earlier sidecar process
            # (sequences restart at 1), which would make every new signal look old. Then start
            # at the newest signal, as GetSignals does, and report the skipped ones first.
            probe = self.get_signals(after_seq=after_seq, max=1)
            if probe.truncated and probe.next_seq < after_seq:
                restarted = SignalsLost(1, probe.next_seq, server_restarted=True)
                after_seq = probe.next_seq
        subscribe = pb.Subscribe(stream=pb.STREAM_SIGNALS, symbols=_strings(symbols, "symbols"),
                                 strategies=_strings(strategies, "strategies"), after_seq=after_seq)
        subscription_id = self._subscribe(subscribe)
        subscription = SignalSubscription(self, subscription_id, subscribe.symbols, subscribe.strategies, after_seq,
                                          on_lost)
        if restarted is not None:
            subscription._pending_lost = restarted
        return subscription

    def subscribe_depth(self, symbols: Sequence[str] = (), venue: Optional[str] = None,
                        min_interval_ms: int = 0) -> "DepthSubscription":
        """Depth updates (``DepthEvent``: ``seq`` and ``metrics``), at most one per symbol per
        ``min_interval_ms``. Dropped updates are only counted (``gaps``, ``missed``): the next
        update carries the current values."""
        subscribe = pb.Subscribe(stream=pb.STREAM_DEPTH, symbols=_strings(symbols, "symbols"),
                                 min_interval_ms=min_interval_ms, venue=venue or "")
        return DepthSubscription(self, self._subscribe(subscribe))

    def _subscribe(self, subscribe: pb.Subscribe) -> int:
        registered: List[int] = []

        def register(request_id: int) -> None:
            # Before sending: events may follow the answer in the same read.
            with self._cond:
                self._pushes[request_id] = _PushQueue(request_id, subscribe.stream, self.push_queue_limit)
            registered.append(request_id)

        try:
            result = self._call("subscribe", subscribe, before_send=register)
        except BaseException:
            with self._cond:
                for request_id in registered:
                    self._pushes.pop(request_id, None)
            raise
        return result.subscription_id  # type: ignore[attr-defined]

    def unsubscribe(self, subscription_id: int) -> None:
        """Ends a subscription (``Subscription.close()`` calls this)."""
        try:
            self._call("unsubscribe", pb.Unsubscribe(subscription_id=subscription_id))
        finally:
            with self._cond:
                self._pushes.pop(subscription_id, None)

    def _requeue(self, subscription_id: int, item: pb.Response) -> None:
        with self._cond:
            queue = self._pushes.get(subscription_id)
            if queue is not None:
                queue.items.appendleft(item)

    def _next_push(self, subscription_id: int, deadline: Optional[float]) -> Optional[pb.Response]:
        def ready() -> Optional[pb.Response]:
            queue = self._pushes.get(subscription_id)
            if queue is None:
                raise SidecarClientError(f"subscription {subscription_id} is closed")
            return queue.items.popleft() if queue.items else None

        return self._wait(ready, deadline)  # type: ignore[return-value]

    # ----------------------------------------------------------------------------------------
    # Market data and operations

    def depth(self, symbol: str, venue: Optional[str] = None, include_levels: bool = False) -> pb.DepthMetrics:
        """Depth metrics of one symbol (``NotFound`` if unknown or stale); ``include_levels``
        adds the book (``bid_prices``, ``bid_quantities``, ...)."""
        request = pb.GetDepthMetrics(symbol=symbol, venue=venue or "", include_levels=include_levels)
        return self._call("get_depth_metrics", request)  # type: ignore[return-value]

    def list_depth(self, symbols: Sequence[str] = (), *, min_pressure: Optional[float] = None,
                   max_pressure: Optional[float] = None, trend: str = "", limit: int = 0, offset: int = 0,
                   sort_by: str = "", sort_order: str = "", venue: Optional[str] = None) -> pb.DepthMetricsPage:
        """Every tracked symbol, filtered, sorted and paged like HTTP ``/api/v1/metrics/all``:
        ``sort_by`` in symbol/pressure/imbalance/liquidity, ``sort_order`` asc/desc, ``limit``
        1..200 (0: 50)."""
        request = pb.ListDepthMetrics(symbols=_strings(symbols, "symbols"), trend=trend, limit=limit, offset=offset,
                                      sort_by=sort_by, sort_order=sort_order, venue=venue or "")
        if min_pressure is not None:
            request.has_min_pressure = True
            request.min_pressure = min_pressure
        if max_pressure is not None:
            request.has_max_pressure = True
            request.max_pressure = max_pressure
        return self._call("list_depth_metrics", request)  # type: ignore[return-value]

    def pressure(self, symbol: str, timeframe: str = "5m", venue: Optional[str] = None) -> pb.PressureHistory:
        """Pressure history over ``timeframe`` ("1m", "5m" or "15m"; else ``InvalidArgument``)."""
        request = pb.GetPressureHistory(symbol=symbol, timeframe=timeframe, venue=venue or "")
        return self._call("get_pressure_history", request)  # type: ignore[return-value]

    def summary(self, venue: Optional[str] = None) -> pb.MarketSummary:
        """Market-wide sentiment, liquidity and the top-pressure symbols."""
        return self._call("get_market_summary", pb.GetMarketSummary(venue=venue or ""))  # type: ignore[return-value]

    def stats(self) -> pb.Stats:
        """The sidecar's counters (messages, signals, socket clients, gaps, ...)."""
        return self._call("get_stats", pb.GetStats())  # type: ignore[return-value]

    def health(self) -> pb.Health:
        """``live``, ``ready`` (NATS connected and subscribed), ``version``."""
        return self._call("health", pb.HealthCheck())  # type: ignore[return-value]


class SignalCursor:
    """Pulls the signal log with a cursor (see ``SidecarClient.pull_signals``)."""

    def __init__(self, client: SidecarClient, after_seq: int, symbols: Sequence[str], strategies: Sequence[str],
                 page_size: int, on_lost: Optional[LostHandler]) -> None:
        self._client = client
        #: Every signal up to here has been returned (or reported lost): persist it to resume.
        self.after_seq = after_seq
        self.symbols = _strings(symbols, "symbols")
        self.strategies = _strings(strategies, "strategies")
        self.page_size = min(max(1, page_size), MAX_SIGNALS_PER_PAGE)
        self.on_lost = on_lost
        #: Lost ranges seen so far, as (from_seq, to_seq).
        self.lost: List[Tuple[int, int]] = []
        self._held: Optional[pb.SignalPage] = None

    def __iter__(self) -> Iterator[pb.Signal]:
        """Yields signals until caught up. After catching ``SignalsLost``, iterate again: the
        page that reported the loss comes first."""
        while True:
            page = self.next_page()
            yield from page.signals
            if not page.signals:
                return

    def poll(self) -> List[pb.Signal]:
        """Every signal logged after the cursor, now (possibly several pages)."""
        return list(self)

    def next_page(self) -> pb.SignalPage:
        """One page; advances the cursor. A lost range is reported (raised, or passed to
        ``on_lost``) before the page's signals are returned."""
        if self._held is not None:
            page, self._held = self._held, None
            return page
        cursor = self.after_seq
        page = self._client.get_signals(cursor, self.page_size, self.symbols, self.strategies)
        self.after_seq = page.next_seq
        if page.truncated:
            if page.next_seq < cursor:
                # The cursor came from an earlier sidecar process: the server restarts it at its
                # newest signal, skipping 1..next_seq of this process.
                lost = SignalsLost(1, page.next_seq, server_restarted=True)
            else:
                high = page.oldest_seq - 1
                if page.signals:
                    high = min(high, page.signals[0].seq - 1)
                lost = SignalsLost(cursor + 1, high)
            if lost.count > 0 or lost.server_restarted:
                self.lost.append((lost.from_seq, lost.to_seq))
                if self.on_lost is None:
                    self._held = page
                    raise lost
                self.on_lost(lost)
        return page


class SignalSubscription:
    """Iterator of live signals (see ``SidecarClient.subscribe_signals``). Use as a context
    manager, or call ``close()``, to unsubscribe."""

    def __init__(self, client: SidecarClient, subscription_id: int, symbols: Sequence[str],
                 strategies: Sequence[str], after_seq: int, on_lost: Optional[LostHandler]) -> None:
        self._client = client
        self.id = subscription_id
        self.symbols = list(symbols)
        self.strategies = list(strategies)
        self.on_lost = on_lost
        #: The newest sequence returned (or reported lost).
        self.last_seq = after_seq
        #: Gaps received (from the server, or folded by the client's own queue bound).
        self.gaps = 0
        #: Signals recovered by re-pulling gaps.
        self.recovered = 0
        #: Lost ranges, as (from_seq, to_seq).
        self.lost: List[Tuple[int, int]] = []
        self._ready: Deque[pb.Signal] = collections.deque()
        self._pending_lost: Optional[SignalsLost] = None
        self._closed = False

    def __iter__(self) -> "SignalSubscription":
        return self

    def __next__(self) -> pb.Signal:
        signal = self.get(timeout=None)
        assert signal is not None
        return signal

    def get(self, timeout: Optional[float] = None) -> Optional[pb.Signal]:
        """The next signal, or None when none came within ``timeout`` seconds (None: wait)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._pending_lost is not None:
            lost, self._pending_lost = self._pending_lost, None
            self._report(lost)
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._closed:
                raise SidecarClientError(f"subscription {self.id} is closed")
            item = self._client._next_push(self.id, deadline)
            if item is None:
                return None
            kind = item.WhichOneof("result")
            if kind == "signal_event":
                signal = item.signal_event.signal
                if signal.seq <= self.last_seq:
                    continue  # already returned through a re-pull
                self.last_seq = signal.seq
                return signal
            if kind == "gap" and item.gap.stream in (pb.STREAM_SIGNALS, pb.STREAM_UNSPECIFIED):
                self.gaps += 1
                try:
                    self._recover(item.gap.from_seq, item.gap.to_seq)
                except SignalsLost:
                    raise
                except BaseException:
                    # The re-pull failed (timeout, ...): keep the gap for the next call.
                    self._client._requeue(self.id, item)
                    self.gaps -= 1
                    raise

    def _recover(self, from_seq: int, to_seq: int) -> None:
        """Re-pulls ``from_seq..to_seq`` into the ready queue; reports what the ring lost."""
        from_seq = max(from_seq, self.last_seq + 1)
        if from_seq > to_seq:
            return
        cursor = from_seq - 1
        lost: Optional[Tuple[int, int]] = None
        recovered: List[pb.Signal] = []
        while cursor < to_seq:
            page = self._client.get_signals(cursor, min(MAX_SIGNALS_PER_PAGE, to_seq - cursor), self.symbols,
                                            self.strategies)
            if page.truncated:
                high = min(to_seq, page.oldest_seq - 1)
                if page.signals:
                    high = min(high, page.signals[0].seq - 1)
                if page.next_seq < cursor:  # cannot happen on one connection; be safe
                    high = to_seq
                if high > cursor:
                    lost = (lost[0] if lost else cursor + 1, high)
            recovered.extend(signal for signal in page.signals if cursor < signal.seq <= to_seq)
            if page.next_seq <= cursor:
                break
            cursor = page.next_seq
        self._ready.extend(recovered)
        self.recovered += len(recovered)
        self.last_seq = max(self.last_seq, to_seq)
        if lost is not None:
            self._report(SignalsLost(*lost))

    def _report(self, lost: SignalsLost) -> None:
        self.lost.append((lost.from_seq, lost.to_seq))
        if self.on_lost is None:
            raise lost
        self.on_lost(lost)

    def close(self) -> None:
        """Unsubscribes (idempotent; a no-op once the connection is gone)."""
        if self._closed:
            return
        self._closed = True
        self._ready.clear()
        try:
            self._client.unsubscribe(self.id)
        except (ConnectionClosed, Timeout):
            pass

    def __enter__(self) -> "SignalSubscription":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class DepthSubscription:
    """Iterator of ``DepthEvent`` (see ``SidecarClient.subscribe_depth``)."""

    def __init__(self, client: SidecarClient, subscription_id: int) -> None:
        self._client = client
        self.id = subscription_id
        #: Gaps received and depth events missed through them.
        self.gaps = 0
        self.missed = 0
        self._closed = False

    def __iter__(self) -> "DepthSubscription":
        return self

    def __next__(self) -> pb.DepthEvent:
        event = self.get(timeout=None)
        assert event is not None
        return event

    def get(self, timeout: Optional[float] = None) -> Optional[pb.DepthEvent]:
        """The next depth event, or None when none came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise SidecarClientError(f"subscription {self.id} is closed")
            item = self._client._next_push(self.id, deadline)
            if item is None:
                return None
            kind = item.WhichOneof("result")
            if kind == "depth_event":
                return item.depth_event
            if kind == "gap":
                self.gaps += 1
                self.missed += item.gap.to_seq - item.gap.from_seq + 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._client.unsubscribe(self.id)
        except (ConnectionClosed, Timeout):
            pass

    def __enter__(self) -> "DepthSubscription":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
