from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ACTION_BUY: Action
ACTION_CLOSE: Action
ACTION_HOLD: Action
ACTION_SELL: Action
ACTION_UNSPECIFIED: Action
CONFIG_OP_AUDIT: ConfigOp
CONFIG_OP_DELETE: ConfigOp
CONFIG_OP_GET: ConfigOp
CONFIG_OP_LIST: ConfigOp
CONFIG_OP_ROLLBACK: ConfigOp
CONFIG_OP_SCHEMA: ConfigOp
CONFIG_OP_SET: ConfigOp
CONFIG_OP_UNSPECIFIED: ConfigOp
DESCRIPTOR: _descriptor.FileDescriptor
ERROR_CODE_ABORTED: ErrorCode
ERROR_CODE_BAD_FRAME: ErrorCode
ERROR_CODE_FAILED_PRECONDITION: ErrorCode
ERROR_CODE_INTERNAL: ErrorCode
ERROR_CODE_INVALID_ARGUMENT: ErrorCode
ERROR_CODE_NOT_FOUND: ErrorCode
ERROR_CODE_PERMISSION_DENIED: ErrorCode
ERROR_CODE_RESOURCE_EXHAUSTED: ErrorCode
ERROR_CODE_UNAVAILABLE: ErrorCode
ERROR_CODE_UNIMPLEMENTED: ErrorCode
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_UNSUPPORTED_VERSION: ErrorCode
STREAM_DEPTH: Stream
STREAM_SIGNALS: Stream
STREAM_UNSPECIFIED: Stream

class AuditEntry(_message.Message):
    __slots__ = ["action", "changed_at_ms", "changed_by", "has_new", "has_old", "new_parameters", "old_parameters", "reason", "strategy_id", "symbol", "version"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    HAS_NEW_FIELD_NUMBER: _ClassVar[int]
    HAS_OLD_FIELD_NUMBER: _ClassVar[int]
    NEW_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    OLD_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    action: str
    changed_at_ms: int
    changed_by: str
    has_new: bool
    has_old: bool
    new_parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    old_parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    reason: str
    strategy_id: str
    symbol: str
    version: int
    def __init__(self, version: _Optional[int] = ..., strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., action: _Optional[str] = ..., old_parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., new_parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., has_old: bool = ..., has_new: bool = ..., changed_by: _Optional[str] = ..., changed_at_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ConfigCall(_message.Message):
    __slots__ = ["changed_by", "expected_version", "has_expected_version", "limit", "op", "parameters", "reason", "strategy_id", "symbol", "target_version", "validate_only"]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    HAS_EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TARGET_VERSION_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    changed_by: str
    expected_version: int
    has_expected_version: bool
    limit: int
    op: ConfigOp
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    reason: str
    strategy_id: str
    symbol: str
    target_version: int
    validate_only: bool
    def __init__(self, op: _Optional[_Union[ConfigOp, str]] = ..., strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., changed_by: _Optional[str] = ..., reason: _Optional[str] = ..., has_expected_version: bool = ..., expected_version: _Optional[int] = ..., validate_only: bool = ..., limit: _Optional[int] = ..., target_version: _Optional[int] = ...) -> None: ...

class ConfigResult(_message.Message):
    __slots__ = ["audit", "config", "op", "schema", "strategies"]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    STRATEGIES_FIELD_NUMBER: _ClassVar[int]
    audit: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    config: ResolvedConfig
    op: ConfigOp
    schema: _containers.RepeatedCompositeFieldContainer[ParameterSpec]
    strategies: _containers.RepeatedCompositeFieldContainer[StrategyInfo]
    def __init__(self, op: _Optional[_Union[ConfigOp, str]] = ..., strategies: _Optional[_Iterable[_Union[StrategyInfo, _Mapping]]] = ..., schema: _Optional[_Iterable[_Union[ParameterSpec, _Mapping]]] = ..., config: _Optional[_Union[ResolvedConfig, _Mapping]] = ..., audit: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class Counter(_message.Message):
    __slots__ = ["name", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: int
    def __init__(self, name: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...

class DepthEvent(_message.Message):
    __slots__ = ["metrics", "seq"]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    metrics: DepthMetrics
    seq: int
    def __init__(self, seq: _Optional[int] = ..., metrics: _Optional[_Union[DepthMetrics, _Mapping]] = ...) -> None: ...

class DepthMetrics(_message.Message):
    __slots__ = ["age_ms", "ask_depth_10", "ask_depth_5", "ask_levels", "ask_prices", "ask_quantities", "ask_volume", "best_ask", "best_bid", "bid_depth_10", "bid_depth_5", "bid_levels", "bid_prices", "bid_quantities", "bid_volume", "book_event_time_ms", "book_source", "buy_pressure", "event_time_ms", "has_strongest_ask", "has_strongest_bid", "imbalance_percent", "imbalance_ratio", "interpretation", "last_update_id", "mid_price", "net_pressure", "sell_pressure", "spread_abs", "spread_bps", "stale", "strongest_ask_price", "strongest_ask_volume", "strongest_bid_price", "strongest_bid_volume", "symbol", "synced", "total_liquidity", "trend", "venue", "vwap_ask", "vwap_bid", "vwap_spread"]
    AGE_MS_FIELD_NUMBER: _ClassVar[int]
    ASK_DEPTH_10_FIELD_NUMBER: _ClassVar[int]
    ASK_DEPTH_5_FIELD_NUMBER: _ClassVar[int]
    ASK_LEVELS_FIELD_NUMBER: _ClassVar[int]
    ASK_PRICES_FIELD_NUMBER: _ClassVar[int]
    ASK_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ASK_VOLUME_FIELD_NUMBER: _ClassVar[int]
    BEST_ASK_FIELD_NUMBER: _ClassVar[int]
    BEST_BID_FIELD_NUMBER: _ClassVar[int]
    BID_DEPTH_10_FIELD_NUMBER: _ClassVar[int]
    BID_DEPTH_5_FIELD_NUMBER: _ClassVar[int]
    BID_LEVELS_FIELD_NUMBER: _ClassVar[int]
    BID_PRICES_FIELD_NUMBER: _ClassVar[int]
    BID_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    BID_VOLUME_FIELD_NUMBER: _ClassVar[int]
    BOOK_EVENT_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    BOOK_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BUY_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    HAS_STRONGEST_ASK_FIELD_NUMBER: _ClassVar[int]
    HAS_STRONGEST_BID_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    INTERPRETATION_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    MID_PRICE_FIELD_NUMBER: _ClassVar[int]
    NET_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    SELL_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    SPREAD_ABS_FIELD_NUMBER: _ClassVar[int]
    SPREAD_BPS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    STRONGEST_ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    STRONGEST_ASK_VOLUME_FIELD_NUMBER: _ClassVar[int]
    STRONGEST_BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    STRONGEST_BID_VOLUME_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SYNCED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    VWAP_ASK_FIELD_NUMBER: _ClassVar[int]
    VWAP_BID_FIELD_NUMBER: _ClassVar[int]
    VWAP_SPREAD_FIELD_NUMBER: _ClassVar[int]
    age_ms: int
    ask_depth_10: float
    ask_depth_5: float
    ask_levels: int
    ask_prices: _containers.RepeatedScalarFieldContainer[float]
    ask_quantities: _containers.RepeatedScalarFieldContainer[float]
    ask_volume: float
    best_ask: float
    best_bid: float
    bid_depth_10: float
    bid_depth_5: float
    bid_levels: int
    bid_prices: _containers.RepeatedScalarFieldContainer[float]
    bid_quantities: _containers.RepeatedScalarFieldContainer[float]
    bid_volume: float
    book_event_time_ms: int
    book_source: str
    buy_pressure: float
    event_time_ms: int
    has_strongest_ask: bool
    has_strongest_bid: bool
    imbalance_percent: float
    imbalance_ratio: float
    interpretation: str
    last_update_id: int
    mid_price: float
    net_pressure: float
    sell_pressure: float
    spread_abs: float
    spread_bps: float
    stale: bool
    strongest_ask_price: float
    strongest_ask_volume: float
    strongest_bid_price: float
    strongest_bid_volume: float
    symbol: str
    synced: bool
    total_liquidity: float
    trend: str
    venue: str
    vwap_ask: float
    vwap_bid: float
    vwap_spread: float
    def __init__(self, symbol: _Optional[str] = ..., venue: _Optional[str] = ..., event_time_ms: _Optional[int] = ..., imbalance_ratio: _Optional[float] = ..., imbalance_percent: _Optional[float] = ..., bid_volume: _Optional[float] = ..., ask_volume: _Optional[float] = ..., buy_pressure: _Optional[float] = ..., sell_pressure: _Optional[float] = ..., net_pressure: _Optional[float] = ..., interpretation: _Optional[str] = ..., total_liquidity: _Optional[float] = ..., bid_depth_5: _Optional[float] = ..., ask_depth_5: _Optional[float] = ..., bid_depth_10: _Optional[float] = ..., ask_depth_10: _Optional[float] = ..., best_bid: _Optional[float] = ..., best_ask: _Optional[float] = ..., spread_abs: _Optional[float] = ..., spread_bps: _Optional[float] = ..., mid_price: _Optional[float] = ..., vwap_bid: _Optional[float] = ..., vwap_ask: _Optional[float] = ..., vwap_spread: _Optional[float] = ..., bid_levels: _Optional[int] = ..., ask_levels: _Optional[int] = ..., has_strongest_bid: bool = ..., strongest_bid_price: _Optional[float] = ..., strongest_bid_volume: _Optional[float] = ..., has_strongest_ask: bool = ..., strongest_ask_price: _Optional[float] = ..., strongest_ask_volume: _Optional[float] = ..., bid_prices: _Optional[_Iterable[float]] = ..., bid_quantities: _Optional[_Iterable[float]] = ..., ask_prices: _Optional[_Iterable[float]] = ..., ask_quantities: _Optional[_Iterable[float]] = ..., trend: _Optional[str] = ..., book_source: _Optional[str] = ..., synced: bool = ..., last_update_id: _Optional[int] = ..., book_event_time_ms: _Optional[int] = ..., age_ms: _Optional[int] = ..., stale: bool = ...) -> None: ...

class DepthMetricsPage(_message.Message):
    __slots__ = ["has_next", "has_previous", "limit", "metrics", "offset", "page", "pages", "total"]
    HAS_NEXT_FIELD_NUMBER: _ClassVar[int]
    HAS_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    has_next: bool
    has_previous: bool
    limit: int
    metrics: _containers.RepeatedCompositeFieldContainer[DepthMetrics]
    offset: int
    page: int
    pages: int
    total: int
    def __init__(self, metrics: _Optional[_Iterable[_Union[DepthMetrics, _Mapping]]] = ..., total: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., page: _Optional[int] = ..., pages: _Optional[int] = ..., has_next: bool = ..., has_previous: bool = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ["code", "details", "message"]
    class DetailsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    details: _containers.ScalarMap[str, str]
    message: str
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Gap(_message.Message):
    __slots__ = ["from_seq", "stream", "subscription_id", "to_seq"]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    stream: Stream
    subscription_id: int
    to_seq: int
    def __init__(self, subscription_id: _Optional[int] = ..., from_seq: _Optional[int] = ..., to_seq: _Optional[int] = ..., stream: _Optional[_Union[Stream, str]] = ...) -> None: ...

class GetDepthMetrics(_message.Message):
    __slots__ = ["include_levels", "symbol", "venue"]
    INCLUDE_LEVELS_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    include_levels: bool
    symbol: str
    venue: str
    def __init__(self, symbol: _Optional[str] = ..., venue: _Optional[str] = ..., include_levels: bool = ...) -> None: ...

class GetMarketSummary(_message.Message):
    __slots__ = ["venue"]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    venue: str
    def __init__(self, venue: _Optional[str] = ...) -> None: ...

class GetPressureHistory(_message.Message):
    __slots__ = ["symbol", "timeframe", "venue"]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TIMEFRAME_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    timeframe: str
    venue: str
    def __init__(self, symbol: _Optional[str] = ..., timeframe: _Optional[str] = ..., venue: _Optional[str] = ...) -> None: ...

class GetSignals(_message.Message):
    __slots__ = ["after_seq", "max", "strategies", "symbols"]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    STRATEGIES_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    max: int
    strategies: _containers.RepeatedScalarFieldContainer[str]
    symbols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, after_seq: _Optional[int] = ..., max: _Optional[int] = ..., symbols: _Optional[_Iterable[str]] = ..., strategies: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStats(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Goodbye(_message.Message):
    __slots__ = ["reason"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Health(_message.Message):
    __slots__ = ["live", "nats_connected", "nats_subscribed", "ready", "version"]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    NATS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    NATS_SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    live: bool
    nats_connected: bool
    nats_subscribed: bool
    ready: bool
    version: str
    def __init__(self, live: bool = ..., ready: bool = ..., nats_connected: bool = ..., nats_subscribed: bool = ..., version: _Optional[str] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Hello(_message.Message):
    __slots__ = ["client_name", "protocol_version"]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    client_name: str
    protocol_version: int
    def __init__(self, protocol_version: _Optional[int] = ..., client_name: _Optional[str] = ...) -> None: ...

class HelloResult(_message.Message):
    __slots__ = ["capabilities", "last_signal_seq", "max_frame_bytes", "protocol_version", "server_version", "strategies", "venues"]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    LAST_SIGNAL_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    STRATEGIES_FIELD_NUMBER: _ClassVar[int]
    VENUES_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    last_signal_seq: int
    max_frame_bytes: int
    protocol_version: int
    server_version: str
    strategies: _containers.RepeatedScalarFieldContainer[str]
    venues: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, protocol_version: _Optional[int] = ..., server_version: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., strategies: _Optional[_Iterable[str]] = ..., venues: _Optional[_Iterable[str]] = ..., max_frame_bytes: _Optional[int] = ..., last_signal_seq: _Optional[int] = ...) -> None: ...

class Indicator(_message.Message):
    __slots__ = ["name", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class ListDepthMetrics(_message.Message):
    __slots__ = ["has_max_pressure", "has_min_pressure", "limit", "max_pressure", "min_pressure", "offset", "sort_by", "sort_order", "symbols", "trend", "venue"]
    HAS_MAX_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    HAS_MIN_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    MIN_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    SORT_ORDER_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    has_max_pressure: bool
    has_min_pressure: bool
    limit: int
    max_pressure: float
    min_pressure: float
    offset: int
    sort_by: str
    sort_order: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    trend: str
    venue: str
    def __init__(self, symbols: _Optional[_Iterable[str]] = ..., has_min_pressure: bool = ..., min_pressure: _Optional[float] = ..., has_max_pressure: bool = ..., max_pressure: _Optional[float] = ..., trend: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., sort_by: _Optional[str] = ..., sort_order: _Optional[str] = ..., venue: _Optional[str] = ...) -> None: ...

class MarketSummary(_message.Message):
    __slots__ = ["avg_imbalance_ratio", "avg_net_pressure", "avg_spread_bps", "bearish_symbols", "bullish_symbols", "highest_buy_pressure", "highest_sell_pressure", "neutral_symbols", "symbols_tracked", "time_ms", "total_liquidity"]
    AVG_IMBALANCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    AVG_NET_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    AVG_SPREAD_BPS_FIELD_NUMBER: _ClassVar[int]
    BEARISH_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    BULLISH_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_BUY_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_SELL_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_TRACKED_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    avg_imbalance_ratio: float
    avg_net_pressure: float
    avg_spread_bps: float
    bearish_symbols: int
    bullish_symbols: int
    highest_buy_pressure: _containers.RepeatedScalarFieldContainer[str]
    highest_sell_pressure: _containers.RepeatedScalarFieldContainer[str]
    neutral_symbols: int
    symbols_tracked: int
    time_ms: int
    total_liquidity: float
    def __init__(self, time_ms: _Optional[int] = ..., symbols_tracked: _Optional[int] = ..., bullish_symbols: _Optional[int] = ..., bearish_symbols: _Optional[int] = ..., neutral_symbols: _Optional[int] = ..., avg_net_pressure: _Optional[float] = ..., avg_imbalance_ratio: _Optional[float] = ..., avg_spread_bps: _Optional[float] = ..., total_liquidity: _Optional[float] = ..., highest_buy_pressure: _Optional[_Iterable[str]] = ..., highest_sell_pressure: _Optional[_Iterable[str]] = ...) -> None: ...

class Parameter(_message.Message):
    __slots__ = ["name", "source", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    source: str
    value: ParameterValue
    def __init__(self, name: _Optional[str] = ..., value: _Optional[_Union[ParameterValue, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class ParameterSpec(_message.Message):
    __slots__ = ["allowed", "default_value", "description", "environment_variable", "has_max", "has_min", "max", "min", "name", "type"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_VARIABLE_FIELD_NUMBER: _ClassVar[int]
    HAS_MAX_FIELD_NUMBER: _ClassVar[int]
    HAS_MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[str]
    default_value: ParameterValue
    description: str
    environment_variable: str
    has_max: bool
    has_min: bool
    max: float
    min: float
    name: str
    type: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., default_value: _Optional[_Union[ParameterValue, _Mapping]] = ..., has_min: bool = ..., min: _Optional[float] = ..., has_max: bool = ..., max: _Optional[float] = ..., allowed: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., environment_variable: _Optional[str] = ...) -> None: ...

class ParameterValue(_message.Message):
    __slots__ = ["boolean", "integer", "number", "text"]
    BOOLEAN_FIELD_NUMBER: _ClassVar[int]
    INTEGER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    boolean: bool
    integer: int
    number: float
    text: str
    def __init__(self, number: _Optional[float] = ..., integer: _Optional[int] = ..., boolean: bool = ..., text: _Optional[str] = ...) -> None: ...

class PressureHistory(_message.Message):
    __slots__ = ["avg_pressure", "imbalance", "max_pressure", "min_pressure", "pressure", "symbol", "time_ms", "timeframe", "total_data_points", "trend", "trend_strength", "venue"]
    AVG_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    MIN_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TIMEFRAME_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DATA_POINTS_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    TREND_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    avg_pressure: float
    imbalance: _containers.RepeatedScalarFieldContainer[float]
    max_pressure: float
    min_pressure: float
    pressure: _containers.RepeatedScalarFieldContainer[float]
    symbol: str
    time_ms: _containers.RepeatedScalarFieldContainer[int]
    timeframe: str
    total_data_points: int
    trend: str
    trend_strength: float
    venue: str
    def __init__(self, symbol: _Optional[str] = ..., venue: _Optional[str] = ..., timeframe: _Optional[str] = ..., avg_pressure: _Optional[float] = ..., max_pressure: _Optional[float] = ..., min_pressure: _Optional[float] = ..., trend: _Optional[str] = ..., trend_strength: _Optional[float] = ..., total_data_points: _Optional[int] = ..., time_ms: _Optional[_Iterable[int]] = ..., pressure: _Optional[_Iterable[float]] = ..., imbalance: _Optional[_Iterable[float]] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ["config", "get_depth_metrics", "get_market_summary", "get_pressure_history", "get_signals", "get_stats", "health", "hello", "id", "list_depth_metrics", "subscribe", "unsubscribe"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    GET_DEPTH_METRICS_FIELD_NUMBER: _ClassVar[int]
    GET_MARKET_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    GET_PRESSURE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    GET_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    GET_STATS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIST_DEPTH_METRICS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    config: ConfigCall
    get_depth_metrics: GetDepthMetrics
    get_market_summary: GetMarketSummary
    get_pressure_history: GetPressureHistory
    get_signals: GetSignals
    get_stats: GetStats
    health: HealthCheck
    hello: Hello
    id: int
    list_depth_metrics: ListDepthMetrics
    subscribe: Subscribe
    unsubscribe: Unsubscribe
    def __init__(self, id: _Optional[int] = ..., hello: _Optional[_Union[Hello, _Mapping]] = ..., get_signals: _Optional[_Union[GetSignals, _Mapping]] = ..., subscribe: _Optional[_Union[Subscribe, _Mapping]] = ..., unsubscribe: _Optional[_Union[Unsubscribe, _Mapping]] = ..., get_depth_metrics: _Optional[_Union[GetDepthMetrics, _Mapping]] = ..., list_depth_metrics: _Optional[_Union[ListDepthMetrics, _Mapping]] = ..., get_pressure_history: _Optional[_Union[GetPressureHistory, _Mapping]] = ..., get_market_summary: _Optional[_Union[GetMarketSummary, _Mapping]] = ..., get_stats: _Optional[_Union[GetStats, _Mapping]] = ..., health: _Optional[_Union[HealthCheck, _Mapping]] = ..., config: _Optional[_Union[ConfigCall, _Mapping]] = ...) -> None: ...

class ResolvedConfig(_message.Message):
    __slots__ = ["enabled", "is_override", "overrides", "parameters", "source", "stored_version", "strategy_id", "symbol", "updated_at_ms", "updated_by", "version"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    IS_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STORED_VERSION_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    is_override: bool
    overrides: _containers.RepeatedCompositeFieldContainer[Parameter]
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    source: str
    stored_version: int
    strategy_id: str
    symbol: str
    updated_at_ms: int
    updated_by: str
    version: int
    def __init__(self, strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., overrides: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., version: _Optional[int] = ..., stored_version: _Optional[int] = ..., source: _Optional[str] = ..., is_override: bool = ..., enabled: bool = ..., updated_at_ms: _Optional[int] = ..., updated_by: _Optional[str] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ["config", "depth_event", "depth_metrics", "depth_metrics_page", "error", "gap", "goodbye", "health", "hello", "id", "market_summary", "pressure_history", "signal_event", "signals", "stats", "subscribed", "unsubscribed"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    DEPTH_EVENT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_METRICS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_METRICS_PAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    GOODBYE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_EVENT_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    config: ConfigResult
    depth_event: DepthEvent
    depth_metrics: DepthMetrics
    depth_metrics_page: DepthMetricsPage
    error: Error
    gap: Gap
    goodbye: Goodbye
    health: Health
    hello: HelloResult
    id: int
    market_summary: MarketSummary
    pressure_history: PressureHistory
    signal_event: SignalEvent
    signals: SignalPage
    stats: Stats
    subscribed: SubscribeResult
    unsubscribed: UnsubscribeResult
    def __init__(self, id: _Optional[int] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., hello: _Optional[_Union[HelloResult, _Mapping]] = ..., signals: _Optional[_Union[SignalPage, _Mapping]] = ..., subscribed: _Optional[_Union[SubscribeResult, _Mapping]] = ..., unsubscribed: _Optional[_Union[UnsubscribeResult, _Mapping]] = ..., depth_metrics: _Optional[_Union[DepthMetrics, _Mapping]] = ..., depth_metrics_page: _Optional[_Union[DepthMetricsPage, _Mapping]] = ..., pressure_history: _Optional[_Union[PressureHistory, _Mapping]] = ..., market_summary: _Optional[_Union[MarketSummary, _Mapping]] = ..., stats: _Optional[_Union[Stats, _Mapping]] = ..., health: _Optional[_Union[Health, _Mapping]] = ..., signal_event: _Optional[_Union[SignalEvent, _Mapping]] = ..., depth_event: _Optional[_Union[DepthEvent, _Mapping]] = ..., gap: _Optional[_Union[Gap, _Mapping]] = ..., goodbye: _Optional[_Union[Goodbye, _Mapping]] = ..., config: _Optional[_Union[ConfigResult, _Mapping]] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ["action", "confidence", "current_price", "event_time_ms", "id", "indicators", "metadata_json", "price", "quantity", "reasoning", "seq", "stop_loss", "stop_loss_pct", "strategy_id", "strength", "symbol", "take_profit", "take_profit_pct", "timeframe", "venue"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_PCT_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_PCT_FIELD_NUMBER: _ClassVar[int]
    TIMEFRAME_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    action: Action
    confidence: float
    current_price: float
    event_time_ms: int
    id: str
    indicators: _containers.RepeatedCompositeFieldContainer[Indicator]
    metadata_json: str
    price: float
    quantity: float
    reasoning: str
    seq: int
    stop_loss: float
    stop_loss_pct: float
    strategy_id: str
    strength: str
    symbol: str
    take_profit: float
    take_profit_pct: float
    timeframe: str
    venue: str
    def __init__(self, seq: _Optional[int] = ..., id: _Optional[str] = ..., strategy_id: _Optional[str] = ..., symbol: _Optional[str] = ..., venue: _Optional[str] = ..., action: _Optional[_Union[Action, str]] = ..., confidence: _Optional[float] = ..., strength: _Optional[str] = ..., price: _Optional[float] = ..., current_price: _Optional[float] = ..., quantity: _Optional[float] = ..., stop_loss: _Optional[float] = ..., take_profit: _Optional[float] = ..., stop_loss_pct: _Optional[float] = ..., take_profit_pct: _Optional[float] = ..., event_time_ms: _Optional[int] = ..., timeframe: _Optional[str] = ..., reasoning: _Optional[str] = ..., indicators: _Optional[_Iterable[_Union[Indicator, _Mapping]]] = ..., metadata_json: _Optional[str] = ...) -> None: ...

class SignalEvent(_message.Message):
    __slots__ = ["signal"]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    signal: Signal
    def __init__(self, signal: _Optional[_Union[Signal, _Mapping]] = ...) -> None: ...

class SignalPage(_message.Message):
    __slots__ = ["next_seq", "oldest_seq", "signals", "truncated"]
    NEXT_SEQ_FIELD_NUMBER: _ClassVar[int]
    OLDEST_SEQ_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    next_seq: int
    oldest_seq: int
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    truncated: bool
    def __init__(self, signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., next_seq: _Optional[int] = ..., truncated: bool = ..., oldest_seq: _Optional[int] = ...) -> None: ...

class Stats(_message.Message):
    __slots__ = ["last_event_time_ms", "last_signal_seq", "messages_by_kind", "messages_processed", "messages_received", "messages_rejected", "nats_connected", "rejected_by_reason", "signals_generated", "signals_published", "slow_consumer_dropped", "socket_clients", "socket_events_dropped", "socket_gaps", "symbols_tracked", "uptime_seconds"]
    LAST_EVENT_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_SIGNAL_SEQ_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_BY_KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_REJECTED_FIELD_NUMBER: _ClassVar[int]
    NATS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_GENERATED_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    SLOW_CONSUMER_DROPPED_FIELD_NUMBER: _ClassVar[int]
    SOCKET_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    SOCKET_EVENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    SOCKET_GAPS_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_TRACKED_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    last_event_time_ms: int
    last_signal_seq: int
    messages_by_kind: _containers.RepeatedCompositeFieldContainer[Counter]
    messages_processed: int
    messages_received: int
    messages_rejected: int
    nats_connected: bool
    rejected_by_reason: _containers.RepeatedCompositeFieldContainer[Counter]
    signals_generated: _containers.RepeatedCompositeFieldContainer[Counter]
    signals_published: _containers.RepeatedCompositeFieldContainer[Counter]
    slow_consumer_dropped: int
    socket_clients: int
    socket_events_dropped: int
    socket_gaps: int
    symbols_tracked: int
    uptime_seconds: float
    def __init__(self, messages_received: _Optional[int] = ..., messages_processed: _Optional[int] = ..., messages_rejected: _Optional[int] = ..., rejected_by_reason: _Optional[_Iterable[_Union[Counter, _Mapping]]] = ..., messages_by_kind: _Optional[_Iterable[_Union[Counter, _Mapping]]] = ..., signals_generated: _Optional[_Iterable[_Union[Counter, _Mapping]]] = ..., signals_published: _Optional[_Iterable[_Union[Counter, _Mapping]]] = ..., slow_consumer_dropped: _Optional[int] = ..., symbols_tracked: _Optional[int] = ..., nats_connected: bool = ..., last_signal_seq: _Optional[int] = ..., socket_clients: _Optional[int] = ..., socket_events_dropped: _Optional[int] = ..., socket_gaps: _Optional[int] = ..., last_event_time_ms: _Optional[int] = ..., uptime_seconds: _Optional[float] = ...) -> None: ...

class StrategyInfo(_message.Message):
    __slots__ = ["enabled", "has_global_config", "parameter_count", "strategy_id", "supports_symbol_overrides", "symbol_overrides"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    HAS_GLOBAL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_SYMBOL_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    has_global_config: bool
    parameter_count: int
    strategy_id: str
    supports_symbol_overrides: bool
    symbol_overrides: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, strategy_id: _Optional[str] = ..., enabled: bool = ..., has_global_config: bool = ..., symbol_overrides: _Optional[_Iterable[str]] = ..., parameter_count: _Optional[int] = ..., supports_symbol_overrides: bool = ...) -> None: ...

class Subscribe(_message.Message):
    __slots__ = ["after_seq", "min_interval_ms", "strategies", "stream", "symbols", "venue"]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    STRATEGIES_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    min_interval_ms: int
    strategies: _containers.RepeatedScalarFieldContainer[str]
    stream: Stream
    symbols: _containers.RepeatedScalarFieldContainer[str]
    venue: str
    def __init__(self, stream: _Optional[_Union[Stream, str]] = ..., symbols: _Optional[_Iterable[str]] = ..., strategies: _Optional[_Iterable[str]] = ..., min_interval_ms: _Optional[int] = ..., after_seq: _Optional[int] = ..., venue: _Optional[str] = ...) -> None: ...

class SubscribeResult(_message.Message):
    __slots__ = ["subscription_id"]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    def __init__(self, subscription_id: _Optional[int] = ...) -> None: ...

class Unsubscribe(_message.Message):
    __slots__ = ["subscription_id"]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    def __init__(self, subscription_id: _Optional[int] = ...) -> None: ...

class UnsubscribeResult(_message.Message):
    __slots__ = ["subscription_id"]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    def __init__(self, subscription_id: _Optional[int] = ...) -> None: ...

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Stream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ConfigOp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
