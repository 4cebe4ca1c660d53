"""Strategy drafts end to end: a local OpenAI-compatible server answers from a script.

Three cases of issue 23, each read back from the trading database: a
correct strategy from a PDF the test writes is validated; a buggy one is
fixed by the second answer; one that peeks at the next bar is caught by the
look-ahead check and discarded after its one retry. The bars are a smooth
periodic path with drift, on which "hold while the last close rose" earns
the same in every window of whole periods, so a correct draft must pass the
walk-forward band and any failure is the draft's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphagate.adapters.trading_db.strategy_drafts import StrategyDraftStore
from alphagate.app import drafts as app
from alphagate.cli import cli
from alphagate.config import Settings
from alphagate.drafts.records import DraftStatus, Stage
from alphagate.testing.bars import bars_of

matplotlib.use("Agg")

CORRECT = '''\
Here is the strategy.

```python
import numpy as np


class RisingClose:
    """Hold while the last close rose."""

    name = "rising_close"
    warmup = 2

    def indicators(self, symbol, history):
        close = history.close
        change = np.full(len(close), np.nan)
        change[1:] = close[1:] - close[:-1]
        return {"change": change}

    def on_bar(self, context):
        out = {}
        for symbol in context.updated:
            rising = context.value(symbol, "change") > 0
            held = context.position(symbol) > 0
            if rising and not held:
                out[symbol] = 1.0
            elif held and not rising:
                out[symbol] = 0.0
        return out or None
```
'''

BUGGY = CORRECT.replace("rising = context.value", "rising = threshold < context.value")

PEEKING = CORRECT.replace(
    "change[1:] = close[1:] - close[:-1]", "change[:-1] = close[1:] - close[:-1]"
)
PEEKING_AGAIN = CORRECT.replace(
    "change[1:] = close[1:] - close[:-1]",
    "change[:] = np.convolve(close, np.ones(5) / 5, mode='same') - close",
)


class ScriptedModel:
    """A chat-completions server on loopback that answers with the next scripted text."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, **body})
                owner.headers.append(dict(self.headers))
                if not owner.answers:
                    self.send_error(500, "the script has no answer left")
                    return
                payload = json.dumps(
                    {
                        "choices": [
                            {"message": {"role": "assistant", "content": owner.answers.pop(0)}}
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    server = ScriptedModel()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(app.API_KEY_ENV, "sk-test")
    return tmp_path


def periodic_bars(n: int = 480) -> pd.DataFrame:
    """Drift plus a 20-bar cycle: direction persists, and every 20 bars look alike."""
    t = np.arange(n, dtype=np.float64)
    close = 100.0 * np.exp(0.002 * t + 0.03 * np.sin(2 * np.pi * t / 20))
    opens = np.r_[close[0], close[:-1]]
    return bars_of(close, opens=opens, freq="D")


def settings_for(model: ScriptedModel, workspace: Path) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"trading_database_url": f"sqlite:///{workspace / 'state' / 'trading.db'}"},
            "llm": {
                "base_url": model.base_url,
                "model": "scripted",
                "validation": {"sandbox_seconds": 120, "windows": 3, "training_fraction": 0.5},
            },
        }
    )


def write_pdf(path: Path, lines: list[str]) -> None:
    """A PDF with real text (TrueType fonts embedded as type 42, so it can be extracted)."""
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        figure = plt.figure(figsize=(8.5, 11))
        for row, line in enumerate(lines):
            figure.text(0.08, 0.9 - 0.05 * row, line, fontsize=12)
        figure.savefig(path, format="pdf")
        plt.close(figure)


def stored(workspace: Path, name: str) -> Any:
    with StrategyDraftStore.open(f"sqlite:///{workspace / 'state' / 'trading.db'}") as store:
        return store.draft(name)


def test_a_correct_strategy_from_a_pdf_is_validated_and_recorded(
    model: ScriptedModel, workspace: Path
) -> None:
    pdf = workspace / "rising close.pdf"
    write_pdf(pdf, ["Buy when the last close rose above the one before.", "Sell when it fell."])
    bars_file = workspace / "bars.csv"
    periodic_bars().reset_index().to_csv(bars_file, index=False)
    model.answers = [CORRECT]
    settings_file = workspace / "settings.yaml"
    settings_file.write_text(
        json.dumps(
            settings_for(model, workspace).model_dump(include={"storage", "llm"}, mode="json")
        )
    )

    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["--config", str(settings_file), "strategy", "draft", "--from", str(pdf), "--data",
         str(bars_file), "--calendar", "none"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    record = stored(workspace, "rising_close")
    assert record.status is DraftStatus.VALIDATED
    assert record.reasons == ()
    assert record.class_name == "RisingClose"
    assert Path(record.code_path) == workspace / "strategies" / "drafts" / "rising_close.py"
    assert len(record.attempts) == 1 and record.attempts[0].stage is Stage.WALK_FORWARD
    metrics = record.attempts[0].metrics
    assert metrics["training"]["sharpe"] > 0 and len(metrics["windows"]) == 3
    # The PDF's text reached the model, and so did the key.
    assert "last close rose" in model.requests[0]["messages"][1]["content"]
    assert model.headers[0]["Authorization"] == "Bearer sk-test"
    assert model.requests[0]["path"] == "/v1/chat/completions"
    listed = runner.invoke(cli, ["--config", str(settings_file), "strategy", "list"])
    assert "rising_close" in listed.output and "validated" in listed.output
    # A validated draft is a user's strategy file like any other.
    backtest = runner.invoke(
        cli,
        ["backtest", "--strategy", f"{record.code_path}:RisingClose", "--data", str(bars_file),
         "--calendar", "none", "--output", str(workspace / "out")],
    )  # fmt: skip
    assert backtest.exit_code == 0, backtest.output
    assert (workspace / "out" / "metrics.json").is_file()


def test_a_buggy_strategy_is_validated_after_the_one_repair(
    model: ScriptedModel, workspace: Path
) -> None:
    note = workspace / "idea.md"
    note.write_text("# Rising close\nHold while the last close rose.\n")
    model.answers = [BUGGY, CORRECT]

    record = app.draft_from_document(
        settings_for(model, workspace), note, periodic_bars(), name="repaired"
    )

    read = stored(workspace, "repaired")
    assert read.status is DraftStatus.VALIDATED == record.status
    first, second = read.attempts
    assert (first.passed, first.stage) == (False, Stage.BACKTEST)
    assert "NameError" in (first.error or "") and "threshold" in (first.error or "")
    assert (second.passed, second.stage) == (True, Stage.WALK_FORWARD)
    assert first.code_hash != second.code_hash
    assert read.run_ids == (first.run_id, second.run_id)
    # The repair request carried the failed code back, with the error.
    repair = model.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"] == BUGGY
    assert "NameError" in repair[-1]["content"]


def test_a_strategy_that_peeks_ahead_is_discarded_after_its_retry(
    model: ScriptedModel, workspace: Path
) -> None:
    transcript = workspace / "talk.srt"
    transcript.write_text(
        "1\n00:00:01,000 --> 00:00:04,000\nBuy when tomorrow's close is higher.\n"
    )
    model.answers = [PEEKING, PEEKING_AGAIN]

    app.draft_from_document(
        settings_for(model, workspace), transcript, periodic_bars(), name="peek"
    )

    read = stored(workspace, "peek")
    assert read.status is DraftStatus.DISCARDED
    assert [(a.stage, a.passed) for a in read.attempts] == [
        (Stage.LOOK_AHEAD, False),
        (Stage.LOOK_AHEAD, False),
    ]
    assert len(read.reasons) == 2
    assert all("look_ahead" in r and "uses later bars" in r for r in read.reasons)
    assert "00:00:01" not in model.requests[0]["messages"][1]["content"]
