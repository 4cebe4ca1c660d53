"""The compiled core: a stale build never runs, and compiled runs equal pure-Python ones."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alphagate import native_core
from alphagate.native_core import (
    COMPILED_MODULES,
    MANIFEST_NAME,
    PURE_PYTHON_ENV,
    choose_core,
    source_path,
)

PACKAGE = Path(native_core.__file__).resolve().parent


def _package_copy(tmp_path: Path, *, manifest: bool = True) -> Path:
    """The compiled modules' sources under a fresh package folder, with a matching manifest."""
    root = tmp_path / "alphagate"
    for module in COMPILED_MODULES:
        target = source_path(module, root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source_path(module, PACKAGE).read_bytes())
    if manifest:
        sources = {
            m: hashlib.sha256(source_path(m, root).read_bytes()).hexdigest()
            for m in COMPILED_MODULES
        }
        (root / MANIFEST_NAME).write_text(json.dumps({"sources": sources}))
    return root


def test_a_build_made_from_the_sources_beside_it_is_used(tmp_path: Path) -> None:
    assert choose_core(_package_copy(tmp_path), environ={}).reason is None


def test_an_edited_source_makes_the_whole_build_stale_and_names_the_module(tmp_path: Path) -> None:
    root = _package_copy(tmp_path)
    edited = source_path("alphagate.execution.venue", root)
    edited.write_text(edited.read_text() + "\n# edited after the build\n")
    choice = choose_core(root, environ={})
    assert choice.stale
    assert choice.reason is not None
    assert "alphagate.execution.venue" in choice.reason
    assert "alphagate.engine.loop" not in choice.reason


def test_a_module_added_to_the_compiled_set_after_the_build_is_stale(tmp_path: Path) -> None:
    root = _package_copy(tmp_path)
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    del manifest["sources"]["alphagate.engine.loop"]
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))
    choice = choose_core(root, environ={})
    assert choice.stale and choice.reason is not None and "alphagate.engine.loop" in choice.reason


def test_no_manifest_means_an_uncompiled_install_which_is_not_stale(tmp_path: Path) -> None:
    choice = choose_core(_package_copy(tmp_path, manifest=False), environ={})
    assert choice.reason is not None and not choice.stale


def test_an_unreadable_manifest_is_never_trusted(tmp_path: Path) -> None:
    root = _package_copy(tmp_path)
    (root / MANIFEST_NAME).write_text("{not json")
    choice = choose_core(root, environ={})
    assert choice.stale and choice.reason is not None and MANIFEST_NAME in choice.reason


@pytest.mark.parametrize(("value", "pure"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_environment_can_ask_for_pure_python(tmp_path: Path, value: str, pure: bool) -> None:
    choice = choose_core(_package_copy(tmp_path), environ={PURE_PYTHON_ENV: value})
    assert (choice.reason is not None) is pure


# One script, run in two processes: with the compiled core (when this install has
# one) and with ALPHAGATE_PURE_PYTHON=1. It covers the compiled paths a plain
# crossover does not: brackets and OCO, limits and stops, partial fills under a
# participation cap, commission, shorts, several symbols on different calendars.
_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import pandas as pd
    from alphagate.native_core import native_status
    from alphagate.backtest.runner import run_backtest
    from alphagate.domain.orders import OrderType, TimeInForce
    from alphagate.engine.builtin import RsiMeanReversion, SmaCross
    from alphagate.engine.strategy import OrderIntent
    from alphagate.execution.commission import BasisPoints, PerShare
    from alphagate.execution.fill_models import ConservativeFill

    def bars(n, symbols):
        rng = np.random.default_rng(7)
        frames = []
        for k, symbol in enumerate(symbols):
            close = 50.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
            open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
            high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, n)))
            low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, n)))
            ts = pd.date_range("2021-01-04 21:00", periods=n, freq="D", tz="UTC")
            ts = ts + pd.Timedelta(hours=k)  # the symbols close at different times
            idx = pd.MultiIndex.from_arrays([[symbol] * n, ts], names=["symbol", "ts"])
            frames.append(pd.DataFrame({"open": open_, "high": high, "low": low,
                "close": close, "volume": rng.integers(500, 5000, n).astype(float)}, index=idx))
        return pd.concat(frames).sort_index()

    class Brackets:
        name, warmup = "brackets", 2
        def on_bar(self, ctx):
            out = []
            for s in ctx.updated:
                close, held, seen = ctx.history[s].close[-1], ctx.position(s), ctx.bars_seen(s)
                if held == 0 and seen % 7 == 0:
                    qty = 40.0 if seen % 2 else -40.0
                    stop = close * (0.97 if qty > 0 else 1.03)
                    take = close * (1.02 if qty > 0 else 0.98)
                    links = dict(parent_leg="entry", oco_group="b", time_in_force=TimeInForce.GTC)
                    out += [
                        OrderIntent(s, qty, leg="entry"),
                        OrderIntent(s, -qty, OrderType.STOP, stop_price=stop, leg="stop", **links),
                        OrderIntent(s, -qty, OrderType.LIMIT, limit_price=take, leg="tp", **links),
                    ]
                elif held == 0 and seen % 5 == 0:
                    out.append(OrderIntent(s, 15.0, OrderType.LIMIT, limit_price=close * 0.995))
                elif held != 0 and seen % 11 == 0:
                    out.append(OrderIntent(s, -held, leg="exit"))
            return out or None

    def summary(result):
        return {
            "equity": [float(x).hex() for x in result.equity.to_numpy()],
            "trades": result.trades.astype(str).to_dict("list"),
            "orders": result.orders.astype(str).to_dict("list"),
            "metrics": repr(result.metrics),
        }

    two = bars(300, ["AAA", "BBB"])
    runs = {
        "sma": run_backtest(bars(400, ["AAA"]), SmaCross(5, 20), commission=BasisPoints(10),
                            calendar=None),
        "rsi": run_backtest(two, RsiMeanReversion(), units="fractional", sizing="close",
                            commission=PerShare(0.01, 1.0), calendar=None),
        "brackets": run_backtest(two, Brackets(), commission=BasisPoints(5), calendar=None,
                                 fill_model=ConservativeFill(participation_cap=0.01)),
    }
    json.dump({"core": native_status(), **{k: summary(v) for k, v in runs.items()}}, sys.stdout)
    """
)


def _run_script(pure: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != PURE_PYTHON_ENV}
    if pure:
        env[PURE_PYTHON_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_compiled_core_gives_the_pure_python_results_bit_for_bit() -> None:
    compiled, pure = _run_script(pure=False), _run_script(pure=True)
    assert str(pure.pop("core")).startswith("pure Python")
    core = str(compiled.pop("core"))
    if not core.startswith("compiled"):
        pytest.skip(f"this install has no compiled core ({core})")
    for name in ("sma", "rsi", "brackets"):
        assert compiled[name] == pure[name], name
    brackets = pure["brackets"]
    assert isinstance(brackets, dict)
    statuses = set(brackets["orders"]["status"])
    assert {"filled", "canceled", "expired"} <= statuses  # brackets, OCO and DAY expiry ran
