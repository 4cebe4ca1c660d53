"""Tests for the portfolio: hand-computed cases, then invariants on random fill streams.

Trade P&L is gross of fees throughout (fees are in ``Trade.fees`` and
``Portfolio.fees_paid``), so the accounting identities below subtract fees
exactly once.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.domain.orders import Fill, Side
from alphagate.domain.positions import Position
from alphagate.execution.portfolio import Portfolio

T0 = pd.Timestamp("2024-03-01 21:00", tz="UTC")
SYMBOLS = ("AAA", "BBB", "CCC")


def at(day: int) -> int:
    """The close ``day`` days after ``T0``, in ns since the epoch as fills carry it."""
    return (T0 + pd.Timedelta(days=day)).value


def fill(
    side: Side,
    quantity: float,
    price: float,
    *,
    fee: float = 0.0,
    symbol: str = "AAA",
    trade_id: str = "t1",
    day: int = 0,
) -> Fill:
    return Fill(
        client_order_id=f"o-{trade_id}",
        trade_id=trade_id,
        symbol=symbol,
        side=side,
        quantity=quantity,
        price=price,
        fee=fee,
        ts_event=at(day),
    )


# --------------------------------------------------------------------------- hand-computed


def test_buy_reduce_flip_and_close_match_the_hand_computed_books() -> None:
    book = Portfolio(10_000.0)

    # 1. Buy 10 @ 100: cash 10 000 - 1 000 = 9 000; long 10 @ 100.
    assert book.apply_fill(fill(Side.BUY, 10, 100.0, trade_id="f1", day=0))
    assert book.cash == 9_000.0
    assert book.position("AAA") == Position("AAA", 10.0, 100.0, 0.0)

    # 2. Sell 4 @ 110, fee 1: cash 9 000 + 440 - 1 = 9 439; long 6, average unchanged;
    #    realised 4 * (110 - 100) = 40.
    book.apply_fill(fill(Side.SELL, 4, 110.0, fee=1.0, trade_id="f2", day=1))
    assert book.cash == 9_439.0
    assert book.position("AAA") == Position("AAA", 6.0, 100.0, 40.0)
    (trade,) = book.open_trades()
    assert (trade.quantity, trade.exit_quantity, trade.exit_price) == (10.0, 4.0, 110.0)
    assert (trade.pnl, trade.fees, trade.is_open) == (40.0, 1.0, True)

    # 3. Sell 10 @ 90, fee 2: closes the 6 (realised 6 * (90 - 100) = -60, total -20) and
    #    opens short 4 @ 90. Cash 9 439 + 900 - 2 = 10 337. The fee splits 6:4, so 1.2
    #    goes to the closed round trip and 0.8 to the new one.
    book.apply_fill(fill(Side.SELL, 10, 90.0, fee=2.0, trade_id="f3", day=2))
    assert book.cash == 10_337.0
    assert book.position("AAA") == Position("AAA", -4.0, 90.0, -20.0)
    assert (book.realised_pnl, book.fees_paid) == (-20.0, 3.0)
    (closed,) = book.closed_trades()
    assert (closed.side, closed.quantity, closed.entry_price) == (Side.BUY, 10.0, 100.0)
    assert (closed.entry_ts, closed.exit_ts) == (at(0), at(2))
    # exit price (4 * 110 + 6 * 90) / 10 = 98; pnl (98 - 100) * 10 = -20
    assert closed.exit_price == pytest.approx(98.0, rel=1e-15)
    assert closed.exit_quantity == 10.0
    assert closed.pnl == -20.0
    assert closed.fees == pytest.approx(2.2, rel=1e-15)
    assert closed.net_pnl == pytest.approx(-22.2, rel=1e-15)
    (short,) = book.open_trades()
    assert (short.side, short.quantity, short.entry_price, short.entry_ts) == (
        Side.SELL,
        4.0,
        90.0,
        at(2),
    )
    assert short.fees == pytest.approx(0.8, rel=1e-15)

    # Marked at 85: unrealised -4 * (85 - 90) = 20; equity 10 337 - 4 * 85 = 9 997,
    # which is 10 000 - 20 + 20 - 3.
    prices = {"AAA": 85.0}
    assert book.mark(prices) == 20.0
    assert book.equity(prices) == 9_997.0
    assert book.gross_exposure(prices) == 340.0
    assert book.net_exposure(prices) == -340.0

    # 4. Buy 4 @ 80 closes the short: realised -4 * (80 - 90) = +40, total 20; cash 10 017.
    book.apply_fill(fill(Side.BUY, 4, 80.0, trade_id="f4", day=3))
    assert book.position("AAA") == Position("AAA", 0.0, 0.0, 20.0)
    assert book.cash == 10_017.0
    assert book.equity({}) == 10_017.0 == 10_000.0 + 20.0 - 3.0
    assert book.open_trades() == ()
    assert [t.pnl for t in book.closed_trades()] == [-20.0, 40.0]
    assert book.closed_trades()[1].exit_price == 80.0
    assert sum(t.fees for t in book.closed_trades()) == pytest.approx(book.fees_paid, rel=1e-15)


def test_adding_to_a_position_reweights_its_average_and_reducing_leaves_it() -> None:
    book = Portfolio(0.0)
    book.apply_fill(fill(Side.SELL, 2, 50.0, trade_id="a"))
    book.apply_fill(fill(Side.SELL, 6, 54.0, trade_id="b"))
    # (2 * 50 + 6 * 54) / 8 = 53
    assert book.position("AAA") == Position("AAA", -8.0, 53.0, 0.0)
    book.apply_fill(fill(Side.BUY, 3, 60.0, trade_id="c"))
    # a short bought back higher loses: -(60 - 53) * 3 = -21
    assert book.position("AAA") == Position("AAA", -5.0, 53.0, -21.0)
    assert book.cash == 100.0 + 324.0 - 180.0
    (trade,) = book.open_trades()
    assert (trade.quantity, trade.entry_price, trade.pnl) == (8.0, 53.0, -21.0)


def test_a_round_trip_with_adds_between_exits_has_pnl_equal_to_its_average_prices() -> None:
    book = Portfolio(0.0)
    book.apply_fill(fill(Side.BUY, 10, 100.0, trade_id="a"))
    book.apply_fill(fill(Side.SELL, 5, 110.0, trade_id="b"))  # realises 50, average stays 100
    book.apply_fill(fill(Side.BUY, 5, 120.0, trade_id="c"))  # average (5*100 + 5*120)/10 = 110
    book.apply_fill(fill(Side.SELL, 10, 115.0, trade_id="d"))  # realises 10 * 5 = 50
    (trade,) = book.closed_trades()
    assert trade.pnl == 100.0 == book.realised_pnl
    # entry (10*100 + 5*120)/15, exit (5*110 + 10*115)/15, pnl = (exit - entry) * 15
    assert trade.quantity == 15.0 and trade.exit_price is not None
    assert (trade.exit_price - trade.entry_price) * trade.quantity == pytest.approx(100.0)


def test_a_fill_booked_twice_changes_nothing_the_second_time() -> None:
    book = Portfolio(1_000.0)
    first = fill(Side.BUY, 3, 10.0, fee=0.5)
    assert book.apply_fill(first) is True
    assert book.apply_fill(first) is False
    assert (book.cash, book.fees_paid, book.position("AAA").quantity) == (969.5, 0.5, 3.0)
    assert book.open_trades()[0].quantity == 3.0


def test_a_trade_id_reused_with_different_contents_is_refused() -> None:
    book = Portfolio(1_000.0)
    book.apply_fill(fill(Side.BUY, 3, 10.0))
    with pytest.raises(ValueError, match="'t1' of order 'o-t1' was booked as"):
        book.apply_fill(fill(Side.BUY, 4, 10.0))
    assert book.position("AAA").quantity == 3.0


def test_the_same_trade_id_on_another_order_is_a_different_fill() -> None:
    book = Portfolio(0.0)
    book.apply_fill(fill(Side.BUY, 1, 10.0, trade_id="t1"))
    other = Fill(
        client_order_id="o-other", trade_id="t1", symbol="AAA", side=Side.BUY,
        quantity=1.0, price=10.0, ts_event=T0.value,
    )  # fmt: skip
    assert book.apply_fill(other) is True
    assert book.position("AAA").quantity == 2.0


def test_fractional_quantities_that_cancel_leave_the_position_flat_and_the_trade_closed() -> None:
    book = Portfolio(0.0)
    book.apply_fill(fill(Side.BUY, 0.1, 10.0, trade_id="a"))
    book.apply_fill(fill(Side.BUY, 0.2, 10.0, trade_id="b"))
    book.apply_fill(fill(Side.SELL, 0.3, 11.0, trade_id="c"))
    assert book.position("AAA").is_flat
    assert book.open_trades() == ()
    assert book.closed_trades()[0].pnl == pytest.approx(0.3)


def test_marking_an_open_position_without_its_price_fails_loudly() -> None:
    book = Portfolio(0.0)
    book.apply_fill(fill(Side.BUY, 1, 10.0))
    with pytest.raises(KeyError, match="AAA"):
        book.equity({"BBB": 1.0})
    with pytest.raises(ValueError, match="positive and finite"):
        book.mark({"AAA": math.nan})


def test_flat_symbols_need_no_price_and_a_new_portfolio_is_all_cash() -> None:
    book = Portfolio(500.0)
    assert (book.equity({}), book.mark({}), book.gross_exposure({})) == (500.0, 0.0, 0.0)
    assert book.position("ZZZ") == Position("ZZZ")
    with pytest.raises(ValueError, match="finite"):
        Portfolio(math.inf)


def test_positions_are_read_only_from_outside() -> None:
    book = Portfolio(0.0)
    book.apply_fill(fill(Side.BUY, 1, 10.0))
    with pytest.raises(TypeError):
        book.positions["AAA"] = Position("AAA")  # type: ignore[index]


# --------------------------------------------------------------------------- invariants

quantities = st.one_of(
    st.integers(min_value=1, max_value=50).map(float),
    st.floats(min_value=0.001, max_value=50.0, allow_nan=False),
)
prices = st.floats(min_value=0.5, max_value=2_000.0, allow_nan=False)
fees = st.one_of(st.just(0.0), st.floats(min_value=-0.5, max_value=5.0, allow_nan=False))
raw_fills = st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(Side), quantities, prices, fees)


@st.composite
def fill_streams(draw: st.DrawFn) -> list[Fill]:
    """Random fills, with some quantities chosen to close or flip the running position."""
    rows = draw(st.lists(raw_fills, min_size=1, max_size=40))
    held = dict.fromkeys(SYMBOLS, 0.0)
    stream = []
    for index, (symbol, drawn_side, drawn_quantity, price, fee) in enumerate(rows):
        side, quantity = drawn_side, drawn_quantity
        if held[symbol] != 0.0 and draw(st.integers(0, 3)) == 0:
            # Exactly close (or, half the time, flip through) the position.
            side = Side.SELL if held[symbol] > 0 else Side.BUY
            quantity = abs(held[symbol]) * draw(st.sampled_from([1.0, 2.0]))
        made = fill(side, quantity, price, fee=fee, symbol=symbol, trade_id=f"t{index}", day=index)
        held[symbol] += made.signed_quantity
        stream.append(made)
        if draw(st.integers(0, 9)) == 0:
            stream.append(made)  # a re-sent fill
    return stream


marks = st.fixed_dictionaries(dict.fromkeys(SYMBOLS, prices))


@settings(max_examples=300, deadline=None)
@given(fill_streams(), marks)
def test_accounting_identities_hold_on_any_fill_stream(
    stream: list[Fill], marks: dict[str, float]
) -> None:
    book = Portfolio(100_000.0)
    distinct: dict[tuple[str, str], Fill] = {}
    for made in stream:
        book.apply_fill(made)
        distinct[(made.client_order_id, made.trade_id)] = made
    fills = list(distinct.values())
    scale = 100_000.0 + sum(f.notional + abs(f.fee) for f in fills)

    def close(expected: float) -> object:
        # 1e-9 relative, measured against the money that moved when the value nets to ~0.
        return pytest.approx(expected, rel=1e-9, abs=1e-9 * scale)

    unrealised = book.mark(marks)
    equity = book.equity(marks)

    # (a) equity is cash plus the marked positions
    marked = sum(p.quantity * marks[s] for s, p in book.positions.items())
    assert equity == close(book.cash + marked)

    # (b) each position is the sum of its signed fills
    for symbol in SYMBOLS:
        signed = math.fsum(f.signed_quantity for f in fills if f.symbol == symbol)
        size = sum(f.quantity for f in fills if f.symbol == symbol)
        assert book.position(symbol).quantity == pytest.approx(signed, abs=1e-9 * max(size, 1.0))

    # (c) equity is what we started with, plus P&L, less fees
    expected = book.initial_cash + book.realised_pnl + unrealised - book.fees_paid
    assert equity == close(expected)
    assert book.fees_paid == pytest.approx(math.fsum(f.fee for f in fills), abs=1e-9 * scale)

    # (d) trades account for all the P&L (gross) and all the fees
    closed, opened = book.closed_trades(), book.open_trades()
    trade_pnl = math.fsum(t.pnl for t in (*closed, *opened))
    assert trade_pnl + unrealised == close(book.realised_pnl + unrealised)
    assert math.fsum(t.fees for t in (*closed, *opened)) == pytest.approx(
        book.fees_paid, abs=1e-9 * scale
    )

    # Each closed trade's P&L follows from its average entry and exit prices.
    for trade in closed:
        assert not trade.is_open and trade.exit_price is not None
        assert trade.exit_quantity == trade.quantity
        by_prices = trade.side.sign * (trade.exit_price - trade.entry_price) * trade.quantity
        assert trade.pnl == pytest.approx(by_prices, rel=1e-9, abs=1e-9 * scale)

    # Exactly the symbols with a position have one open trade, of the same side and size.
    open_by_symbol = {t.symbol: t for t in opened}
    assert len(open_by_symbol) == len(opened)
    for symbol, position in book.positions.items():
        if position.is_flat:
            assert symbol not in open_by_symbol
        else:
            trade = open_by_symbol[symbol]
            assert trade.side is position.side
            assert trade.open_quantity == pytest.approx(abs(position.quantity), rel=1e-9)

    # Exposures: gross bounds net, and both come from the same marked values.
    assert book.gross_exposure(marks) >= abs(book.net_exposure(marks)) - 1e-9 * scale
    assert book.net_exposure(marks) == close(marked)


@settings(max_examples=100, deadline=None)
@given(fill_streams(), marks)
def test_replaying_the_same_fills_rebuilds_the_same_books(
    stream: list[Fill], marks: dict[str, float]
) -> None:
    first, second = Portfolio(10_000.0), Portfolio(10_000.0)
    for made in stream:
        first.apply_fill(made)
    for made in [*stream, *stream]:  # the replay also sees every fill twice
        second.apply_fill(made)
    assert dict(first.positions) == dict(second.positions)
    assert (first.cash, first.fees_paid, first.realised_pnl) == (
        second.cash,
        second.fees_paid,
        second.realised_pnl,
    )
    assert first.closed_trades() == second.closed_trades()
    assert first.open_trades() == second.open_trades()
    assert first.equity(marks) == second.equity(marks)


def test_quantities_follow_the_fills_and_leave_out_flat_symbols() -> None:
    book = Portfolio(1_000.0)
    view = book.quantities
    book.apply_fill(fill(Side.BUY, 3, 10.0, trade_id="a"))
    book.apply_fill(fill(Side.SELL, 2, 20.0, symbol="BBB", trade_id="b"))
    assert dict(view) == {"AAA": 3.0, "BBB": -2.0}  # the view follows later fills
    book.apply_fill(fill(Side.SELL, 3, 11.0, trade_id="c", day=1))
    assert dict(view) == {"BBB": -2.0}
    assert book.quantity("AAA") == 0.0 and book.quantity("never") == 0.0
    assert book.position("AAA") == Position("AAA", 0.0, 0.0, 3.0)  # flat, realised kept
    with pytest.raises(TypeError):
        view["AAA"] = 1.0  # type: ignore[index]
