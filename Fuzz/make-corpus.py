#!/usr/bin/env python3
"""Writes the committed seed corpus of the parser/engine fuzzer (Fuzz/corpus/).

Every frame is synthetic, written here by hand in the shapes of Sources/Sidecar/Simulation/
SyntheticMarket.swift and of Binance's documented streams: every stream kind, spot and futures
shapes, with and without the upstream envelope, the two feed subjects (reference prices, on-chain
metrics), and malformed variants of each. Nothing here comes from ../shared (recorded data is
added at run time by scripts/fuzz and never committed).

    python3 Fuzz/make-corpus.py        # rewrites Fuzz/corpus/
"""
import hashlib
import json
import os
import shutil

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
T0 = 1767225600000


def envelope(stream, data, ts="2026-01-01T00:00:00.000Z"):
    return ('{"stream":"%s","data":%s,"timestamp":"%s","message_id":"0b9f6d1e-3c1a-4c8e-9a55-1f2d3e4a5b6c",'
            '"source":"binance-websocket","version":"1.0"}' % (stream, data, ts))


def combined(stream, data):
    return '{"stream":"%s","data":%s}' % (stream, data)


def levels(start, step, n, qty="1.50000000"):
    return ",".join('["%.8f","%s"]' % (start + i * step, qty) for i in range(n))


sym, lsym = "BTCUSDT", "btcusdt"
payloads = {
    "spot_trade": '{"e":"trade","E":%d,"s":"%s","t":12345,"p":"50000.01000000","q":"0.00200000","T":%d,"m":true,"M":true}' % (T0, sym, T0 - 1),
    "spot_trade_legacy": '{"e":"trade","E":%d,"s":"%s","t":1,"p":"50000.0","q":"1.0","b":88,"a":50,"T":%d,"m":false,"M":true}' % (T0, sym, T0),
    "agg_trade": '{"e":"aggTrade","E":%d,"s":"%s","a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":%d,"m":true,"M":true}' % (T0, sym, T0),
    "usdm_agg_trade": '{"e":"aggTrade","E":%d,"a":5933014,"s":"%s","p":"50000.10","q":"0.010","f":100,"l":105,"T":%d,"m":true}' % (T0, sym, T0),
    "usdm_trade": '{"e":"trade","E":%d,"T":%d,"s":"%s","t":12345,"p":"50000.10","q":"0.010","X":"MARKET","m":true}' % (T0, T0, sym),
    "ticker": ('{"e":"24hrTicker","E":%d,"s":"%s","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025",'
               '"Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000",'
               '"q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}') % (T0, sym),
    "usdm_ticker": ('{"e":"24hrTicker","E":%d,"s":"%s","p":"0.0015","P":"250.00","w":"0.0018","c":"0.0025","Q":"10",'
                    '"o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}') % (T0, sym),
    "book_ticker_spot": '{"u":400900217,"s":"%s","b":"49999.99000000","B":"31.21000000","a":"50000.01000000","A":"40.66000000"}' % sym,
    "book_ticker_usdm": '{"e":"bookTicker","u":400900217,"E":%d,"T":%d,"s":"%s","b":"49999.9","B":"31.21","a":"50000.1","A":"40.66"}' % (T0, T0, sym),
    "depth20_spot": '{"lastUpdateId":160,"bids":[%s],"asks":[%s]}' % (levels(49990, -1, 20), levels(50010, 1, 20)),
    "depth20_usdm": ('{"e":"depthUpdate","E":%d,"T":%d,"s":"%s","U":157,"u":160,"pu":149,"b":[%s],"a":[%s]}'
                     % (T0, T0, sym, levels(49990, -0.1, 20), levels(50010, 0.1, 20))),
    "depth_diff_spot": '{"e":"depthUpdate","E":%d,"s":"%s","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}' % (T0, sym),
    "depth_diff_usdm": '{"e":"depthUpdate","E":%d,"T":%d,"s":"%s","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","0"]]}' % (T0, T0, sym),
    "kline": ('{"e":"kline","E":%d,"s":"%s","k":{"t":%d,"T":%d,"s":"%s","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020",'
              '"h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}') % (T0, sym, T0, T0 + 59999, sym),
    "mark_price": '{"e":"markPriceUpdate","E":%d,"s":"%s","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}' % (T0, sym),
}
streams = {
    "spot_trade": "@trade", "spot_trade_legacy": "@trade", "agg_trade": "@aggTrade", "usdm_agg_trade": "@aggTrade",
    "usdm_trade": "@trade", "ticker": "@ticker", "usdm_ticker": "@ticker", "book_ticker_spot": "@bookTicker",
    "book_ticker_usdm": "@bookTicker", "depth20_spot": "@depth20@100ms", "depth20_usdm": "@depth20@100ms",
    "depth_diff_spot": "@depth@100ms", "depth_diff_usdm": "@depth@100ms", "kline": "@kline_1m",
    "mark_price": "@markPrice@1s",
}

frames = {}
for name, data in payloads.items():
    stream = lsym + streams[name]
    frames[name + ".env"] = envelope(stream, data)
    frames[name + ".combined"] = combined(stream, data)
    frames[name + ".bare"] = data

# Several symbols and a book that makes orderbook_skew / spread_liquidity / iceberg fire.
for s in ["ETHUSDT", "SOLUSDT", "ETHBTC", "1000PEPEUSDT", "A" * 20]:
    frames["depth20_skew_" + s[:12]] = envelope(s.lower() + "@depth20@100ms",
        '{"lastUpdateId":1,"bids":[%s],"asks":[%s]}' % (levels(100, -0.01, 10, "900.0"), levels(100.02, 0.01, 10, "1.0")))
frames["depth20_iceberg"] = envelope("btcusdt@depth20@100ms",
    '{"lastUpdateId":2,"bids":[["50000.00","5000.0"],["49999.00","1.0"]],"asks":[["50001.00","1.0"],["50002.00","1.0"]]}')

# Malformed variants: each valid shape broken in one way.
base = frames["spot_trade.env"]
broken = {
    "empty": "",
    "ws": " \n\t",
    "truncated": base[: len(base) // 2],
    "trailing_garbage": base + " x",
    "two_documents": base + "{}",
    "nul": base + "\x00",
    "nan_price": envelope("btcusdt@trade", payloads["spot_trade"].replace('"50000.01000000"', '"NaN"')),
    "inf_price": envelope("btcusdt@trade", payloads["spot_trade"].replace('"50000.01000000"', '"1e400"')),
    "negative_qty": envelope("btcusdt@trade", payloads["spot_trade"].replace('"0.00200000"', '"-1"')),
    "number_price": envelope("btcusdt@trade", payloads["spot_trade"].replace('"50000.01000000"', "50000.01")),
    "huge_digits": envelope("btcusdt@trade", payloads["spot_trade"].replace('"50000.01000000"', '"' + "9" * 400 + '.5"')),
    "exp_price": envelope("btcusdt@trade", payloads["spot_trade"].replace('"50000.01000000"', '"5.000001e4"')),
    "missing_symbol": envelope("@trade", payloads["spot_trade"].replace('"s":"BTCUSDT",', "")),
    "symbol_mismatch": envelope("ethusdt@trade", payloads["spot_trade"]),
    "escaped_stream": envelope("btc\\u0075sdt@trade", payloads["spot_trade"]),
    "escaped_symbol": envelope("btcusdt@trade", payloads["spot_trade"].replace('"BTCUSDT"', '"BTC\\u0055SDT\\n"')),
    "long_symbol": envelope("x" * 300 + "@trade", payloads["spot_trade"].replace('"BTCUSDT"', '"' + "X" * 300 + '"')),
    "unknown_stream": envelope("btcusdt@foo", payloads["spot_trade"]),
    "kline_bad": envelope("btcusdt@kline_", "{}"),
    "crossed_book": envelope("btcusdt@depth20@100ms", '{"lastUpdateId":1,"bids":[["101","1"]],"asks":[["100","1"]]}'),
    "empty_book": envelope("btcusdt@depth20@100ms", '{"lastUpdateId":1,"bids":[],"asks":[]}'),
    "one_side_book": envelope("btcusdt@depth20@100ms", '{"lastUpdateId":1,"bids":[["1","1"]],"asks":[]}'),
    "level_wrong_arity": envelope("btcusdt@depth20@100ms", '{"lastUpdateId":1,"bids":[["1","1","1"]],"asks":[["2"]]}'),
    "deep_nesting": envelope("btcusdt@trade", "[" * 2000 + "]" * 2000),
    "big_book": envelope("btcusdt@depth20@100ms", '{"lastUpdateId":1,"bids":[%s],"asks":[%s]}' % (levels(50000, -0.01, 1000), levels(50001, 0.01, 1000))),
    "zero_prices": envelope("btcusdt@depth20@100ms", '{"lastUpdateId":1,"bids":[["0","0"]],"asks":[["0","0"]]}'),
    "data_not_object": envelope("btcusdt@trade", '"x"'),
    "duplicate_keys": envelope("btcusdt@trade", payloads["spot_trade"][:-1] + ',"p":"1","p":"2"}'),
    "bad_utf8": envelope("btcusdt@trade", payloads["spot_trade"].replace('"BTCUSDT"', '"BTC\udcffUSDT"')),
    "bad_timestamp": envelope("btcusdt@trade", payloads["spot_trade"].replace('"E":%d' % T0, '"E":-1'), ts="not-a-time"),
    "float_time": envelope("btcusdt@trade", payloads["spot_trade"].replace('"E":%d' % T0, '"E":1.5e12')),
    "ref_price": '{"venue":"coinbase","symbol":"BTC-USD","price":50400.5,"ts":%d}' % T0,
    "ref_price_iso": '{"venue":"kraken","symbol":"ETH/USD","price":"3000.25","ts":"2026-01-01T00:00:00Z"}',
    "ref_price_bad": '{"venue":"","symbol":"B","price":-1,"ts":5}',
    "onchain": ('{"asset":"BTC","ts":"2026-01-01T00:00:00Z","active_addresses":1010000,"transaction_volume":520000,'
                '"hash_rate":201,"exchange_inflow":1500,"exchange_outflow":2500}'),
    "onchain_eth": '{"asset":"eth","ts":%d,"active_addresses":"5","transaction_volume_eth":1,"defi_tvl_usd":1e9}' % T0,
    "onchain_bad": '{"asset":"BTC","ts":1,"active_addresses":-5,"transaction_volume":null}',
}
for name, text in broken.items():
    frames["bad_" + name] = text

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
for name, text in sorted(frames.items()):
    data = text.encode("utf-8", "surrogateescape")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(frames), OUT))
