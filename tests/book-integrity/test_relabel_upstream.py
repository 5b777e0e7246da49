"""scripts/relabel-upstream: labels as the real upstream publishes them, data bytes unchanged."""
import gzip
import json
import re
import subprocess
import sys

import pytest

from integrity_common import REPLAYS, SCRIPTS, replay_path, require_shared

SCRIPT = SCRIPTS / "relabel-upstream"
LEADING = re.compile(rb'^\{"stream":"[^"]*"')


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def expected(data, first):
    if "lastUpdateId" in data:
        return f"{first}@depth20@100ms"
    if "e" not in data:
        return None
    s = data["s"].lower()
    return {"depthUpdate": f"{s}@depth20@100ms", "trade": f"{s}@trade", "24hrTicker": f"{s}@ticker"}.get(
        data["e"], f"{s}@{data['e']}")


@pytest.mark.parametrize("name", REPLAYS)
def test_relabels_every_line_and_keeps_other_bytes(name, tmp_path):
    require_shared()
    out = tmp_path / f"{name}.up.jsonl.gz"
    r = run(replay_path(name), out)
    assert r.returncode == 0, r.stderr
    print(r.stderr.strip())
    src = gzip.open(replay_path(name), "rb").read().splitlines(keepends=True)
    dst = gzip.open(out, "rb").read().splitlines(keepends=True)
    first = None
    for line in src:
        env = json.loads(line)
        if "lastUpdateId" in env["data"]:
            first = env["stream"].split("@")[0]
            break
    kept = []
    for line in src:
        env = json.loads(line)
        label = expected(env["data"], first)
        if label is not None:
            kept.append((line, label))
    assert len(dst) == len(kept)
    for (orig, label), new in zip(kept, dst):
        assert json.loads(new)["stream"] == label
        assert LEADING.sub(b"", orig) == LEADING.sub(b"", new), "bytes other than the stream value changed"
    assert f"{len(src)} lines read" in r.stderr and f"{len(src) - len(kept)} dropped" in r.stderr


def test_first_symbol_option_and_plain_output(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"stream":"ethusdt@depth20@100ms","data":{"lastUpdateId":5,"bids":[],"asks":[]},"x":1}\n'
                    b'{"stream":"ethusdt@bookTicker","data":{"u":1,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"}}\n'
                    b'{"stream":"ethusdt@kline_1h","data":{"e":"kline","s":"ETHUSDT","k":{"i":"1h"}}}\n'
                    b'{"stream":"btcusdt@depth","data":{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]}}\n')
    r = run(src, tmp_path / "out.jsonl", "--first-symbol", "BTCUSDT")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == (
        b'{"stream":"btcusdt@depth20@100ms","data":{"lastUpdateId":5,"bids":[],"asks":[]},"x":1}\n'
        b'{"stream":"ethusdt@kline","data":{"e":"kline","s":"ETHUSDT","k":{"i":"1h"}}}\n'
        b'{"stream":"btcusdt@depth20@100ms","data":{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]}}\n')
    assert "4 lines read" in r.stderr and "1 dropped" in r.stderr
    r = run(src, tmp_path / "out2.jsonl")       # default first symbol: the first partial's own label
    assert r.returncode == 0 and (tmp_path / "out2.jsonl").read_bytes().startswith(b'{"stream":"ethusdt@depth20')


def test_errors_exit_codes_and_nothing_written(tmp_path):
    r = run(tmp_path / "missing.jsonl", tmp_path / "o.jsonl")
    assert r.returncode == 66 and "missing.jsonl" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"stream":"a@trade","data":{"e":"trade","s":"A"}}\n{not json\n')
    r = run(bad, tmp_path / "o.jsonl")
    assert r.returncode == 65 and "line 2" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"], "a partial output was left behind"
    r = run("--help")
    assert r.returncode == 0 and "--first-symbol" in r.stdout
