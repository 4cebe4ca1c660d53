"""docs/strategies.md's example strategy runs, as the page says, on the bundled data.

The page's Python block is saved under the module name the page gives it, in a
fresh folder, and the page's own commands (ingest, then backtest with
``--strategy <module>:<Class>``) run through the command line from there. The
run must trade by target weight and exit through the bracket, or the page
teaches something the engine does not do.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.cli.root import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
EXAMPLE = re.compile(r"```python\n(.*?)```", re.DOTALL)
RUN_IT = re.compile(r"Save it as `(\w+)\.py`.*?```bash\n(.*?)```", re.DOTALL)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty current folder and no ALPHAGATE__ settings; modules it loads are forgotten."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    before = set(sys.modules)
    yield tmp_path
    # Only the modules loaded from the tmp folder: a library module first
    # imported during the test must stay, or importing it again breaks it.
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None)
        if file is not None and Path(file).resolve().is_relative_to(tmp_path.resolve()):
            del sys.modules[name]


def test_the_strategies_page_example_trades_by_weight_and_exits_through_its_bracket(
    folder: Path,
) -> None:
    page = PAGE.read_text(encoding="utf-8")
    (code,) = EXAMPLE.findall(page)  # the page shows one complete strategy
    found = RUN_IT.search(page)
    assert found is not None, "the page must say where to save the example and how to run it"
    module, commands = found.groups()
    (folder / f"{module}.py").write_text(code, encoding="utf-8")
    settings = {
        "data": {"dir": str(folder / "data")},
        "storage": {"database_url": f"sqlite:///{folder / 'state.db'}"},
    }
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    lines = [shlex.split(line) for line in commands.strip().splitlines()]
    assert [words[:2] for words in lines] == [["alphagate", "data"], ["alphagate", "backtest"]]
    backtest = lines[-1]
    assert backtest[backtest.index("--strategy") + 1].startswith(f"{module}:")
    for words in lines:
        result = CliRunner().invoke(cli, ["--config", str(config), *words[1:]])
        assert result.exit_code == 0, f"{shlex.join(words)}\n{result.output}"

    output = folder / backtest[backtest.index("--output") + 1]
    orders = pd.read_csv(output / "orders.csv")
    filled = orders[orders["status"] == "filled"]
    exits = filled[filled["order_type"].isin(["stop", "limit"])]  # only bracket children rest
    assert set(exits["order_type"]) == {"stop", "limit"}  # stop-losses and take-profits
    assert (filled["order_type"] == "market").sum() > 2 * len(exits)  # weight trades too
    trades = pd.read_csv(output / "trades.csv")
    closed = trades[trades["exit_ts"].notna()]
    assert json.loads((output / "metrics.json").read_text())["trades"] == len(closed)
    # A bracket's exit closes the round trip its entry opened, at the exit's fill price.
    assert exits["avg_fill_price"].isin(closed["exit_price"]).all()
    assert set(trades["symbol"]) == {"^GSPC"}
