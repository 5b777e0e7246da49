"""scripts/book_rebuild.py against the replays' derived partial books.

The replays' `<sym>@depth20@100ms` frames were built from the REST snapshot and the recorded
diffs by Binance's documented procedure, top 20 after each diff. An independent rebuild
(scripts/book_rebuild.py) must give the same top 20 (prices and quantities) for every one of
them, every snapshot must bridge, and no chain may have a gap or a crossed book.
"""
import collections

import pytest

from integrity_common import REPLAYS, replay_path, require_shared


@pytest.mark.parametrize("name", REPLAYS)
def test_rebuild_equals_every_derived_depth20_frame(name):
    require_shared()
    import book_rebuild as br

    path = str(replay_path(name))
    events = br.rebuild_events(path)
    by_key = {(venue, symbol, u): (line, bids, asks) for line, venue, symbol, _e, _U, u, bids, asks in events}
    checked, mismatches, missing = 0, [], []
    offsets = collections.Counter()
    derived_symbols = collections.Counter()
    for line, env in enumerate(br.read_replay(path)):
        stream, data = env["stream"], env["data"]
        if "@depth20" not in stream:
            continue
        symbol = stream.split("@", 1)[0].upper()
        if "lastUpdateId" in data:          # spot partial book: the label carries the symbol
            venue, u, bids, asks = "spot", data["lastUpdateId"], data["bids"], data["asks"]
        else:                               # futures partial: diff shape, copies the diff's U/u/pu
            assert data["s"] == symbol, (line, stream, data["s"])
            venue, u, bids, asks = br.venue_of(data), data["u"], data["b"], data["a"]
        derived_symbols[(venue, symbol)] += 1
        rebuilt = by_key.get((venue, symbol, u))
        if rebuilt is None:
            missing.append((line, venue, symbol, u))
            continue
        diff_line, rb, ra = rebuilt
        offsets[line - diff_line] += 1
        checked += 1
        if br.parse_side(bids) != rb or br.parse_side(asks) != ra:
            mismatches.append((line, venue, symbol, u, bids[:3], rb[:3], asks[:3], ra[:3]))
    reports = br.reports(path)
    print(f"\n{name}: {checked} derived depth20 frames equal to the rebuild; derived frame line minus "
          f"its diff's line: {dict(offsets)}; per symbol: {dict(derived_symbols)}")
    without = sorted(f"{v} {s}" for (v, s), r in reports.items() if r.applied and not derived_symbols[(v, s)])
    if without:
        print(f"{name}: symbols with applied diffs but no derived depth20 frame: {without}")
    assert not missing, f"derived frames whose update id is not in the rebuild: {missing[:5]} ({len(missing)})"
    assert not mismatches, f"{len(mismatches)} derived frames differ from the rebuild, first: {mismatches[:2]}"
    assert checked > 0
    for (venue, symbol), r in reports.items():
        assert r.bridged and not r.not_bridged, f"{venue} {symbol}: {r.status}"
        assert not r.gaps, f"{venue} {symbol}: {r.status}"
        assert r.crossed == 0, f"{venue} {symbol}: {r.crossed} crossed books"


@pytest.mark.parametrize("name", REPLAYS)
def test_book_by_u_helper_matches_rebuild(name):
    require_shared()
    import book_rebuild as br

    path = str(replay_path(name))
    seen = collections.Counter()
    for venue, symbol, u, bids, asks in br.rebuild(path):
        best_bid, best_ask, nb, na = br.book_by_u(path, venue, symbol)[u]
        assert (best_bid, best_ask, nb, na) == (bids[0][0], asks[0][0], len(bids), len(asks))
        assert 1 <= nb <= 20 and 1 <= na <= 20 and best_bid < best_ask
        assert all(bids[i][0] > bids[i + 1][0] for i in range(len(bids) - 1))
        assert all(asks[i][0] < asks[i + 1][0] for i in range(len(asks) - 1))
        seen[(venue, symbol)] += 1
    assert seen and all(n == br.reports(path)[k].applied for k, n in seen.items())
