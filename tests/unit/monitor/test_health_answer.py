"""``/health``'s folding: halted (503) when a component failed or the level is halted."""

from __future__ import annotations

from alphagate.monitor.health import answer, feed_component


def test_a_late_feed_fails_and_a_fresh_one_is_ok() -> None:
    assert feed_component(100.0, None, now=105.0, timeout=10.0)["status"] == "ok"
    late = feed_component(100.0, None, now=111.0, timeout=10.0)
    assert late["status"] == "failed" and "no bar for 11s" in late["detail"]
    assert feed_component(None, None, now=1.0, timeout=10.0)["status"] == "failed"
    assert "end of feed" in feed_component(100.0, "end of feed", 100.0, 10.0)["detail"]


def test_the_worst_input_decides_and_failing_components_are_named() -> None:
    ok = {"status": "ok", "detail": ""}
    fine = answer({"feed": ok, "kill_switch": ok}, "normal", "NORMAL")
    assert (fine.status, fine.http_status, fine.failing) == ("ok", 200, [])
    slow = answer({"feed": ok, "market_data": {"status": "degraded", "detail": "x"}}, "normal", "N")
    assert (slow.status, slow.http_status) == ("degraded", 200)
    reduce = answer({"feed": ok}, "reduce_only", "ELEVATED")
    assert reduce.status == "degraded"
    down = answer(
        {"feed": {"status": "failed", "detail": "no bar"}, "kill_switch": ok}, "normal", "N"
    )
    assert (down.status, down.http_status, down.failing) == ("halted", 503, ["feed"])
    halted = answer({"feed": ok}, "halted", "NORMAL")
    assert halted.http_status == 503
    body = down.to_json()
    assert body["failing"] == ["feed"] and body["components"]["feed"]["detail"] == "no bar"
