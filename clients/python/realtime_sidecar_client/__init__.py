"""Python client for the realtime-sidecar Unix-socket protocol (proto/realtime/v1/sidecar.proto).

    from realtime_sidecar_client import SidecarClient, SidecarError, SignalsLost, pb

Results are the generated protobuf messages (``pb.Signal``, ``pb.DepthMetrics``, ...); their
fields are documented in the .proto. ``pb.Action.Name(signal.action)`` gives "ACTION_BUY", ...
"""

from .client import (
    DEFAULT_SOCKET_PATH,
    MAX_SIGNALS_PER_PAGE,
    PROTOCOL_VERSION,
    DepthSubscription,
    SidecarClient,
    SignalCursor,
    SignalSubscription,
)
from .errors import (
    BadFrame,
    ConnectionClosed,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ResourceExhausted,
    SidecarClientError,
    SidecarError,
    SignalsLost,
    SocketMissing,
    Timeout,
    Unavailable,
    Unimplemented,
    VersionMismatch,
)
from .framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encode_frame
from .realtime.v1 import sidecar_pb2 as pb

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES", "DEFAULT_SOCKET_PATH", "MAX_SIGNALS_PER_PAGE", "PROTOCOL_VERSION",
    "BadFrame", "ConnectionClosed", "DepthSubscription", "FailedPrecondition", "FrameDecoder", "InternalError",
    "InvalidArgument", "NotFound", "PermissionDenied", "ProtocolError", "ResourceExhausted", "SidecarClient",
    "SidecarClientError", "SidecarError", "SignalCursor", "SignalSubscription", "SignalsLost", "SocketMissing",
    "Timeout", "Unavailable", "Unimplemented", "VersionMismatch", "encode_frame", "pb",
]
