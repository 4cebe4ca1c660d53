"""The monitoring service beside a real paper replay: Prometheus, a browser, and the security rules.

One paper session per module: a small logistic run on synthetic bars, its
out-of-sample bars replayed through the paper engine at a pace that lasts a
few seconds, with ``alphagate paper --serve``'s service (uvicorn in a thread,
on a free loopback port). Against it:

- a real Prometheus (Debian's, started here on loopback) scrapes ``/metrics``
  and **every PromQL expression of the shipped Grafana dashboards** returns data;
- headless Chromium opens the dashboard: the dumped DOM has an equity chart
  with points and a positions table with rows, and a screenshot is taken;
- SE-01: sentinel keys in the environment never appear in ``/metrics``, the
  API or the page; SE-06: a non-loopback bind without a token is refused;
  SE-07: controls need the token (401), and every call is journaled with
  its actor.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from alphagate.adapters.trading_db.records import Candidate, CandidateState
from alphagate.app import research
from alphagate.app.data import load_settings
from alphagate.app.paper import PaperOutcome, PaperRequest, run_paper
from alphagate.app.serve import RunningService, engine_service, start_service, stored_app
from alphagate.app.trading_db import open_trading_store
from alphagate.cli import cli
from alphagate.config import Settings
from alphagate.gates.candidates import GateState, Transition
from alphagate.monitor.access import BindRefusedError
from alphagate.risk.kill_switch import KillSwitch
from alphagate.testing.servers import free_port

SENTINEL_KEY = "AKSENTINEL0123456789"
SENTINEL_SECRET = "SKSENTINELabcdefghijklmnop"
TOKEN = "monitor-token-0123456789-abcdef"
CYCLES = 80
BAR_SECONDS = 0.04
"""Wall seconds per replayed day: the replay lasts a few seconds, long enough to be scraped."""
DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"


@dataclass
class Served:
    settings: Settings
    workspace: Path
    service: RunningService
    replay: threading.Thread
    outcome: list[PaperOutcome]

    def wait_for_replay(self) -> PaperOutcome:
        self.replay.join(timeout=120)
        assert not self.replay.is_alive() and self.outcome, "the paper replay did not finish"
        return self.outcome[0]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workspace = tmp_path_factory.mktemp("monitor_service")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workspace)
        for name in list(os.environ):
            if name.startswith(("ALPHAGATE", "APCA_")):
                patch.delenv(name)
        patch.setenv("APCA_API_KEY_ID", SENTINEL_KEY)
        patch.setenv("APCA_API_SECRET_KEY", SENTINEL_SECRET)
        config = workspace / "c.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "data": {
                        "dir": str(workspace / "data"),
                        "synthetic": {
                            "symbols": ["AAA", "BBB"],
                            "start": "2016-01-04",
                            "end": "2018-12-31",
                        },
                    },
                    "features": {"cache_dir": str(workspace / "features")},
                    "storage": {
                        "database_url": f"sqlite:///{workspace / 'state.db'}",
                        "trading_database_url": f"sqlite:///{workspace / 'trading.db'}",
                    },
                    "risk": {"kill_switch_state": str(workspace / "kill_switch.json")},
                    # Staleness is judged and exported, with thresholds out of reach, so
                    # the small model keeps trading and the positions table has rows.
                    "health": {
                        "model": {
                            "max_age_days": 10_000,
                            "psi_warn": 5.0,
                            "psi_stale": 10.0,
                            "ic_warn": -0.9,
                            "ic_stale": -0.95,
                            "accuracy_warn": 0.1,
                            "accuracy_stale": 0.05,
                        }
                    },
                }
            ),
            encoding="utf-8",
        )
        runner = CliRunner()
        for args in (
            ["data", "ingest", "--source", "synthetic"],
            ["train", "--model", "logreg", "--horizons", "1,5", "--run-id", "r1"],
        ):
            done = runner.invoke(cli, ["--config", str(config), *args])
            assert done.exit_code == 0, done.output
        settings = load_settings([config])
        _register_candidate(settings)
        bars = research.load_bars(
            settings, path=None, symbols=(), timeframe=None, start=None, end=None
        )
        with engine_service(settings, feed_timeout=60.0, token=TOKEN) as service:
            running = start_service(service.app, "127.0.0.1", 0, token=TOKEN)
            outcome: list[PaperOutcome] = []
            request = PaperRequest(
                run_id="r1",
                runs_dir=workspace / "runs",
                speed=86_400 / BAR_SECONDS,
                max_cycles=CYCLES,
            )

            def replay() -> None:
                outcome.append(
                    run_paper(
                        settings, bars, request, monitor=service.monitor, handle_signals=False
                    )
                )

            thread = threading.Thread(target=replay, name="paper-replay", daemon=True)
            thread.start()
            try:
                yield Served(settings, workspace, running, thread, outcome)
            finally:
                thread.join(timeout=120)
                running.stop()


def _register_candidate(settings: Settings) -> None:
    store = open_trading_store(settings)
    try:
        now = time.time_ns()
        store.upsert_candidate(
            Candidate(
                candidate_id="cand-r1",
                run_id="r1",
                strategy="model",
                state=CandidateState.PAPER,
                ts_created=now,
            )
        )
        for seq, (source, target) in enumerate(
            [(None, GateState.REGISTERED), (GateState.REGISTERED, GateState.BACKTEST_PASSED)]
        ):
            store.add_transition(
                Transition(
                    candidate_id="cand-r1",
                    seq=seq,
                    run_id="r1",
                    source=source,
                    target=target,
                    ts=now + seq,
                    actor="test",
                    reason="seeded",
                )
            )
    finally:
        store.close()


def _wait_for_cycles(served: Served, cycles: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(f"{served.service.url}/api/status", timeout=5).json()
        if (status.get("cycles") or 0) >= cycles or not served.replay.is_alive():
            return
        time.sleep(0.1)
    raise AssertionError("the replay made no progress")


# -- (a) Prometheus scrapes the engine; every dashboard query returns data ----------------


def _dashboard_queries() -> list[tuple[str, str, str]]:
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in board["panels"]:
            for target in panel["targets"]:
                queries.append((path.stem, panel["title"], target["expr"]))
    return queries


@pytest.fixture(scope="module")
def prometheus(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: alphagate\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{served.service.port}']}}]\n",
        encoding="utf-8",
    )
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                targets = httpx.get(f"{base}/api/v1/targets?state=active", timeout=2).text
                if '"health":"up"' in targets:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            raise AssertionError((folder / "prometheus.log").read_text())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_prometheus_scrapes_the_engine_and_every_dashboard_query_returns_data(
    served: Served, prometheus: str
) -> None:
    _wait_for_cycles(served, 10)
    queries = _dashboard_queries()
    assert len(queries) > 20
    missing: list[str] = []
    deadline = time.monotonic() + 30
    pending = queries
    while pending and time.monotonic() < deadline:
        missing = []
        for board, title, expr in pending:
            answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5)
            body = answer.json()
            assert body["status"] == "success", (board, title, expr, body)
            if not body["data"]["result"]:
                missing.append(f"{board}: {title}: {expr}")
        pending = [q for q in pending if f"{q[0]}: {q[1]}: {q[2]}" in missing]
        if pending:
            time.sleep(1.0)
    assert not missing, "dashboard queries without data:\n" + "\n".join(missing)
    equity = httpx.get(
        f"{prometheus}/api/v1/query", params={"query": "alphagate_equity"}, timeout=5
    ).json()["data"]["result"][0]["value"][1]
    assert float(equity) > 0


# -- (b) the dashboard in headless Chromium --------------------------------------------------


def _chromium(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={folder}",
            "--window-size=1280,1800",
            "--virtual-time-budget=8000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_dashboard_draws_the_equity_curve_and_the_positions(
    served: Served, tmp_path: Path, read_page: object
) -> None:
    served.wait_for_replay()  # a still state: the DOM and the API are compared below
    done = _chromium(f"{served.service.url}/", tmp_path / "profile", "--dump-dom")
    dom = done.stdout
    assert "data-updated" in dom, done.stderr[-2000:]
    points = re.search(r'id="equity-chart"[^>]*data-points="(\d+)"', dom) or re.search(
        r'data-points="(\d+)"[^>]*id="equity-chart"', dom
    )
    assert points is not None and int(points.group(1)) > 10
    api_equity = httpx.get(f"{served.service.url}/api/equity", timeout=5).json()
    assert int(points.group(1)) <= len(api_equity)
    assert re.search(r'class="[^"]*js-line[^"]*"[^>]*d="M[\d.,-]+L', dom) is not None
    rows = re.search(r'<table id="positions" data-rows="(\d+)"', dom)
    assert rows is not None and int(rows.group(1)) > 0
    body = dom.split('<table id="positions"', 1)[1].split("</table>", 1)[0]
    held = {p["symbol"] for p in httpx.get(f"{served.service.url}/api/positions").json()}
    assert held and any(f"<td>{symbol}</td>" in body for symbol in held)
    shot = tmp_path / "dashboard.png"
    _chromium(f"{served.service.url}/", tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 20_000
    keep = os.environ.get("MONITOR_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "dashboard.png")


# -- (d) security: SE-01, SE-06, SE-07 ------------------------------------------------------


def test_no_key_or_token_reaches_metrics_api_or_page(served: Served) -> None:
    served.wait_for_replay()
    base = served.service.url
    texts = [
        httpx.get(f"{base}{path}", timeout=10).text
        for path in (
            "/metrics",
            "/",
            "/health",
            "/api/status",
            "/api/trades",
            "/api/orders",
            "/api/orders?open=true",
            "/api/decisions",
            "/api/candidates",
            "/api/equity",
            "/api/positions",
            "/api/execution",
        )
    ]
    assert all(texts)
    for text in texts:
        for secret in (SENTINEL_KEY, SENTINEL_SECRET, "AKSENTINEL", TOKEN):
            assert secret not in text
    health = httpx.get(f"{base}/health", timeout=5).json()
    assert set(health) == {"status", "degradation", "breaker", "failing", "components"}
    assert "positions" not in json.dumps(health) and "AAA" not in json.dumps(health)


def test_the_api_shows_decisions_with_traces_and_the_gate_pipeline(served: Served) -> None:
    outcome = served.wait_for_replay()
    base = served.service.url
    decisions = httpx.get(f"{base}/api/decisions", timeout=5).json()
    assert decisions and {"ts", "symbol", "action", "blocked_by"} <= set(decisions[0])
    strategy_rows = outcome.driver.kernel.strategy.decisions()  # type: ignore[attr-defined]
    assert decisions[-1]["symbol"] == strategy_rows.iloc[-1]["symbol"]
    assert len(decisions) == min(len(strategy_rows), 200)
    candidates = httpx.get(f"{base}/api/candidates", timeout=5).json()
    assert candidates == [
        {
            "candidate": "cand-r1",
            "run_id": "r1",
            "strategy": "model",
            "state": "backtest_passed",
            "since": candidates[0]["since"],
            "reason": "seeded",
        }
    ]
    status = httpx.get(f"{base}/api/status", timeout=5).json()
    assert status["cycles"] == outcome.driver.cycles and status["running"] is False
    trades = httpx.get(f"{base}/api/trades", timeout=5).json()
    assert len(trades) == min(len(outcome.driver.kernel.portfolio.closed_trades()), 200)
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    fills = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("alphagate_fills_total{")
    )
    assert fills == len(outcome.driver.fills) > 0


def test_binding_beyond_loopback_without_a_token_refuses_to_start(served: Served) -> None:
    with pytest.raises(BindRefusedError, match="ALPHAGATE_SERVE_TOKEN"):
        start_service(served.service.server.config.app, "0.0.0.0", 0, token=None)  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(served.workspace)
        patch.delenv("ALPHAGATE_SERVE_TOKEN", raising=False)
        done = CliRunner().invoke(
            cli, ["--config", "c.yaml", "serve", "--run", "r1", "--host", "0.0.0.0"]
        )
    assert done.exit_code != 0
    assert "refusing to bind 0.0.0.0" in str(done.exception) + done.output


def test_controls_need_the_token_and_are_journaled_with_the_actor(served: Served) -> None:
    served.wait_for_replay()
    base = served.service.url
    body = {"by": "mallory", "reason": "trying"}
    for action in ("kill-switch/trip", "kill-switch/reset", "flatten", "resume"):
        refused = httpx.post(f"{base}/api/control/{action}", json=body, timeout=5)
        assert refused.status_code == 401, action
        wrong = httpx.post(
            f"{base}/api/control/{action}",
            json=body,
            timeout=5,
            headers={"Authorization": "Bearer not-the-token-at-all"},
        )
        assert wrong.status_code == 401
    switch = KillSwitch(served.settings.risk.kill_switch_state)
    assert not switch.is_tripped()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    tripped = httpx.post(
        f"{base}/api/control/kill-switch/trip",
        headers=auth,
        timeout=5,
        json={"by": "alice", "reason": "feed looks wrong"},
    )
    assert tripped.status_code == 200 and tripped.json()["kill_switch"]["tripped"] is True
    flatten = httpx.post(
        f"{base}/api/control/flatten",
        headers=auth,
        timeout=5,
        json={"by": "alice", "reason": "flat please"},
    )
    assert flatten.status_code == 409 and "flatten_on_kill" in flatten.json()["error"]
    resumed = httpx.post(
        f"{base}/api/control/resume",
        headers=auth,
        timeout=5,
        json={"by": "bob", "reason": "feed fixed"},
    )
    assert resumed.status_code == 200 and resumed.json()["kill_switch"]["tripped"] is False
    history = KillSwitch(served.settings.risk.kill_switch_state).history()
    assert [(e.data.get("action"), e.data.get("actor")) for e in history][-2:] == [
        ("trip", "alice"),
        ("reset", "bob"),
    ]
    store = open_trading_store(served.settings)
    try:
        events = list(reversed(store.system_events("control", limit=50)))
    finally:
        store.close()
    journaled = [(e.actor, e.detail["action"], e.detail["outcome"]) for e in events if e.detail]
    assert journaled.count(("mallory", "kill-switch/trip", "unauthorised")) == 2
    assert ("alice", "kill-switch/trip", "done") in journaled
    assert ("alice", "flatten", "refused") in journaled
    assert journaled[-1] == ("bob", "resume", "done")
    assert len(journaled) == 11


def test_serve_alone_shows_the_stored_session(served: Served) -> None:
    outcome = served.wait_for_replay()
    store = open_trading_store(served.settings)
    try:
        app = stored_app(served.settings, store, served.workspace / "runs", "r1")
        with TestClient(app) as client:
            status = client.get("/api/status").json()
            equity = client.get("/api/equity").json()
            health = client.get("/health")
            page = client.get("/").text
    finally:
        store.close()
    assert status["run_id"] == "r1" and status["running"] is False
    live = httpx.get(f"{served.service.url}/api/equity", timeout=5).json()
    assert len(equity) == len(live) == outcome.driver.cycles
    assert equity[-1] == pytest.approx(live[-1])
    assert health.status_code == 503 and "engine" in health.json()["failing"]
    assert "Plotly" in page and re.search(r"<script[^>]*\ssrc=", page) is None


def test_paper_serve_serves_while_it_trades(served: Served) -> None:
    served.wait_for_replay()
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(served.workspace)
        args = ["--config", "c.yaml", "paper", "--run", "r1", "--runs-dir", "runs", "--once"]
        done = CliRunner().invoke(cli, [*args, "--serve", "--serve-port", str(port)])
        assert done.exit_code == 0, done.output
        assert f"serving the dashboard on http://127.0.0.1:{port}/" in done.output
        refused = CliRunner().invoke(cli, [*args, "--serve", "--serve-host", "0.0.0.0"])
    assert refused.exit_code != 0
    assert "refusing to bind 0.0.0.0" in str(refused.exception) + refused.output
