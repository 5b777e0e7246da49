"""Exceptions raised by the sidecar client.

Everything derives from ``SidecarClientError``. Errors the server answered with are
``SidecarError`` (with ``code``, ``code_name``, ``message``, ``details``), one subclass per
``ErrorCode``; connection-level failures are ``ConnectionError`` subclasses as well, so
``except ConnectionError`` catches "the sidecar is not there (any more)".
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Type

from .realtime.v1 import sidecar_pb2 as pb


class SidecarClientError(Exception):
    """Base of every exception this package raises."""


# --------------------------------------------------------------------------------------------
# Connection level


class SocketMissing(SidecarClientError, ConnectionError):
    """Nothing listens at the socket path: the file does not exist (sidecar not started, wrong
    path, emptyDir not shared) or it is a stale socket nobody answers on (ECONNREFUSED)."""

    def __init__(self, path: str, errno: Optional[int] = None, reason: str = "") -> None:
        super().__init__(f"no sidecar listening at {path}" + (f": {reason}" if reason else ""))
        self.path = path
        self.errno = errno


class ConnectionClosed(SidecarClientError, ConnectionError):
    """The connection ended: the server closed it, said Goodbye (``goodbye`` is True and
    ``reason`` holds its reason), an I/O error occurred, or the client was closed."""

    def __init__(self, message: str, *, reason: str = "", goodbye: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.goodbye = goodbye


class ProtocolError(SidecarClientError):
    """The server sent something this client cannot read: a frame of length zero or above
    ``max_frame_bytes``, or bytes that are not a ``Response``. The connection is closed."""


class Timeout(SidecarClientError, TimeoutError):
    """No answer within the timeout. The connection stays usable; a late answer is discarded."""


class SignalsLost(SidecarClientError):
    """Signals ``from_seq..to_seq`` (inclusive) are gone: they fell out of the sidecar's ring
    (``SIGNAL_LOG_CAPACITY``) before this client could re-pull them. Iteration can go on after
    catching this: the next signal is the first one after the lost range.

    ``server_restarted`` is True when the cursor was ahead of the server's newest signal, i.e.
    it came from an earlier sidecar process (sequences restart at 1); the range is then the
    current process's signals that the server skipped."""

    def __init__(self, from_seq: int, to_seq: int, *, server_restarted: bool = False) -> None:
        self.from_seq = from_seq
        self.to_seq = to_seq
        self.server_restarted = server_restarted
        what = "sidecar restarted; " if server_restarted else ""
        super().__init__(f"{what}signals {from_seq}..{to_seq} were lost (fell out of the sidecar's signal log)")

    @property
    def count(self) -> int:
        return max(0, self.to_seq - self.from_seq + 1)


# --------------------------------------------------------------------------------------------
# Server answers


class SidecarError(SidecarClientError):
    """An ``Error`` response from the sidecar."""

    #: The ``ErrorCode`` of this class (subclasses); ``code`` on an instance is what the server sent.
    CODE: int = pb.ERROR_CODE_UNSPECIFIED

    def __init__(self, code: int, message: str, details: Optional[Mapping[str, str]] = None,
                 request_id: Optional[int] = None) -> None:
        self.code = code
        self.message = message
        self.details: Dict[str, str] = dict(details or {})
        self.request_id = request_id
        super().__init__(f"{self.code_name}: {message}" + (f" {self.details}" if self.details else ""))

    @property
    def code_name(self) -> str:
        """``NOT_FOUND``, ``INVALID_ARGUMENT``, ... (the enum name without ``ERROR_CODE_``)."""
        try:
            return pb.ErrorCode.Name(self.code).removeprefix("ERROR_CODE_")
        except ValueError:
            return f"UNKNOWN_{self.code}"


class BadFrame(SidecarError):
    CODE = pb.ERROR_CODE_BAD_FRAME


class InvalidArgument(SidecarError, ValueError):
    CODE = pb.ERROR_CODE_INVALID_ARGUMENT


class NotFound(SidecarError, LookupError):
    CODE = pb.ERROR_CODE_NOT_FOUND


class FailedPrecondition(SidecarError):
    CODE = pb.ERROR_CODE_FAILED_PRECONDITION


class VersionMismatch(SidecarError):
    """The sidecar does not speak this client's protocol version (``details['supported']``)."""

    CODE = pb.ERROR_CODE_UNSUPPORTED_VERSION


class PermissionDenied(SidecarError, PermissionError):
    """Either the OS refused the connection (EACCES on the socket file: check the pod's user
    or group against ``SIDECAR_SOCKET_MODE``; ``errno`` is set) or the sidecar did (the UID is
    not in ``SIDECAR_ALLOWED_UIDS``; ``errno`` is None)."""

    CODE = pb.ERROR_CODE_PERMISSION_DENIED

    def __init__(self, code: int, message: str, details: Optional[Mapping[str, str]] = None,
                 request_id: Optional[int] = None, *, errno: Optional[int] = None) -> None:
        super().__init__(code, message, details, request_id)
        self.errno = errno


class Unimplemented(SidecarError):
    CODE = pb.ERROR_CODE_UNIMPLEMENTED


class Unavailable(SidecarError):
    CODE = pb.ERROR_CODE_UNAVAILABLE


class ResourceExhausted(SidecarError):
    CODE = pb.ERROR_CODE_RESOURCE_EXHAUSTED


class InternalError(SidecarError):
    CODE = pb.ERROR_CODE_INTERNAL


_BY_CODE: Dict[int, Type[SidecarError]] = {
    cls.CODE: cls
    for cls in (BadFrame, InvalidArgument, NotFound, FailedPrecondition, VersionMismatch, PermissionDenied,
                Unimplemented, Unavailable, ResourceExhausted, InternalError)
}


def error_from_response(error: "pb.Error", request_id: Optional[int] = None) -> SidecarError:
    """The typed exception for an ``Error`` message."""
    cls = _BY_CODE.get(error.code, SidecarError)
    return cls(error.code, error.message, dict(error.details), request_id)
