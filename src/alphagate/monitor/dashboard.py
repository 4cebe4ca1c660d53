"""The operator's page: one HTML document that draws itself from the JSON API every few seconds.

Built with the report kit (:mod:`alphagate.html_report`), so Plotly's bundle
is inlined from the installed package and nothing is fetched from a CDN. The
page itself holds no data at all: the script reads ``/api/...`` and writes
cells with ``textContent``, never ``innerHTML``, so a symbol or a reason can
never be read as markup. After each draw the equity chart's element carries
``data-points`` (how many points it drew) and each table its rows, which is
what the headless-browser test reads from the DOM.
"""

from __future__ import annotations

import json
from typing import Final

from alphagate.html_report import Page, note

CSS: Final = """
.cards { display: flex; flex-wrap: wrap; gap: 0.6rem; }
.card { border: 1px solid #d9dee3; border-radius: 6px; padding: 0.5rem 0.8rem; min-width: 8rem; }
.card b { display: block; font-size: 1.1rem; }
.status-ok { color: #1b7f3b; } .status-degraded { color: #b7791f; }
.status-halted { color: #c53030; }
"""

TABLES: Final = {
    "positions": ("symbol", "quantity", "average_price", "last", "value", "unrealised_pnl"),
    "open-orders": ("symbol", "side", "type", "quantity", "limit_price", "stop_price", "status"),
    "decisions": (
        "ts", "symbol", "action", "blocked_by", "horizon", "direction", "w_proposed", "w_target",
    ),
    "trades": ("symbol", "side", "quantity", "entry_ts", "exit_ts", "pnl"),
    "candidates": ("candidate", "run_id", "strategy", "state", "since", "reason"),
}  # fmt: skip

SCRIPT: Final = """
<script>
(function () {
  const TABLES = %(tables)s;
  const REFRESH = %(refresh)d;
  function cell(value) {
    if (value === null || value === undefined) return "-";
    if (typeof value === "number") return Number.isInteger(value) ? String(value)
      : value.toPrecision(6);
    return String(value);
  }
  function fill(id, rows) {
    const body = document.querySelector("#" + id + " tbody");
    const columns = TABLES[id];
    body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const c of columns) {
        const td = document.createElement("td");
        td.textContent = cell(row[c]);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    document.getElementById(id).dataset.rows = String(rows.length);
  }
  async function get(path) {
    const answer = await fetch(path, {cache: "no-store"});
    return answer.json();
  }
  function cards(status, health) {
    const box = document.getElementById("cards");
    box.replaceChildren();
    const items = [["health", health.status], ["degradation", health.degradation],
      ["breaker", health.breaker], ["equity", status.equity], ["P&L", status.pnl_total],
      ["cash", status.cash], ["last bar", status.last_bar], ["cycles", status.cycles],
      ["working orders", status.working_orders], ["failing", (health.failing || []).join(", ")]];
    for (const [label, value] of items) {
      const div = document.createElement("div");
      div.className = "card";
      const b = document.createElement("b");
      b.textContent = cell(value);
      if (label === "health") b.className = "status-" + value;
      div.append(label, b);
      box.appendChild(div);
    }
  }
  async function draw() {
    try {
      const [status, health, equity, positions, open, decisions, trades, execution,
             candidates] = await Promise.all([
        get("/api/status"), get("/health"), get("/api/equity"), get("/api/positions"),
        get("/api/orders?open=true"), get("/api/decisions"), get("/api/trades"),
        get("/api/execution"), get("/api/candidates")]);
      cards(status, health);
      const x = equity.map(p => p.ts);
      await Plotly.react("equity-chart", [
        {x: x, y: equity.map(p => p.equity), name: "equity", type: "scatter", mode: "lines"},
        {x: x, y: equity.map(p => -100 * p.drawdown), name: "drawdown %%", yaxis: "y2",
         type: "scatter", mode: "lines", fill: "tozeroy"}],
        {template: "plotly_white", height: 360, margin: {t: 20},
         yaxis: {title: "equity"}, yaxis2: {title: "drawdown %%", overlaying: "y", side: "right"}});
      document.getElementById("equity-chart").dataset.points = String(equity.length);
      await Plotly.react("slippage-chart",
        [{x: execution.slippage_bps || [], type: "histogram", name: "slippage (bps)"}],
        {template: "plotly_white", height: 260, margin: {t: 20},
         xaxis: {title: "slippage vs decision close (bps, + is adverse)"}});
      const quality = document.getElementById("execution-summary");
      quality.textContent = "fills " + cell(execution.fills) + " · fill rate " +
        cell(execution.fill_rate) + " · mean slippage " + cell(execution.slippage_bps_mean) +
        " bps · mean decision-to-fill " + cell(execution.decision_to_fill_seconds_mean) + " s";
      fill("positions", positions);
      fill("open-orders", open);
      fill("decisions", decisions.slice(-50).reverse());
      fill("trades", trades.slice(-50).reverse());
      fill("candidates", candidates);
      document.body.dataset.updated = new Date().toISOString();
    } catch (error) {
      document.getElementById("error").textContent = "refresh failed: " + error;
    }
  }
  draw();
  setInterval(draw, REFRESH * 1000);
})();
</script>
"""


def _table(anchor: str) -> str:
    head = "".join(f'<th class="text">{c}</th>' for c in TABLES[anchor])
    return (
        f'<div class="table-scroll"><table id="{anchor}" data-rows="0">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody></table></div>"
    )


def dashboard_html(refresh_seconds: float = 3.0) -> str:
    """The page; it fetches its data from the service that serves it."""
    page = Page("alphagate", subtitle="paper and live trading, as of the last cycle", css=CSS)
    empty: dict[str, object] = {"data": [], "layout": {}}
    page.add_section("status", "Status", '<div id="cards" class="cards"></div>',
                     '<p id="error" class="note"></p>')  # fmt: skip
    page.add_section("equity", "Equity and drawdown", page.chart(empty, "equity-chart", 360))
    page.add_section("positions-section", "Positions", _table("positions"))
    page.add_section("orders-section", "Open orders", _table("open-orders"))
    page.add_section(
        "decisions-section",
        "Recent decisions",
        note("The decision path's trace per bar and symbol; blocked_by names the step that "
             "stopped a trade."),
        _table("decisions"),
    )  # fmt: skip
    page.add_section(
        "execution",
        "Execution quality",
        '<p id="execution-summary" class="note"></p>',
        page.chart(empty, "slippage-chart", 260),
        _table("trades"),
    )
    script = SCRIPT % {
        "tables": json.dumps({k: list(v) for k, v in TABLES.items()}),
        "refresh": max(1, round(refresh_seconds)),
    }
    page.add_section("gates", "Gate pipeline", _table("candidates"), script)
    return page.html()
