"""Frames on the sidecar socket: a 4-byte big-endian length N, then N bytes of one message."""

from __future__ import annotations

import struct
from typing import List

from .errors import ProtocolError

HEADER = struct.Struct(">I")
#: The sidecar's default ``SIDECAR_MAX_FRAME_BYTES``; also this client's default read limit.
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024


def encode_frame(body: bytes) -> bytes:
    """The frame holding ``body`` (a serialized message)."""
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Splits a byte stream into frame bodies, refusing lengths of 0 or above ``max_frame_bytes``
    before buffering them (a corrupt or hostile length never makes the client allocate)."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be positive")
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._offset = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buffer) - self._offset

    def feed(self, data: bytes) -> List[bytes]:
        """Appends ``data`` and returns the frames now complete, oldest first."""
        self._buffer += data
        frames: List[bytes] = []
        while True:
            available = len(self._buffer) - self._offset
            if available < HEADER.size:
                break
            (length,) = HEADER.unpack_from(self._buffer, self._offset)
            if length == 0 or length > self.max_frame_bytes:
                raise ProtocolError(f"frame length {length} outside 1..{self.max_frame_bytes}")
            if available < HEADER.size + length:
                break
            start = self._offset + HEADER.size
            frames.append(bytes(self._buffer[start:start + length]))
            self._offset = start + length
        if self._offset:
            del self._buffer[:self._offset]
            self._offset = 0
        return frames
