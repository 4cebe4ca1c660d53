"""Feature profiles and ``build_features``, which turns a bars frame into a feature frame.

A profile is plain data: the names of the per-symbol features to compute, and
whether to add the calendar and cross-sectional stages. Three built-in
profiles differ in horizon. ``short`` looks at days to two weeks (RSI 7,
returns over 1-5 bars, volatility over 5 and 10), ``medium`` at weeks to a
quarter (RSI 14, MACD 12/26/9, volatility over 10, 20 and 60), ``long`` at
months (RSI 28, SMA 200 distance, volatility up to 120 bars). Being data,
a profile hashes stably for the feature cache and can be extended with a
user's own features (``FeatureProfile.with_features``).

``build_features`` computes every per-symbol feature on one symbol at a time,
so no symbol's rows can leak into another's; only the explicit
cross-sectional stage looks across symbols, and only at one timestamp. It
works on NumPy arrays: the frame is converted once, each symbol is a
contiguous slice of the arrays, every feature fills one full-length array
per column, and a single DataFrame is assembled at the end. Per-symbol pandas
objects are created only for a user's feature that has no array kernel.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd

from alphagate.domain.bars import BAR_COLUMNS, check_bars_frame
from alphagate.features.arrays import (
    BarArrays,
    Columns,
    FloatArray,
    fill_by_symbol,
    percentile_rank_by_key,
    symbol_bounds,
)
from alphagate.features.registry import FeatureRegistry, FeatureSpec
from alphagate.features.technical import (
    adx,
    atr,
    bollinger,
    calendar_features,
    cci,
    cross_sectional_columns,
    cross_sectional_inputs,
    ema_distance,
    gap,
    high_low_range,
    log_return,
    macd,
    mfi,
    obv_slope,
    realised_volatility,
    roc,
    rsi,
    sma_distance,
    stochastic,
    volume_zscore,
    williams_r,
)


@dataclass(frozen=True)
class FeatureProfile:
    """Which features to build: registry names plus the two frame-level stages.

    Attributes
    ----------
    name
        The profile's name, recorded with the features it produced.
    features
        Registry names of per-symbol features, in the order they are computed
        (the output columns are sorted regardless).
    calendar_features
        Add ``day_of_week`` and ``month_end`` from the exchange calendar.
    cross_sectional
        Add the per-timestamp percentile ranks of the ``xs_return_lag``-bar
        return and the ``xs_volatility_window``-bar volatility across symbols.
    xs_return_lag, xs_volatility_window
        Parameters of the cross-sectional ranks.
    """

    name: str
    features: tuple[str, ...]
    calendar_features: bool = True
    cross_sectional: bool = True
    xs_return_lag: int = 5
    xs_volatility_window: int = 20

    def __post_init__(self) -> None:
        if isinstance(self.features, str):
            raise TypeError("features must be a tuple of names, not one string")
        object.__setattr__(self, "features", tuple(self.features))
        duplicates = sorted({f for f in self.features if self.features.count(f) > 1})
        if duplicates:
            raise ValueError(f"profile {self.name!r} names features twice: {duplicates}")

    def with_features(self, *names: str, name: str | None = None) -> FeatureProfile:
        """Return a copy that also computes ``names`` (e.g. a user's registered feature)."""
        return replace(self, name=name or self.name, features=(*self.features, *names))


def _short_specs() -> list[FeatureSpec]:
    return [
        rsi(7),
        macd(6, 13, 5),
        bollinger(10),
        atr(7),
        adx(7),
        stochastic(5, 3, 3),
        cci(10),
        roc(5),
        mfi(7),
        obv_slope(5),
        williams_r(7),
        ema_distance(5),
        sma_distance(10),
        *(log_return(lag) for lag in (1, 2, 3, 5)),
        *(realised_volatility(window) for window in (5, 10)),
        volume_zscore(10),
        gap(),
        high_low_range(),
    ]


def _medium_specs() -> list[FeatureSpec]:
    return [
        rsi(14),
        macd(12, 26, 9),
        bollinger(20),
        atr(14),
        adx(14),
        stochastic(14, 3, 3),
        cci(20),
        roc(10),
        mfi(14),
        obv_slope(20),
        williams_r(14),
        ema_distance(20),
        sma_distance(50),
        *(log_return(lag) for lag in (1, 5, 10, 20)),
        *(realised_volatility(window) for window in (10, 20, 60)),
        volume_zscore(20),
        gap(),
        high_low_range(),
    ]


def _long_specs() -> list[FeatureSpec]:
    return [
        rsi(28),
        macd(24, 52, 18),
        bollinger(50),
        atr(28),
        adx(28),
        stochastic(28, 5, 5),
        cci(50),
        roc(20),
        mfi(28),
        obv_slope(60),
        williams_r(28),
        ema_distance(50),
        sma_distance(200),
        *(log_return(lag) for lag in (5, 20, 60)),
        *(realised_volatility(window) for window in (20, 60, 120)),
        volume_zscore(60),
        gap(),
        high_low_range(),
    ]


_BUILTIN_SPECS = {"short": _short_specs, "medium": _medium_specs, "long": _long_specs}

PROFILES: Mapping[str, FeatureProfile] = MappingProxyType(
    {
        name: FeatureProfile(name=name, features=tuple(spec.name for spec in make()))
        for name, make in _BUILTIN_SPECS.items()
    }
)
"""The built-in profiles by name: ``short``, ``medium``, ``long``."""


def default_registry() -> FeatureRegistry:
    """Return a new registry holding every feature the built-in profiles use.

    Each call returns a fresh registry, so a caller that registers its own
    features does not change what anyone else's ``build_features`` computes.
    """
    registry = FeatureRegistry()
    for make in _BUILTIN_SPECS.values():
        for spec in make():
            if spec.name not in registry:
                registry.register(spec)
    return registry


@lru_cache(maxsize=1)
def _shared_default_registry() -> FeatureRegistry:
    """The registry ``build_features`` uses when given none; never handed out."""
    return default_registry()


def resolve_profile(profile: str | FeatureProfile) -> FeatureProfile:
    """Return ``profile`` itself, or the built-in profile of that name.

    Raises
    ------
    KeyError
        For an unknown name, with the closest built-in names.
    """
    if isinstance(profile, FeatureProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        close = difflib.get_close_matches(profile, list(PROFILES), n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(
            f"unknown feature profile {profile!r}{hint} (built-in: {', '.join(PROFILES)})"
        ) from None


def profile_specs(
    profile: str | FeatureProfile,
    registry: FeatureRegistry | None = None,
    calendar: str | None = "XNYS",
) -> list[FeatureSpec]:
    """The per-symbol specs ``build_features`` runs for ``profile``, in order."""
    resolved = resolve_profile(profile)
    # ``is None``, not truthiness: an empty registry is a registry (and has len 0).
    lookup = _shared_default_registry() if registry is None else registry
    specs = lookup.resolve(resolved.features)
    if resolved.calendar_features:
        specs.append(calendar_features(calendar))
    return specs


def profile_warmup(profile: str | FeatureProfile, registry: FeatureRegistry | None = None) -> int:
    """Bars of history before every feature of ``profile`` is defined (the largest warmup)."""
    resolved = resolve_profile(profile)
    warmups = [spec.warmup for spec in profile_specs(resolved, registry, None)]
    if resolved.cross_sectional:
        warmups += [resolved.xs_return_lag, resolved.xs_volatility_window]
    return max(warmups, default=0)


def build_features(
    bars: pd.DataFrame,
    profile: str | FeatureProfile = "medium",
    registry: FeatureRegistry | None = None,
    calendar: str | None = "XNYS",
) -> pd.DataFrame:
    """Compute the features of ``profile`` for every symbol of a canonical bars frame.

    Parameters
    ----------
    bars
        A canonical bars frame (``(symbol, ts)`` index, sorted, float64 OHLCV).
    profile
        A built-in profile name (``short``, ``medium``, ``long``) or a ``FeatureProfile``.
    registry
        Where profile names are looked up; the built-in features when omitted.
    calendar
        Exchange calendar code for the calendar features (``None`` for markets
        that trade every day); it should be the calendar the bars were ingested with.

    Returns
    -------
    pandas.DataFrame
        float64 feature columns on exactly ``bars.index``, sorted by name so the
        same profile always gives the same column order. A row's values use only
        bars of the same symbol up to its ``ts`` (plus, for the ``xs_rank_``
        columns, other symbols' bars up to that ``ts``).

    Raises
    ------
    KeyError
        An unknown profile or feature name.
    ValueError
        ``bars`` is not a canonical frame, or a feature function returned a
        frame on another index (a kernel: a column of another length), a
        non-numeric column, other columns for different symbols, or a column
        another feature already produced.
    """
    check_bars_frame(bars)
    resolved = resolve_profile(profile)
    specs = profile_specs(resolved, registry, calendar)
    bars = bars.loc[:, list(BAR_COLUMNS)]
    rows = _SymbolRows(bars)
    columns: dict[str, FloatArray] = {}
    for spec in specs:
        produced = _run_spec(spec, rows)
        _refuse_clashes(f"feature {spec.name!r}", list(produced), list(columns))
        columns.update(produced)
    if resolved.cross_sectional:
        ranks = cross_sectional_columns(
            rows.arrays, rows.bounds, resolved.xs_return_lag, resolved.xs_volatility_window
        )
        _refuse_clashes("cross-sectional ranks", list(ranks), list(columns))
        columns.update(ranks)
    return pd.DataFrame(
        {name: columns[name] for name in sorted(columns)}, index=bars.index, copy=False
    )


def latest_features(
    bars: Mapping[str, BarArrays],
    profile: str | FeatureProfile = "medium",
    registry: FeatureRegistry | None = None,
    calendar: str | None = "XNYS",
) -> pd.DataFrame:
    """The feature row of each symbol's last bar: ``build_features``' row for it, one bar at a time.

    An online predictor needs only the bar that just closed. Each feature
    runs as ``build_features`` runs it (a recursive indicator such as RSI is
    seeded at the first bar given, so give the whole history it was trained
    on), a row-local one on the last bar alone; the cross-sectional ranks
    rank the last bars of the symbols given, so every symbol's last bar must
    close at the same instant and every symbol with a bar then must be given.

    Parameters
    ----------
    bars
        Per symbol, its bars up to and including the bar to describe.
    profile, registry, calendar
        As for :func:`build_features`.

    Returns
    -------
    pandas.DataFrame
        One row per symbol (index ``symbol``, in the order given), float64
        columns sorted by name as ``build_features`` sorts them.

    Raises
    ------
    ValueError
        When a symbol has no bars or the last bars close at different instants.
    """
    resolved = resolve_profile(profile)
    specs = profile_specs(resolved, registry, calendar)
    last = {symbol: int(arrays.ts[-1]) for symbol, arrays in bars.items() if len(arrays)}
    if len(last) != len(bars) or len(set(last.values())) > 1:
        raise ValueError(
            "latest_features needs every symbol's bars to end at one instant, got "
            + ", ".join(f"{s}: {pd.Timestamp(t, tz='UTC')}" for s, t in last.items())
        )
    rows: dict[str, dict[str, float]] = {}
    for symbol, arrays in bars.items():
        row: dict[str, float] = {}
        for spec in specs:
            produced = _latest_of_spec(spec, arrays)
            _refuse_clashes(f"feature {spec.name!r}", list(produced), list(row))
            row.update(produced)
        rows[symbol] = row
    if resolved.cross_sectional and rows:
        inputs = {
            symbol: cross_sectional_inputs(
                arrays.close, resolved.xs_return_lag, resolved.xs_volatility_window
            )
            for symbol, arrays in bars.items()
        }
        for name in next(iter(inputs.values())):
            values = np.array([inputs[symbol][name][-1] for symbol in bars], dtype=np.float64)
            ranks = percentile_rank_by_key(np.zeros(len(values), dtype=np.int64), values)
            for symbol, rank in zip(bars, ranks, strict=True):
                rows[symbol][f"xs_rank_{name}"] = float(rank)
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=np.float64)
    frame.index.name = "symbol"
    return frame[sorted(frame.columns)]


def _latest_of_spec(spec: FeatureSpec, arrays: BarArrays) -> dict[str, float]:
    """The last row of ``spec`` on one symbol's bars (a row-local kernel on that row only)."""
    n = len(arrays)
    if spec.kernel is not None:
        part = arrays.rows(n - 1, n) if spec.row_local else arrays
        columns = _checked_arrays(spec, spec.kernel(part), len(part))
    else:
        frame = pd.DataFrame(
            {c: getattr(arrays, c) for c in BAR_COLUMNS},
            index=pd.DatetimeIndex(arrays.timestamps(), name="ts"),
        )
        columns = _checked_frame(spec, frame)
    return {name: float(values[-1]) for name, values in columns.items()}


class _SymbolRows:
    """A canonical bars frame as arrays, with each symbol's rows and, on demand, its frame."""

    def __init__(self, bars: pd.DataFrame) -> None:
        self.bars = bars
        self.arrays = BarArrays.from_frame(bars)
        self.bounds = symbol_bounds(bars.index)
        self._frames: dict[tuple[int, int], pd.DataFrame] = {}

    def __len__(self) -> int:
        return len(self.arrays)

    def frame(self, start: int, stop: int) -> pd.DataFrame:
        """One symbol's bars indexed by ``ts``, for features without a kernel; built once."""
        if (start, stop) not in self._frames:
            self._frames[start, stop] = self.bars.iloc[start:stop].droplevel("symbol")
        return self._frames[start, stop]


def _run_spec(spec: FeatureSpec, rows: _SymbolRows) -> dict[str, FloatArray]:
    """Compute ``spec`` for every symbol into full-length, checked float64 columns.

    A row-local kernel runs once on all rows (one slice spanning every
    symbol). Results are always copied into new arrays, so the returned frame,
    built without a further copy, never shares memory with the bars or with a
    kernel's own arrays.
    """
    kernel = spec.kernel
    compute: Callable[[int, int], Columns]
    if kernel is not None:

        def compute(start: int, stop: int) -> Columns:
            return _checked_arrays(spec, kernel(rows.arrays.rows(start, stop)), stop - start)

    else:

        def compute(start: int, stop: int) -> Columns:
            return _checked_frame(spec, rows.frame(start, stop))

    bounds = [(0, len(rows))] if spec.row_local else rows.bounds
    return fill_by_symbol(f"feature {spec.name!r}", compute, bounds, len(rows))


def _checked_arrays(spec: FeatureSpec, columns: Columns, length: int) -> Columns:
    """A kernel's output as float64 arrays of ``length``, or ``ValueError`` naming the feature."""
    if not columns:
        raise ValueError(f"feature {spec.name!r} returned no columns")
    checked: dict[str, FloatArray] = {}
    for name, values in columns.items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"feature {spec.name!r} returned non-numeric columns: {error}"
            ) from None
        if array.shape != (length,):
            raise ValueError(
                f"feature {spec.name!r} returned column {name!r} of shape {array.shape} "
                f"for {length} bars; a feature must give one value per bar (NaN where undefined)"
            )
        checked[str(name)] = array
    if len(checked) != len(columns):
        raise ValueError(f"feature {spec.name!r} returned duplicate columns {list(columns)}")
    return checked


def _checked_frame(spec: FeatureSpec, bars: pd.DataFrame) -> Columns:
    """Run a DataFrame feature on one symbol's bars and return its checked columns as arrays."""
    out = spec.function(bars)
    if not isinstance(out, pd.DataFrame):
        raise ValueError(f"feature {spec.name!r} returned {type(out).__name__}, not a DataFrame")
    if not out.index.equals(bars.index):
        raise ValueError(
            f"feature {spec.name!r} returned rows on another index than its bars; "
            "a feature must keep the bars' ts index (use NaN where undefined)"
        )
    columns = [str(c) for c in out.columns]
    if not columns:
        raise ValueError(f"feature {spec.name!r} returned no columns")
    if len(set(columns)) != len(columns):
        raise ValueError(f"feature {spec.name!r} returned duplicate columns {columns}")
    try:
        out = out.set_axis(columns, axis=1).astype("float64")
    except (TypeError, ValueError) as error:
        raise ValueError(f"feature {spec.name!r} returned non-numeric columns: {error}") from None
    return {name: out[name].to_numpy() for name in columns}


def _refuse_clashes(what: str, columns: list[str], existing: list[str]) -> None:
    clash = sorted(set(columns) & set(existing))
    if clash:
        raise ValueError(f"{what} produced columns another feature already produced: {clash}")
