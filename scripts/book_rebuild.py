#!/usr/bin/env python3
"""Independent reference rebuild of Binance local order books from a replay and REST snapshots.

Binance's documented procedure ("How to manage a local order book correctly"; summary in
../shared/reference/binance-book-sync.md), in plain dicts, no code shared with the sidecar:

  spot  (data has no `pu`/`T`): drop diffs with u <= L; the first applied diff must satisfy
        U <= L + 1 <= u; every later one U == previous u + 1.
  usdm  (data has `pu` or `T`): drop diffs with u < L; the first applied diff must satisfy
        U <= L <= u; every later one pu == previous u.

L is the REST snapshot's lastUpdateId. Quantities are absolute; 0 removes the level (removing a
level the book does not hold is normal). When a symbol's snapshot is not bridged (the first diff
after it starts past it, or no diff reaches it) the symbol is reported and skipped. A chain gap
after syncing ends that symbol's rebuild (no second snapshot exists in the recordings) and is
reported.

Only frames with a TRUE diff label (`<sym>@depth` or `<sym>@depth@<speed>`) are read as diffs:
the replays' derived `<sym>@depth20@100ms` partial books (futures ones have the diff shape)
are not. So this reads the true-labelled replays, not relabelled (upstream-style) ones.

Snapshots: `<capture>.rest_depth_snapshots.jsonl` (one REST answer per line) beside the capture
`.jsonl` in ../cryptofeed or ../hftbacktest relative to the replay; its `.meta.txt` names the
symbol of each line (`url=...symbol=X...`) in the same order. When the meta has no URL (the
hftbacktest capture), the single symbol of the replay's diffs is used.

Library use:
    from book_rebuild import rebuild, book_by_u
    for venue, symbol, u, bids, asks in rebuild(replay_path): ...   # top-20, best first, floats
    book_by_u(replay_path, "spot", "ETHUSDT")[u] -> (best_bid, best_ask, bid_levels, ask_levels)
    BookCursor(replay_path, "spot", "ETHUSDT").answer(line, limit) -> REST-shaped book at a replay line

CLI: python3 scripts/book_rebuild.py REPLAY [REPLAY ...]  (prints per symbol diffs applied, gaps)
"""
import argparse
import bisect
import functools
import gzip
import heapq
import json
import os
import re
import sys
from collections import defaultdict

TOP = 20
_DIFF_LABEL = re.compile(r"^[a-z0-9_]+@depth(@\d+ms)?$")
_URL_SYMBOL = re.compile(r"[?&]symbol=([A-Za-z0-9_]+)")


def open_text(path):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def read_replay(path):
    """Envelopes of a replay file, in file order."""
    with open_text(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def is_diff_label(stream):
    return isinstance(stream, str) and bool(_DIFF_LABEL.match(stream))


def venue_of(data):
    """usdm when a depthUpdate carries futures-only fields (`pu`, `T`), else spot."""
    return "usdm" if ("pu" in data or "T" in data) else "spot"


def capture_base(replay_path):
    """Path prefix of the capture a replay was made from (…/cryptofeed/NAME or …/hftbacktest/NAME)."""
    name = os.path.basename(replay_path)
    for suffix in (".nats.jsonl.gz", ".nats.jsonl", ".jsonl.gz", ".jsonl"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    root = os.path.dirname(os.path.dirname(os.path.abspath(replay_path)))
    for sub in ("cryptofeed", "hftbacktest"):
        base = os.path.join(root, sub, name)
        if os.path.exists(base + ".rest_depth_snapshots.jsonl"):
            return base
    raise FileNotFoundError(f"no .rest_depth_snapshots.jsonl for {name} under {root}/{{cryptofeed,hftbacktest}}")


def snapshot_texts(replay_path, diff_symbols=None):
    """{(venue, SYMBOL): the REST answer's JSON text exactly as recorded (one line, no newline)}.

    The venue comes from the meta URL (`/fapi/` -> usdm, else spot) or, without a URL, from the
    answer (futures answers carry `E`/`T`). `diff_symbols` ({(venue, symbol)} seen in the diffs)
    is used only when the meta names no symbol: then the capture must hold one snapshot and the
    diffs one symbol of that venue."""
    base = capture_base(replay_path)
    with open(base + ".rest_depth_snapshots.jsonl", encoding="utf-8") as f:
        texts = [line.rstrip("\r\n") for line in f if line.strip()]
    metas = []
    meta_path = base + ".rest_depth_snapshots.meta.txt"
    if os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            metas = [line.strip() for line in f if line.strip()]
    out = {}
    for i, text in enumerate(texts):
        snap = json.loads(text)
        meta = metas[i] if i < len(metas) else ""
        m = _URL_SYMBOL.search(meta)
        venue = "usdm" if "/fapi/" in meta else ("usdm" if ("E" in snap or "T" in snap) else "spot")
        if m:
            symbol = m.group(1).upper()
        else:
            if diff_symbols is None:
                diff_symbols = _diff_symbols(replay_path)
            candidates = sorted(s for v, s in diff_symbols if v == venue)
            if len(texts) != 1 or len(candidates) != 1:
                raise ValueError(f"{base}: snapshot line {i + 1} names no symbol and it cannot be inferred "
                                 f"(meta {meta!r}, diff symbols {candidates})")
            symbol = candidates[0]
        if (venue, symbol) in out:
            raise ValueError(f"{base}: two snapshots for {venue} {symbol}")
        out[(venue, symbol)] = text
    return out


def load_snapshots(replay_path, diff_symbols=None):
    """{(venue, SYMBOL): parsed REST answer} for the replay's capture (see snapshot_texts)."""
    return {k: json.loads(v) for k, v in snapshot_texts(replay_path, diff_symbols).items()}


def _diff_symbols(replay_path):
    out = set()
    for env in read_replay(replay_path):
        data = env.get("data")
        if is_diff_label(env.get("stream")) and isinstance(data, dict) and data.get("e") == "depthUpdate":
            out.add((venue_of(data), data["s"].upper()))
    return out


def trade_prices(replay_path):
    """{SYMBOL: [(event_time_ms, price)]} from the trade/aggTrade frames, in file order."""
    out = defaultdict(list)
    for env in read_replay(replay_path):
        data = env.get("data")
        if isinstance(data, dict) and data.get("e") in ("trade", "aggTrade"):
            out[data["s"].upper()].append((data["E"], float(data["p"])))
    return dict(out)


def _levels(pairs):
    return {float(p): float(q) for p, q in pairs if float(q) != 0.0}


def _apply(side, pairs):
    for p, q in pairs:
        price, qty = float(p), float(q)
        if qty == 0.0:
            side.pop(price, None)
        else:
            side[price] = qty


def _top(side, best_high):
    keys = heapq.nlargest(TOP, side) if best_high else heapq.nsmallest(TOP, side)
    return [(k, side[k]) for k in keys]


class SymbolReport:
    def __init__(self, venue, symbol):
        self.venue, self.symbol = venue, symbol
        self.snapshot_id = None
        self.diffs_seen = 0
        self.dropped_before = 0      # diffs entirely before the snapshot
        self.applied = 0
        self.bridged = False         # a diff straddled the snapshot
        self.bridge = None           # (U, u) of the first applied diff
        self.not_bridged = None      # reason text when never bridged
        self.gaps = []               # [(prev_u, U, pu, u)] chain breaks after syncing (first ends the rebuild)
        self.after_gap = 0           # diffs not applied because of a gap
        self.crossed = 0             # books with best_bid >= best_ask after a diff

    @property
    def status(self):
        if self.not_bridged:
            return "SKIPPED (" + self.not_bridged + ")"
        return "gaps: " + ", ".join(f"prev_u={g[0]} U={g[1]} pu={g[2]} u={g[3]}" for g in self.gaps) \
            if self.gaps else "no gaps"


@functools.lru_cache(maxsize=8)
def _rebuild_cached(replay_path):
    """Full rebuild of a replay: (events, reports). events: list of
    (line_index, venue, symbol, E, U, u, top_bids, top_asks) per applied diff, in file order."""
    envelopes = list(read_replay(replay_path))
    diffs = defaultdict(list)   # (venue, symbol) -> [(line_index, data)]
    for i, env in enumerate(envelopes):
        data = env.get("data")
        if is_diff_label(env.get("stream")) and isinstance(data, dict) and data.get("e") == "depthUpdate":
            diffs[(venue_of(data), data["s"].upper())].append((i, data))
    snapshots = load_snapshots(replay_path, set(diffs))
    reports = {}
    events = []
    for key in sorted(set(diffs) | set(snapshots)):
        venue, symbol = key
        rep = reports[key] = SymbolReport(venue, symbol)
        rep.diffs_seen = len(diffs.get(key, []))
        snap = snapshots.get(key)
        if snap is None:
            rep.not_bridged = "no REST snapshot for this symbol"
            continue
        last = snap["lastUpdateId"]
        rep.snapshot_id = last
        bids, asks = _levels(snap["bids"]), _levels(snap["asks"])
        prev_u = None
        for i, d in diffs.get(key, []):
            U, u, pu = d["U"], d["u"], d.get("pu")
            if prev_u is None:
                if (venue == "spot" and u <= last) or (venue == "usdm" and u < last):
                    rep.dropped_before += 1
                    continue
                ok = (U <= last + 1 <= u) if venue == "spot" else (U <= last <= u)
                if not ok:
                    rep.not_bridged = (f"snapshot lastUpdateId {last} not bridged: the first later diff has "
                                       f"U={U} u={u}")
                    break
                rep.bridged, rep.bridge = True, (U, u)
            else:
                ok = (U == prev_u + 1) if venue == "spot" else (pu == prev_u)
                if not ok:
                    rep.gaps.append((prev_u, U, pu, u))
                    rep.after_gap = rep.diffs_seen - rep.dropped_before - rep.applied
                    break
            _apply(bids, d["b"])
            _apply(asks, d["a"])
            prev_u = u
            rep.applied += 1
            tb, ta = _top(bids, True), _top(asks, False)
            if tb and ta and tb[0][0] >= ta[0][0]:
                rep.crossed += 1
            events.append((i, venue, symbol, d.get("E"), U, u, tb, ta))
        else:
            if not rep.bridged and not rep.not_bridged:
                rep.not_bridged = (f"snapshot lastUpdateId {last} not bridged: no diff reaches it "
                                   f"({rep.diffs_seen} diffs, all before it)")
    return events, reports


def rebuild(replay_path):
    """Yield per applied diff, in replay order: (venue, symbol, u, top20_bids, top20_asks).
    Sides are lists of (price, qty) floats, best first, at most 20 levels."""
    events, _ = _rebuild_cached(os.path.abspath(replay_path))
    for _, venue, symbol, _, _, u, bids, asks in events:
        yield venue, symbol, u, bids, asks


def rebuild_events(replay_path):
    """Like rebuild() with more detail: (line_index, venue, symbol, E, U, u, top20_bids, top20_asks)."""
    return list(_rebuild_cached(os.path.abspath(replay_path))[0])


def reports(replay_path):
    """{(venue, symbol): SymbolReport} of the rebuild."""
    return dict(_rebuild_cached(os.path.abspath(replay_path))[1])


@functools.lru_cache(maxsize=64)
def _by_u(replay_path, venue, symbol):
    out = {}
    for _, v, s, _, _, u, bids, asks in _rebuild_cached(replay_path)[0]:
        if v == venue and s == symbol:
            out[u] = (bids[0][0] if bids else None, asks[0][0] if asks else None, len(bids), len(asks))
    return out


def book_by_u(replay_path, venue, symbol):
    """{u: (best_bid, best_ask, bid_levels_top20, ask_levels_top20)} for one (venue, SYMBOL)."""
    return _by_u(os.path.abspath(replay_path), venue, symbol.upper())


@functools.lru_cache(maxsize=8)
def _applied_diffs(replay_path):
    """{(venue, symbol): [(line_index, data)]}: the diffs the rebuild applied, in order."""
    events, _ = _rebuild_cached(replay_path)
    wanted = {e[0] for e in events}
    out = defaultdict(list)
    for i, env in enumerate(read_replay(replay_path)):
        if i in wanted:
            data = env["data"]
            out[(venue_of(data), data["s"].upper())].append((i, data))
    return dict(out)


@functools.lru_cache(maxsize=8)
def _snapshots_cached(replay_path):
    return load_snapshots(replay_path)


class BookCursor:
    """The rebuilt book of one (venue, SYMBOL) at full depth, as a REST depth answer at a replay position.

    `answer(line, limit)`: the book after the last diff the rebuild applied at or before true-labelled
    line index `line` (indices as `enumerate(read_replay(path))`), shaped like Binance's REST depth
    answer: `{"lastUpdateId": u, "bids": [[price, qty], ...], "asks": [...]}` with the recorded
    strings, best first, at most `limit` levels a side; USDⓈ-M answers add `E` and `T` (those of
    that diff) after `lastUpdateId`. None while no diff has been applied at `line` (the snapshot is
    not bridged yet). Positions are expected to move forward (each call continues from the last);
    an earlier one restarts from the REST snapshot.
    """

    def __init__(self, replay_path, venue, symbol):
        path = os.path.abspath(replay_path)
        self.venue, self.symbol = venue, symbol.upper()
        self.diffs = _applied_diffs(path).get((venue, self.symbol), [])
        self.lines = [i for i, _ in self.diffs]
        self.snapshot = _snapshots_cached(path).get((venue, self.symbol))
        self._reset()

    def _reset(self):
        self.applied = 0
        self.bids, self.asks = {}, {}
        if self.snapshot is not None:
            for side, pairs in ((self.bids, self.snapshot["bids"]), (self.asks, self.snapshot["asks"])):
                for p, q in pairs:
                    if float(q) != 0.0:
                        side[float(p)] = (p, q)

    @staticmethod
    def _apply_strings(side, pairs):
        for p, q in pairs:
            if float(q) == 0.0:
                side.pop(float(p), None)
            else:
                side[float(p)] = (p, q)

    def answer(self, line, limit=100):
        k = bisect.bisect_right(self.lines, line)
        if k == 0:
            return None
        if k < self.applied:
            self._reset()
        while self.applied < k:
            d = self.diffs[self.applied][1]
            self._apply_strings(self.bids, d["b"])
            self._apply_strings(self.asks, d["a"])
            self.applied += 1
        last = self.diffs[k - 1][1]
        out = {"lastUpdateId": last["u"]}
        if self.venue == "usdm":
            out["E"], out["T"] = last.get("E"), last.get("T")
        out["bids"] = [list(self.bids[p]) for p in heapq.nlargest(limit, self.bids)]
        out["asks"] = [list(self.asks[p]) for p in heapq.nsmallest(limit, self.asks)]
        return out


def parse_side(pairs):
    return [(float(p), float(q)) for p, q in pairs]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Rebuild every (venue, symbol) book of true-labelled replays from the capture's REST "
                    "snapshots and diffs (Binance's documented procedure); print per symbol the diffs applied "
                    "and whether the chain had gaps.")
    parser.add_argument("replays", nargs="+", metavar="REPLAY", help="replay/*.nats.jsonl.gz (true labels)")
    args = parser.parse_args(argv)
    worst = 0
    for path in args.replays:
        try:
            _, reps = _rebuild_cached(os.path.abspath(path))
        except (OSError, ValueError) as err:
            print(f"{path}: {err}", file=sys.stderr)
            worst = max(worst, 66)
            continue
        print(path)
        for (venue, symbol), r in sorted(reps.items()):
            print(f"  {venue:4} {symbol:10} snapshot {r.snapshot_id}  diffs {r.diffs_seen:5}  "
                  f"dropped-before {r.dropped_before:3}  applied {r.applied:5}  "
                  f"{'bridge U..u=' + str(r.bridge[0]) + '..' + str(r.bridge[1]) if r.bridge else ''}  "
                  f"{r.status}{'  CROSSED ' + str(r.crossed) if r.crossed else ''}")
            if r.gaps or r.not_bridged:
                worst = max(worst, 1)
    return worst


if __name__ == "__main__":
    sys.exit(main())
