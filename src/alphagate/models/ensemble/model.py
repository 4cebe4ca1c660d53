"""``EnsembleModel``: several fitted models of any family behind the one ``Model`` protocol.

Members are named by family (``"lightgbm"``, ``"logreg"``, any family the
factory knows except ``"ensemble"`` itself) and built through
:func:`alphagate.models.factory.make_model`, so a family added there is a
member at once. How their probabilities are combined is in
:mod:`alphagate.models.ensemble.combine`.

**Where the starting weights come from.** With an ``eval_set`` each member
is fitted on ``X`` (it may stop early on the ``eval_set``) and scored on the
``eval_set``. Without one (the trainer's final fit and every out-of-fold
fit) the last ``VALIDATION_FRACTION`` of ``X``'s timestamps is held out,
the ``h`` timestamps before it are purged (their labels end inside it),
the members are fitted on the rest and scored on it, then refitted on all
of ``X``. The scores are the prior log losses overall and per regime.

**History.** A prediction's weights depend on the members' losses on
earlier rows of the same symbol, so ``predict_proba`` reads a frame
indexed by ``(symbol, ts)`` (the research frames' index) one symbol at a
time in time order, each symbol's rows taken as consecutive bars. A frame
without that index has no history: every row is weighted by the fit's
priors for its regime. :meth:`EnsembleModel.stream` gives the same numbers
bar by bar, for the online predictor.

**Saved layout.** ``model.json`` (family ``ensemble``) plus one folder per
member, ``member-<i>-<family>/``, each a complete saved model with its own
sidecar; nothing is pickled.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from alphagate.models import factory
from alphagate.models.ensemble.combine import (
    REGIMES,
    CombineSettings,
    FloatArray,
    IntArray,
    Outcome,
    Prior,
    RegimeRule,
    Step,
    SymbolState,
)
from alphagate.models.online import ModelStream, StreamingModel
from alphagate.models.protocol import (
    Model,
    check_fitted,
    check_json_params,
    prepare_prediction_data,
    prepare_training_data,
    read_sidecar,
    save_directory,
    write_sidecar,
)

FAMILY = "ensemble"
VALIDATION_FRACTION = 0.25
"""Share of the latest timestamps of ``X`` that scores the members when no eval_set is given."""
_SETTINGS = ("half_life", "temperature", "disagreement_penalty", "shrinkage")


@dataclass(frozen=True)
class Member:
    """One member: a family the factory knows and its flat parameters."""

    family: str
    params: Mapping[str, Any]


def member_families() -> tuple[str, ...]:
    """Every family that may be a member: all the factory knows but the ensemble."""
    return tuple(f for f in factory.FAMILIES if f != FAMILY)


def parse_members(members: Sequence[str | Mapping[str, Any]]) -> list[Member]:
    """Members from names (``"lightgbm"``) or ``{"family": ..., "params": {...}}`` entries.

    Raises
    ------
    ValueError
        Fewer than one member, an unknown family (with the closest known one
        as a suggestion), or ``ensemble`` as a member of itself.
    """
    if isinstance(members, str) or not members:
        raise ValueError(
            "an ensemble needs a list of member families, e.g. --members lightgbm,logreg"
        )
    known = member_families()
    parsed = []
    for entry in members:
        family, params = (entry, {}) if isinstance(entry, str) else (entry.get("family"), {})
        if isinstance(entry, Mapping):
            params = dict(entry.get("params") or {})
        if family == FAMILY:
            raise ValueError("an ensemble cannot be its own member; name model families")
        if family not in known:
            close = difflib.get_close_matches(str(family).lower(), list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown ensemble member {family!r}{hint} (known: {', '.join(known)})"
            )
        parsed.append(Member(str(family), check_json_params(params, str(family))))
    return parsed


@dataclass(frozen=True, eq=False)
class EnsembleTrace:
    """Per row of a prediction: the ensemble's P(up) and what it was made of.

    ``members`` and ``weights`` are ``(n, M)``; ``regime`` indexes ``REGIMES``;
    ``recent_loss`` is each member's running log loss the weights were read from.
    """

    p: FloatArray
    members: FloatArray
    weights: FloatArray
    disagreement: FloatArray
    regime: IntArray
    recent_loss: FloatArray

    def frame(self, index: pd.Index, names: Sequence[str]) -> pd.DataFrame:
        """The trace on ``index``: ``p``, ``disagreement``, ``regime``, ``p_``/``w_`` per member."""
        columns: dict[str, Any] = {"p": self.p, "disagreement": self.disagreement}
        columns["regime"] = [REGIMES[r] for r in self.regime]
        for m, name in enumerate(names):
            columns[f"p_{name}"] = self.members[:, m]
            columns[f"w_{name}"] = self.weights[:, m]
        return pd.DataFrame(columns, index=index)


class EnsembleModel:
    """A weighted, regime- and performance-aware, disagreement-penalised mix of models.

    Parameters
    ----------
    members
        Member families or ``{"family", "params"}`` entries (``parse_members``).
    horizon
        The label horizon in bars: a prediction settles ``horizon`` rows later.
    seed
        Every member's seed.
    settings
        The combination's knobs (``CombineSettings``).
    """

    def __init__(
        self,
        members: Sequence[str | Mapping[str, Any]],
        *,
        horizon: int = 1,
        seed: int = 7,
        settings: CombineSettings | None = None,
    ) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"ensemble horizon must be a positive integer, got {horizon!r}")
        self._members = parse_members(members)
        self._horizon, self._seed = horizon, seed
        self._settings = settings or CombineSettings()
        self._models: list[Model] = []
        self._feature_names: list[str] = []
        self._prior = Prior.equal(len(self._members))
        self._rule = RegimeRule(None, None, math.inf)
        self._outcome = Outcome(horizon, None)

    @classmethod
    def from_params(cls, *, seed: int, params: Mapping[str, Any]) -> EnsembleModel:
        """Build from the factory's flat parameters: ``members``, ``horizon`` and the settings."""
        given = dict(params)
        unknown = sorted(set(given) - {"members", "horizon", *_SETTINGS})
        if unknown:
            options = ("members", "horizon", *_SETTINGS)
            close = difflib.get_close_matches(unknown[0], options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown ensemble parameter {unknown[0]!r}{hint} (known: {', '.join(options)})"
            )
        settings = CombineSettings(**{k: float(given[k]) for k in _SETTINGS if k in given})
        return cls(
            given.get("members", []),
            horizon=given.get("horizon", 1),
            seed=seed,
            settings=settings,
        )

    @property
    def name(self) -> str:
        """The family, ``"ensemble"``."""
        return FAMILY

    @property
    def feature_names(self) -> list[str]:
        """The training columns, in order (empty before ``fit``)."""
        return list(self._feature_names)

    @property
    def member_names(self) -> list[str]:
        """One label per member, ``<i>-<family>``, as used in trace columns and folders."""
        return [f"{i}-{m.family}" for i, m in enumerate(self._members)]

    @property
    def members(self) -> list[Model]:
        """The fitted members, in order."""
        check_fitted(self._feature_names, FAMILY)
        return list(self._models)

    @property
    def prior(self) -> Prior:
        """The members' validation log losses the weights start from."""
        return self._prior

    def _make(self) -> list[Model]:
        return [
            factory.make_model(m.family, seed=self._seed, params=m.params)  # type: ignore[arg-type]
            for m in self._members
        ]

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        """Fit every member on the same inputs and learn the starting weights (module docstring)."""
        data = prepare_training_data(X, y, sample_weight, eval_set)
        rule = RegimeRule.learn(X)
        if eval_set is not None:
            models = [m.fit(X, y, sample_weight, eval_set) for m in self._make()]
            scored_x, scored_y = eval_set
            prior = self._measure(models, scored_x, scored_y, rule)
        else:
            prior = self._validate(X, y, sample_weight, rule)
            models = [m.fit(X, y, sample_weight) for m in self._make()]
        self._models, self._prior, self._rule = models, prior, rule
        self._outcome = Outcome.for_features(data.feature_names, self._horizon)
        self._feature_names = data.feature_names
        return self

    def _measure(
        self,
        models: list[Model],
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        rule: RegimeRule,
    ) -> Prior:
        probabilities = np.column_stack([m.predict_proba(X) for m in models])
        target = y.to_numpy(dtype=np.int64)
        return Prior.measure(probabilities, target, rule.classify(X), self._settings.shrinkage)

    def _validate(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None,
        rule: RegimeRule,
    ) -> Prior:
        """Priors from a purged time split of ``X``, or equal ones when it is too small to split."""
        ts = _times(X.index)
        stamps = np.unique(ts)
        n_valid = math.ceil(VALIDATION_FRACTION * len(stamps))
        last_train = len(stamps) - n_valid - self._horizon
        if n_valid < 1 or last_train < 1:
            return Prior.equal(len(self._members))
        train = ts < stamps[last_train]
        valid = ts >= stamps[len(stamps) - n_valid]
        if min(np.unique(y[train]).size, np.unique(y[valid]).size) < 2:
            return Prior.equal(len(self._members))
        weight = None if sample_weight is None else sample_weight[train]
        models = [m.fit(X[train], y[train], weight) for m in self._make()]
        return self._measure(models, X[valid], y[valid], rule)

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """P(up) per row of ``X``: the combined, disagreement-penalised member probabilities."""
        return self.explain(X).p

    def explain(self, X: pd.DataFrame) -> EnsembleTrace:  # noqa: N803
        """Each row's P(up) with its member probabilities, weights, disagreement and regime."""
        prepare_prediction_data(X, self._feature_names, FAMILY)
        probabilities = np.column_stack([m.predict_proba(X) for m in self._models])
        regimes = self._rule.classify(X)
        returns = self._returns(X)
        steps: list[Step | None] = [None] * len(X)
        for rows in _histories(X.index):
            state = self._state()
            for i in rows:
                steps[i] = state.step(probabilities[i], int(regimes[i]), float(returns[i]))
        done = [s for s in steps if s is not None]
        return EnsembleTrace(
            p=np.array([s.p for s in done], dtype=np.float64),
            members=probabilities,
            weights=np.vstack([s.weights for s in done]),
            disagreement=np.array([s.disagreement for s in done], dtype=np.float64),
            regime=regimes,
            recent_loss=np.vstack([s.recent_loss for s in done]),
        )

    def stream(self) -> EnsembleStream:
        """A bar-by-bar predictor that gives exactly what ``predict_proba`` gives on the panel."""
        check_fitted(self._feature_names, FAMILY)
        return EnsembleStream(self)

    def _state(self) -> SymbolState:
        return SymbolState(self._prior, self._outcome, self._settings)

    def _returns(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        column = self._outcome.column
        if column is None:
            return np.full(len(X), math.nan)
        return X[column].to_numpy(np.float64)

    def save(self, directory: Path) -> None:
        """Write each member into its own folder, then the ensemble's sidecar last."""
        directory = save_directory(directory, self._feature_names, FAMILY)
        for label, model in zip(self.member_names, self._models, strict=True):
            model.save(directory / f"member-{label}")
        members = [{"family": m.family, "params": dict(m.params)} for m in self._members]
        write_sidecar(
            directory,
            {
                "family": FAMILY,
                "feature_names": self._feature_names,
                "members": members,
                "horizon": self._horizon,
                "seed": self._seed,
                "settings": asdict(self._settings),
                "prior": self._prior.to_dict(),
                "regime_rule": self._rule.to_dict(),
                "outcome_lag": self._outcome.lag,
            },
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read an ensemble written by ``save``; it predicts exactly as the saved one did."""
        directory = Path(directory)
        body = read_sidecar(directory, FAMILY)
        model = cls(
            body["members"],
            horizon=int(body["horizon"]),
            seed=int(body["seed"]),
            settings=CombineSettings(**body["settings"]),
        )
        model._models = [
            factory.load_model(directory / f"member-{label}") for label in model.member_names
        ]
        model._feature_names = [str(n) for n in body["feature_names"]]
        model._prior = Prior.from_dict(body["prior"])
        model._rule = RegimeRule.from_dict(body["regime_rule"])
        model._outcome = Outcome(model._horizon, body["outcome_lag"])
        return model


class EnsembleStream:
    """An ensemble's combination kept per symbol across calls, one bar close at a time.

    Each call gives the rows of the symbols whose bar closed at ``ts`` (index
    ``symbol``); a symbol's rows must come in time order, as the batch path
    reads them.
    """

    def __init__(self, model: EnsembleModel) -> None:
        self._model = model
        self._states: dict[str, SymbolState] = {}
        self._last: dict[str, int] = {}
        # A member that reads its own history (a sequence net) needs its own stream too.
        self._streams: list[ModelStream | None] = [
            m.stream() if isinstance(m, StreamingModel) else None for m in model.members
        ]

    def predict_proba(self, ts: int, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """P(up) for each row of ``X`` (one per symbol), its bar closing at ``ts``.

        Raises
        ------
        ValueError
            A symbol shown a ``ts`` not after the last one it was shown.
        """
        model = self._model
        prepare_prediction_data(X, model.feature_names, FAMILY)
        probabilities = np.column_stack(
            [
                m.predict_proba(X) if stream is None else stream.predict_proba(ts, X)
                for m, stream in zip(model.members, self._streams, strict=True)
            ]
        )
        regimes = model._rule.classify(X)
        returns = model._returns(X)
        out = np.empty(len(X), dtype=np.float64)
        for i, symbol in enumerate(map(str, X.index)):
            if symbol in self._last and ts <= self._last[symbol]:
                raise ValueError(
                    f"ensemble stream: {symbol} shown ts {ts} after {self._last[symbol]}; "
                    "bars must come in time order"
                )
            self._last[symbol] = ts
            state = self._states.setdefault(symbol, model._state())
            out[i] = state.step(probabilities[i], int(regimes[i]), float(returns[i])).p
        return out


def _times(index: pd.Index) -> IntArray:
    """Row times as int64 from a ``ts`` level, or row positions when the index has none."""
    if "ts" in (index.names or []):
        times: IntArray = pd.DatetimeIndex(index.get_level_values("ts")).as_unit("ns").asi8
        return times
    return np.arange(len(index), dtype=np.int64)


def _histories(index: pd.Index) -> list[IntArray]:
    """Row positions per symbol in time order; each row alone when the index lacks them."""
    names = list(index.names or [])
    if "symbol" not in names or "ts" not in names:
        return [np.array([i], dtype=np.int64) for i in range(len(index))]
    codes, _ = pd.factorize(index.get_level_values("symbol"))
    order = np.lexsort((_times(index), codes))
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return [part.astype(np.int64) for part in np.split(order, bounds)]
