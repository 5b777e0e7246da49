"""The client against the real realtime-sidecar and nats-server (see conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from typing import List

import pytest

from realtime_sidecar_client import (
    ConnectionClosed,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SidecarClient,
    SidecarError,
    SignalsLost,
    SocketMissing,
    VersionMismatch,
    pb,
)

from conftest import Sidecar


def pulled_seqs(client: SidecarClient, after_seq: int, until_seq: int, **filters) -> List[int]:
    """Sequences in the log after `after_seq` up to `until_seq`, via the cursor helper."""
    return [s.seq for s in client.pull_signals(after_seq=after_seq, **filters) if s.seq <= until_seq]


def read_until(subscription, last_seq: int, timeout: float = 30) -> List[int]:
    """Sequences from a subscription until it returned `last_seq`."""
    seqs: List[int] = []
    deadline = time.monotonic() + timeout
    while subscription.last_seq < last_seq:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"subscription stopped at {subscription.last_seq}, wanted {last_seq} (got {len(seqs)})"
        signal = subscription.get(timeout=remaining)
        if signal is not None:
            seqs.append(signal.seq)
    return seqs


# ---------------------------------------------------------------------------------------------
# Handshake, operations, market data


def test_hello(client: SidecarClient) -> None:
    server = client.server
    assert server.protocol_version == 1
    assert server.server_version
    assert {"signals", "depth", "subscribe", "pressure_history", "market_summary", "stats"} <= set(server.capabilities)
    assert "orderbook_skew" in server.strategies
    assert server.venues[0] == "spot"
    assert server.max_frame_bytes == 4 * 1024 * 1024
    assert server.last_signal_seq > 0, "the fed market made no signal"


def test_health_and_stats(client: SidecarClient, sidecar: Sidecar) -> None:
    health = client.health()
    assert health.live and health.ready and health.nats_connected and health.nats_subscribed
    assert health.version == client.server.server_version
    stats = client.stats()
    assert stats.messages_received >= sidecar.fed
    assert stats.messages_processed > 0
    assert stats.nats_connected
    assert stats.symbols_tracked >= 1
    assert stats.socket_clients >= 1
    assert stats.last_signal_seq >= client.server.last_signal_seq > 0
    generated = {c.name: c.value for c in stats.signals_generated}
    assert generated.get("orderbook_skew", 0) > 0, generated
    assert stats.uptime_seconds > 0


def test_get_signals_pages_with_a_cursor(client: SidecarClient) -> None:
    last = client.stats().last_signal_seq
    seqs: List[int] = []
    cursor = 0
    pages = 0
    while True:
        page = client.get_signals(after_seq=cursor, max=100)
        assert not page.truncated
        assert len(page.signals) <= 100
        if not page.signals:
            assert page.next_seq >= last
            break
        seqs.extend(s.seq for s in page.signals)
        assert page.next_seq == page.signals[-1].seq
        cursor = page.next_seq
        pages += 1
    seqs = [s for s in seqs if s <= last]
    assert pages >= 2
    assert seqs == list(range(1, last + 1)), "every signal once, in order"

    # The cursor helper gives the same, and remembers where it is.
    helper = client.pull_signals(page_size=250)
    assert [s.seq for s in helper if s.seq <= last] == seqs
    assert helper.after_seq >= last
    assert all(s.seq > last for s in helper.poll())

    first = client.get_signals(after_seq=0, max=1).signals[0]
    assert first.id and first.strategy_id and first.symbol and first.venue == "spot"
    assert first.action in (pb.ACTION_BUY, pb.ACTION_SELL, pb.ACTION_HOLD, pb.ACTION_CLOSE)
    assert 0 < first.confidence <= 1 and first.strength in ("weak", "medium", "strong", "extreme")
    assert first.event_time_ms > 0
    assert isinstance(json.loads(first.metadata_json), dict)


def test_get_signals_filters(client: SidecarClient) -> None:
    everything = list(client.pull_signals())
    symbol = everything[0].symbol
    by_symbol = list(client.pull_signals(symbols=[symbol]))
    assert by_symbol and all(s.symbol == symbol for s in by_symbol)
    assert [s.seq for s in by_symbol] == [s.seq for s in everything if s.symbol == symbol and s.seq <= by_symbol[-1].seq]
    by_strategy = list(client.pull_signals(strategies=["orderbook_skew"]))
    assert by_strategy and all(s.strategy_id == "orderbook_skew" for s in by_strategy)
    assert list(client.pull_signals(strategies=["no_such_strategy"])) == []


def test_depth_and_list_depth(client: SidecarClient) -> None:
    page = client.list_depth(limit=200)
    assert page.total >= 1 and len(page.metrics) == page.total
    assert page.page == 1 and not page.has_previous
    for row in page.metrics:
        depth = client.depth(row.symbol, include_levels=True)
        assert depth.symbol == row.symbol and depth.venue == "spot"
        assert depth.event_time_ms > 0
        assert depth.best_bid > 0 and depth.best_ask >= depth.best_bid
        assert depth.bid_levels >= 1 and depth.ask_levels >= 1
        assert len(depth.bid_prices) == len(depth.bid_quantities) == depth.bid_levels
        assert len(depth.ask_prices) == len(depth.ask_quantities) == depth.ask_levels
        assert depth.bid_prices[0] == depth.best_bid and depth.ask_prices[0] == depth.best_ask
        assert list(depth.bid_prices) == sorted(depth.bid_prices, reverse=True)
        assert list(depth.ask_prices) == sorted(depth.ask_prices)
        assert depth.interpretation in ("bullish", "bearish", "neutral")
        # The book behind the metrics (docs/BOOKS.md): the replay's diffs keep a synced local book.
        assert depth.book_source in ("local", "partial")
        assert depth.synced == (depth.book_source == "local")
        assert depth.last_update_id > 0 and depth.book_event_time_ms > 0
        assert depth.age_ms >= 0
        # The list and the single call read the same snapshot (the feed has stopped).
        assert (depth.net_pressure, depth.mid_price, depth.total_liquidity) == \
            (row.net_pressure, row.mid_price, row.total_liquidity)
        assert len(row.bid_prices) == 0  # levels only on request
    lowercase = client.depth(page.metrics[0].symbol.lower())
    assert lowercase.symbol == page.metrics[0].symbol

    ordered = client.list_depth(sort_by="pressure", sort_order="desc", limit=3)
    pressures = [m.net_pressure for m in ordered.metrics]
    assert pressures == sorted(pressures, reverse=True) and len(pressures) == min(3, page.total)
    filtered = client.list_depth(min_pressure=0)
    assert all(m.net_pressure >= 0 for m in filtered.metrics)
    chosen = client.list_depth(symbols=[page.metrics[0].symbol])
    assert [m.symbol for m in chosen.metrics] == [page.metrics[0].symbol]


def test_pressure_and_summary(client: SidecarClient) -> None:
    symbol = client.list_depth(sort_by="symbol").metrics[0].symbol
    for timeframe in ("1m", "5m", "15m"):
        history = client.pressure(symbol, timeframe)
        assert history.symbol == symbol and history.timeframe == timeframe and history.venue == "spot"
        assert history.total_data_points >= 1
        assert len(history.time_ms) == len(history.pressure) == len(history.imbalance) <= 100
        assert list(history.time_ms) == sorted(history.time_ms)
        assert history.min_pressure <= history.avg_pressure <= history.max_pressure
    assert client.pressure(symbol).timeframe == "5m"

    summary = client.summary()
    total = client.list_depth().total
    assert summary.symbols_tracked == total
    assert summary.bullish_symbols + summary.bearish_symbols + summary.neutral_symbols == total
    assert summary.time_ms > 0 and summary.total_liquidity > 0
    assert summary.highest_buy_pressure and summary.highest_sell_pressure


# ---------------------------------------------------------------------------------------------
# Errors


def test_errors_are_typed_and_leave_the_connection_usable(client: SidecarClient) -> None:
    with pytest.raises(NotFound) as not_found:
        client.depth("NOSUCHCOIN")
    assert not_found.value.code == pb.ERROR_CODE_NOT_FOUND and not_found.value.code_name == "NOT_FOUND"
    assert not_found.value.details.get("symbol") == "NOSUCHCOIN"
    assert "NOSUCHCOIN" in not_found.value.message
    assert isinstance(not_found.value, SidecarError) and isinstance(not_found.value, LookupError)

    with pytest.raises(NotFound):
        client.pressure("NOSUCHCOIN", "1m")

    symbol = client.list_depth().metrics[0].symbol
    with pytest.raises(InvalidArgument) as bad_timeframe:
        client.pressure(symbol, timeframe="2m")
    assert bad_timeframe.value.code_name == "INVALID_ARGUMENT"
    assert bad_timeframe.value.details == {"field": "timeframe", "value": "2m"}

    with pytest.raises(InvalidArgument):
        client.depth(symbol, venue="moon")
    with pytest.raises(InvalidArgument):
        client.depth("")
    with pytest.raises(TypeError):
        client.get_signals(symbols="BTCUSDT")  # a string is not a list of symbols

    assert client.health().live  # still connected


def test_version_mismatch(sidecar: Sidecar) -> None:
    with pytest.raises(VersionMismatch) as raised:
        sidecar.client(protocol_version=2)
    assert raised.value.code == pb.ERROR_CODE_UNSUPPORTED_VERSION
    assert raised.value.details.get("supported") == "1"


def test_socket_missing(workdir) -> None:
    with pytest.raises(SocketMissing) as missing:
        SidecarClient(str(workdir / "nobody-here.sock"), timeout=2)
    assert isinstance(missing.value, ConnectionError)
    # A socket file nobody listens on (left by a crash).
    stale = workdir / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()
    with pytest.raises(SocketMissing):
        SidecarClient(str(stale), timeout=2)


def test_permission_denied_by_the_os(workdir) -> None:
    # Our own listener with mode 000; as root, the connect runs in a child that drops to nobody.
    path = workdir / "closed.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    os.chmod(path, 0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(PermissionDenied) as denied:
                SidecarClient(str(path), timeout=2)
            assert denied.value.errno is not None and denied.value.code_name == "PERMISSION_DENIED"
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: report the exception class and errno, never return into pytest
            try:
                os.setgid(65534)
                os.setuid(65534)
                try:
                    SidecarClient(str(path), timeout=2)
                    result = "connected"
                except PermissionDenied as e:
                    result = f"PermissionDenied {e.errno} {e.code_name}"
                except BaseException as e:  # noqa: BLE001
                    result = f"{type(e).__name__}: {e}"
                os.write(write_end, result.encode())
            finally:
                os._exit(0)
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        result = os.read(read_end, 4096).decode()
        os.close(read_end)
        assert result == "PermissionDenied 13 PERMISSION_DENIED", result
    finally:
        listener.close()


def test_permission_denied_by_the_sidecar(start_sidecar) -> None:
    refused = start_sidecar("refused", wait_ready=False, SIDECAR_ALLOWED_UIDS=str(os.getuid() + 4242))
    try:
        with pytest.raises(PermissionDenied) as denied:
            refused.client(timeout=5)
        assert denied.value.code == pb.ERROR_CODE_PERMISSION_DENIED and denied.value.errno is None
        assert "not allowed" in denied.value.message
    finally:
        refused.stop()


# ---------------------------------------------------------------------------------------------
# Subscriptions


def test_subscribe_receives_live_signals_in_order(sidecar: Sidecar) -> None:
    with sidecar.client() as client, sidecar.client() as observer:
        start = observer.stats().last_signal_seq
        everything = client.subscribe_signals()
        some = client.subscribe_signals(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"],
                                        strategies=["orderbook_skew", "iceberg_detector"])
        sidecar.feed_simulated(3000, seed=3)
        sidecar.wait_processed(observer)
        end = observer.stats().last_signal_seq
        assert end > start, "the simulated market made no signal"

        got = read_until(everything, end)
        assert got == pulled_seqs(observer, start, end) == list(range(start + 1, end + 1))
        some_expected = pulled_seqs(observer, start, end, symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"],
                                    strategies=["orderbook_skew", "iceberg_detector"])
        assert 0 < len(some_expected) < len(got), "the filters should keep some signals, not all"
        assert read_until(some, some_expected[-1]) == some_expected
        everything.close()
        some.close()
        assert client.health().live


def test_subscribe_replays_from_after_seq(client: SidecarClient) -> None:
    last = client.stats().last_signal_seq
    after = max(0, last - 1500)
    with client.subscribe_signals(after_seq=after) as subscription:
        assert read_until(subscription, last) == list(range(after + 1, last + 1))
        assert subscription.gaps == 0
        assert subscription.get(timeout=0.2) is None  # nothing new


def test_depth_subscription(sidecar: Sidecar) -> None:
    with sidecar.client() as client:
        symbol = client.list_depth().metrics[0].symbol
        with client.subscribe_depth() as subscription:
            sidecar.feed_simulated(500, seed=11)
            event = subscription.get(timeout=20)
            assert event is not None and event.seq == 1
            assert event.metrics.symbol and event.metrics.best_bid > 0
            following = subscription.get(timeout=20)
            assert following is not None and following.seq > event.seq
        assert symbol  # the subscription closed cleanly; the connection goes on
        assert client.health().live


def test_gap_is_refilled_by_pulling(start_sidecar) -> None:
    """A client that does not read while signals flow: the sidecar drops from its small queue
    and sends a Gap; the iterator re-pulls the range, so every signal arrives once, in order."""
    slow = start_sidecar("gap", SIDECAR_CLIENT_QUEUE_EVENTS=16)
    try:
        with slow.client() as client, slow.client() as observer:
            start = observer.stats().last_signal_seq
            subscription = client.subscribe_signals()
            slow.feed()  # nothing reads `client` meanwhile
            slow.wait_processed(observer)
            end = observer.stats().last_signal_seq
            assert end - start > 2000, f"only {end - start} signals: too few to overflow the socket buffers"

            got = read_until(subscription, end, timeout=60)
            assert got == list(range(start + 1, end + 1)), "every signal exactly once, in order"
            assert subscription.gaps >= 1 and subscription.recovered > 0
            assert subscription.lost == []
            stats = observer.stats()
            assert stats.socket_gaps >= 1 and stats.socket_events_dropped > 0
    finally:
        slow.stop()


def test_client_queue_bound_folds_into_gaps(sidecar: Sidecar) -> None:
    """Events of a subscription nobody iterates are bounded in the client too; the overflow
    is re-pulled like a server Gap."""
    with sidecar.client(push_queue_limit=8) as client:
        start = client.stats().last_signal_seq
        idle = client.subscribe_signals()
        sidecar.feed_simulated(3000, seed=5)
        sidecar.wait_processed(client)  # these calls read the socket: idle's events pile up
        end = client.stats().last_signal_seq
        for _ in range(20):
            client.health()
        assert len(client._pushes[idle.id].items) <= 8
        assert read_until(idle, end) == list(range(start + 1, end + 1))
        assert idle.gaps >= 1 and idle.recovered > 0


def test_one_connection_shared_by_two_threads(sidecar: Sidecar) -> None:
    with sidecar.client() as client:
        start = client.stats().last_signal_seq
        subscription = client.subscribe_signals()
        received: List[int] = []
        stop_at: List[int] = []
        failures: List[BaseException] = []

        def consume() -> None:
            deadline = time.monotonic() + 90
            try:
                while time.monotonic() < deadline:
                    signal = subscription.get(timeout=0.2)
                    if signal is not None:
                        received.append(signal.seq)
                    if stop_at and subscription.last_seq >= stop_at[0]:
                        return
            except BaseException as e:  # noqa: BLE001
                failures.append(e)

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        feed = subprocess.Popen([str(sidecar.binaries["sidecarctl"]), "simulate", "--count", "4000", "--seed", "9",
                                 "--speed", "1000000", "--nats-url", sidecar.nats_url, "--subject", sidecar.subject,
                                 "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        calls = 0
        try:
            while feed.poll() is None:
                client.health()
                client.list_depth(limit=5)
                calls += 2
            assert feed.wait(60) == 0
        finally:
            if feed.poll() is None:
                feed.kill()
                feed.wait(5)
        sidecar.fed += 4000
        sidecar.wait_processed(client)
        end = client.stats().last_signal_seq
        stop_at.append(end)
        consumer.join(60)
        assert not consumer.is_alive() and not failures, failures
        assert calls > 0
        assert received == list(range(start + 1, end + 1))


# ---------------------------------------------------------------------------------------------
# Lost signals and shutdown


def test_signals_lost_from_the_ring_and_goodbye(start_sidecar) -> None:
    ring = start_sidecar("ring", SIGNAL_LOG_CAPACITY=50)
    try:
        ring.feed()
        with ring.client() as client:
            ring.wait_processed(client)
            last = client.stats().last_signal_seq
            assert last > 200
            oldest = last - 49

            page = client.get_signals(after_seq=0, max=10)
            assert page.truncated and page.oldest_seq == oldest and page.signals[0].seq == oldest

            cursor = client.pull_signals(after_seq=0)
            with pytest.raises(SignalsLost) as lost:
                list(cursor)
            assert (lost.value.from_seq, lost.value.to_seq) == (1, oldest - 1) and lost.value.count == oldest - 1
            assert [s.seq for s in cursor] == list(range(oldest, last + 1)), "the page after the loss is kept"

            reported: List[SignalsLost] = []
            kept = list(client.pull_signals(after_seq=5, on_lost=reported.append))
            assert [s.seq for s in kept] == list(range(oldest, last + 1))
            assert [(e.from_seq, e.to_seq) for e in reported] == [(6, oldest - 1)]

            # A replaying subscription whose start fell out of the ring.
            subscription = client.subscribe_signals(after_seq=1)
            with pytest.raises(SignalsLost) as replay_lost:
                subscription.get(timeout=10)
            assert replay_lost.value.from_seq == 2 and replay_lost.value.to_seq == oldest - 1
            assert read_until(subscription, last) == list(range(oldest, last + 1))
            assert subscription.lost == [(2, oldest - 1)]

            # Shutdown: the subscription ends with the server's Goodbye.
            ring.process.popen.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    subscription.get(timeout=15)
            assert closed.value.goodbye, closed.value
            assert client.closed
            with pytest.raises(ConnectionClosed):
                client.health()
        assert ring.process.popen.wait(15) == 0
    finally:
        ring.stop()


def test_cursor_from_before_a_restart(start_sidecar) -> None:
    """Sequences restart at 1 with a new sidecar process: an old cursor is reported (not
    silently used, which would make every new signal look already seen)."""
    first = start_sidecar("restart")
    first.feed_simulated(3000, seed=3)
    with first.client() as client:
        first.wait_processed(client)
        old_last = client.stats().last_signal_seq
    assert old_last > 20 and first.stop() == 0

    second = start_sidecar("restart")
    try:
        second.feed_simulated(300, seed=3)
        with second.client() as client:
            second.wait_processed(client)
            new_last = client.stats().last_signal_seq
            assert 0 < new_last < old_last

            cursor = client.pull_signals(after_seq=old_last)
            with pytest.raises(SignalsLost) as pulled:
                list(cursor)
            assert pulled.value.server_restarted and pulled.value.to_seq == new_last
            assert cursor.after_seq == new_last

            subscription = client.subscribe_signals(after_seq=old_last)
            with pytest.raises(SignalsLost) as subscribed:
                subscription.get(timeout=5)
            assert subscribed.value.server_restarted and (subscribed.value.from_seq, subscribed.value.to_seq) == (1, new_last)
            second.feed_simulated(3000, seed=4)
            second.wait_processed(client)
            end = client.stats().last_signal_seq
            assert end > new_last
            assert read_until(subscription, end) == list(range(new_last + 1, end + 1))
    finally:
        second.stop()
