"""Shared helpers of tests/book-integrity: paths to the repo, its scripts and the shared data.

The recordings live outside the repository in ../shared (relative to the repo root) and are
never copied in; every test that needs them skips with a visible reason when it is absent.
"""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SHARED = ROOT.parent / "shared"
REPLAY_DIR = SHARED / "binance-real" / "replay"
REPLAYS = ["spot_ethusdt_20240808", "spot_10symbols_20210405", "usdm_5symbols_20210405",
           "spot_btcusdt-ethusdt-dotusdt_20210404"]

if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def replay_path(name):
    return REPLAY_DIR / f"{name}.nats.jsonl.gz"


def require_shared():
    if not REPLAY_DIR.is_dir():
        pytest.skip(f"SKIPPED: shared recordings not found at {REPLAY_DIR} (../shared relative to the repo root)")
