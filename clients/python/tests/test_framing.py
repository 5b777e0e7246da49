"""Framing and response matching, against a scripted in-process server (no sidecar needed)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest

from realtime_sidecar_client import (
    ConnectionClosed,
    FrameDecoder,
    ProtocolError,
    SidecarClient,
    Timeout,
    encode_frame,
    pb,
)


def test_decoder_splits_and_joins_frames() -> None:
    a = pb.Response(id=1, health=pb.Health(live=True)).SerializeToString()
    b = pb.Response(id=2, stats=pb.Stats(messages_received=7)).SerializeToString()
    stream = encode_frame(a) + encode_frame(b)
    decoder = FrameDecoder(1024)
    frames: List[bytes] = []
    for i in range(len(stream)):  # one byte at a time
        frames += decoder.feed(stream[i:i + 1])
    assert frames == [a, b] and decoder.buffered == 0
    assert decoder.feed(stream) == [a, b]
    assert stream[:4] == struct.pack(">I", len(a))


def test_decoder_refuses_zero_and_oversized_lengths() -> None:
    with pytest.raises(ProtocolError):
        FrameDecoder(1024).feed(struct.pack(">I", 0))
    with pytest.raises(ProtocolError):
        FrameDecoder(1024).feed(struct.pack(">I", 1025))  # refused from the header alone
    assert FrameDecoder(1024).feed(struct.pack(">I", 1024)) == []


class ScriptedServer:
    """Accepts one connection and runs `script(conn, requests)`; `requests()` reads one Request."""

    def __init__(self, path: Path, script: Callable[[socket.socket, Callable[[], Optional[pb.Request]]], None]):
        self.path = str(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.listener.settimeout(10)
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script) -> None:
        try:
            conn, _ = self.listener.accept()
            conn.settimeout(10)
            buffer = bytearray()

            def read_request() -> Optional[pb.Request]:
                while True:
                    if len(buffer) >= 4:
                        (n,) = struct.unpack_from(">I", buffer)
                        if len(buffer) >= 4 + n:
                            body = bytes(buffer[4:4 + n])
                            del buffer[:4 + n]
                            return pb.Request.FromString(body)
                    chunk = conn.recv(65536)
                    if not chunk:
                        return None
                    buffer.extend(chunk)

            with conn:
                script(conn, read_request)
        except BaseException as e:  # noqa: BLE001
            self.error = e
        finally:
            self.listener.close()

    def join(self) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive()
        if self.error:
            raise self.error


def send(conn: socket.socket, response: pb.Response) -> None:
    conn.sendall(encode_frame(response.SerializeToString()))


def hello(conn: socket.socket, read_request) -> None:
    request = read_request()
    assert request.WhichOneof("call") == "hello" and request.hello.protocol_version == 1
    assert request.hello.client_name == "scripted"
    send(conn, pb.Response(id=request.id, hello=pb.HelloResult(protocol_version=1, server_version="fake",
                                                                   max_frame_bytes=1 << 20)))


def test_out_of_order_answers_reach_their_callers(tmp_path: Path) -> None:
    def script(conn, read_request):
        hello(conn, read_request)
        first, second = read_request(), read_request()
        by_call = {r.WhichOneof("call"): r.id for r in (first, second)}
        assert set(by_call) == {"health", "get_stats"} and first.id != second.id
        # A push for no known subscription and the answers in reverse order.
        send(conn, pb.Response(id=999, signal_event=pb.SignalEvent(signal=pb.Signal(seq=1))))
        for request in (second, first):
            if request.WhichOneof("call") == "health":
                send(conn, pb.Response(id=request.id, health=pb.Health(live=True, version="h")))
            else:
                send(conn, pb.Response(id=request.id, stats=pb.Stats(messages_received=42)))
        assert read_request() is None  # the client closes

    server = ScriptedServer(tmp_path / "s.sock", script)
    results = {}
    with SidecarClient(server.path, client_name="scripted", timeout=5) as client:
        assert client.server.server_version == "fake"
        threads = [threading.Thread(target=lambda: results.__setitem__("health", client.health())),
                   threading.Thread(target=lambda: results.__setitem__("stats", client.stats()))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    server.join()
    assert results["health"].version == "h" and results["stats"].messages_received == 42


def test_oversized_frame_closes_the_connection(tmp_path: Path) -> None:
    def script(conn, read_request):
        hello(conn, read_request)
        read_request()
        conn.sendall(struct.pack(">I", 2048) + b"\0" * 16)
        time.sleep(0.5)

    server = ScriptedServer(tmp_path / "s.sock", script)
    client = SidecarClient(server.path, client_name="scripted", timeout=5, max_frame_bytes=1024)
    with pytest.raises(ProtocolError, match="2048"):
        client.health()
    assert client.closed
    with pytest.raises(ProtocolError):
        client.stats()  # the failure stays
    client.close()
    server.join()


def test_undecodable_frame_is_a_protocol_error(tmp_path: Path) -> None:
    def script(conn, read_request):
        hello(conn, read_request)
        read_request()
        conn.sendall(encode_frame(b"\xff\xff\xff"))
        time.sleep(0.5)

    server = ScriptedServer(tmp_path / "s.sock", script)
    with SidecarClient(server.path, client_name="scripted", timeout=5) as client:
        with pytest.raises(ProtocolError, match="undecodable"):
            client.health()
    server.join()


def test_timeout_then_late_answer_is_dropped(tmp_path: Path) -> None:
    def script(conn, read_request):
        hello(conn, read_request)
        slow = read_request()
        time.sleep(0.6)
        send(conn, pb.Response(id=slow.id, health=pb.Health(live=True, version="late")))
        quick = read_request()
        send(conn, pb.Response(id=quick.id, health=pb.Health(live=True, version="on time")))
        assert read_request() is None

    server = ScriptedServer(tmp_path / "s.sock", script)
    with SidecarClient(server.path, client_name="scripted", timeout=0.3) as client:
        with pytest.raises(Timeout):
            client.health()
        client.timeout = 5
        assert client.health().version == "on time"
    server.join()


def test_goodbye_and_eof(tmp_path: Path) -> None:
    def script(conn, read_request):
        hello(conn, read_request)
        request = read_request()
        send(conn, pb.Response(id=request.id, health=pb.Health(live=True)))
        send(conn, pb.Response(id=0, goodbye=pb.Goodbye(reason="shutting down")))
        conn.shutdown(socket.SHUT_WR)
        read_request()

    server = ScriptedServer(tmp_path / "s.sock", script)
    with SidecarClient(server.path, client_name="scripted", timeout=5) as client:
        assert client.health().live
        with pytest.raises(ConnectionClosed) as closed:
            client.stats()
        assert closed.value.goodbye and closed.value.reason == "shutting down"
    server.join()


def test_server_refusal_with_id_zero_is_raised_typed(tmp_path: Path) -> None:
    from realtime_sidecar_client import PermissionDenied

    def script(conn, read_request):
        err = pb.Error(code=pb.ERROR_CODE_PERMISSION_DENIED, message="peer uid 1 is not allowed")
        err.details["uid"] = "1"
        send(conn, pb.Response(id=0, error=err))
        conn.shutdown(socket.SHUT_WR)
        read_request()

    server = ScriptedServer(tmp_path / "s.sock", script)
    with pytest.raises(PermissionDenied) as denied:
        SidecarClient(server.path, client_name="scripted", timeout=5)
    assert denied.value.details == {"uid": "1"} and denied.value.errno is None
    server.join()
