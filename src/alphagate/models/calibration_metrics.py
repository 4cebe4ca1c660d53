"""How far predicted probabilities are from observed frequencies, as numbers and as a picture.

A classifier's probability feeds position sizing and the gates, so "0.7" must
mean that about 70 % of such predictions come true. The reliability curve bins
the predictions and compares, per bin, the mean prediction with the share of
positives; the expected calibration error (ECE) is the count-weighted mean gap
and the maximum calibration error (MCE) the worst bin's gap.

Binning follows ``sklearn.calibration.calibration_curve`` exactly (same edges,
same rule for a value on an edge), so our curves and sklearn's agree to the
last bit and tests can use sklearn as the oracle:

- ``uniform``: ``n_bins`` equal-width bins on ``[0, 1]``. Shows where on the
  probability scale a model is off, but sparse bins make the ECE noisy.
- ``quantile``: edges at the quantiles of the predictions, so every bin holds
  about the same number of rows. Steadier ECE for models whose predictions
  crowd near the base rate, as financial classifiers' do.

A bin is right-closed, ``(lower, upper]``; the first also holds values equal
to its lower edge. Quantile edges may repeat when predictions have ties; the
bins between repeated edges are then empty and skipped, as in sklearn.

Brier score and log loss are proper scoring rules: they reward calibration and
sharpness together, and are reported beside the ECE because an ECE alone can
be zero for a useless model that always predicts the base rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

BinStrategy = Literal["uniform", "quantile"]
LOG_LOSS_EPS = 1e-15
"""Predictions are clipped to ``[eps, 1 - eps]`` in the log loss, so one confident miss is
a large finite penalty rather than an infinite one."""


def validate_binary(
    p: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return ``p`` and ``y`` as float arrays after checking they are probabilities and 0/1 labels.

    Every metric and calibrator here starts from this check, so a NaN
    prediction, a probability of 1.3 or a label of -1 (a sign label passed
    where a binary one belongs) fails loudly with the reason instead of
    producing a plausible-looking number.

    Raises
    ------
    ValueError
        Empty input, different lengths, not one-dimensional, a non-finite or
        out-of-``[0, 1]`` prediction, or a label other than 0 and 1.
    """
    probs = np.asarray(p, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    if probs.ndim != 1 or labels.ndim != 1:
        raise ValueError(
            f"predictions and labels must be one-dimensional, got shapes {probs.shape} "
            f"and {labels.shape}"
        )
    if len(probs) != len(labels):
        raise ValueError(
            f"predictions and labels must have the same length, got {len(probs)} and {len(labels)}"
        )
    if len(probs) == 0:
        raise ValueError("no predictions: at least one row is needed")
    if not np.isfinite(probs).all():
        raise ValueError(f"{int((~np.isfinite(probs)).sum())} predictions are NaN or infinite")
    if probs.min() < 0.0 or probs.max() > 1.0:
        raise ValueError(
            f"predictions must lie in [0, 1], got values from {probs.min()!r} to {probs.max()!r}"
        )
    bad = (labels != 0.0) & (labels != 1.0)
    if bad.any():
        examples = sorted({float(v) for v in labels[bad][:5]})
        raise ValueError(
            f"labels must be 0 or 1, got {int(bad.sum())} other values such as {examples}; "
            "map sign labels to 0/1 before calibrating"
        )
    return probs, labels


def bin_edges(
    p: npt.NDArray[np.float64], n_bins: int, strategy: BinStrategy
) -> npt.NDArray[np.float64]:
    """The ``n_bins + 1`` edges, computed by the same expression as sklearn's ``calibration_curve``.

    Using the identical expression (not merely an equivalent one) keeps the
    quantile edges bit-equal to sklearn's, so rows on an edge land in the same
    bin on both sides.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if strategy == "quantile":
        quantiles = np.linspace(0, 1, n_bins + 1)
        return np.asarray(np.percentile(p, quantiles * 100), dtype=np.float64)
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def reliability_bins(
    p: npt.ArrayLike,
    y: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> pd.DataFrame:
    """Per-bin count, mean prediction and observed frequency of positives.

    Parameters
    ----------
    p
        Predicted probabilities of the positive class, in ``[0, 1]``.
    y
        Outcomes, 0 or 1.
    n_bins
        Number of bins; every bin gets a row, empty ones with ``count`` 0 and
        NaN means, so a table for several models lines up bin by bin.
    strategy
        ``"uniform"`` or ``"quantile"`` (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Indexed by bin number ``0 .. n_bins - 1`` with columns ``lower``,
        ``upper`` (the bin's edges), ``count``, ``mean_predicted`` and
        ``observed_frequency``.
    """
    probs, labels = validate_binary(p, y)
    edges = bin_edges(probs, n_bins, strategy)
    # sklearn's rule: searchsorted on the inner edges, side="left", makes bins (lower, upper].
    ids = np.searchsorted(edges[1:-1], probs)
    sums = np.bincount(ids, weights=probs, minlength=n_bins)
    positives = np.bincount(ids, weights=labels, minlength=n_bins)
    counts = np.bincount(ids, minlength=n_bins)
    nonzero = counts != 0
    mean_predicted = np.full(n_bins, np.nan)
    observed = np.full(n_bins, np.nan)
    mean_predicted[nonzero] = sums[nonzero] / counts[nonzero]
    observed[nonzero] = positives[nonzero] / counts[nonzero]
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": counts.astype(np.int64),
            "mean_predicted": mean_predicted,
            "observed_frequency": observed,
        },
        index=pd.RangeIndex(n_bins, name="bin"),
    )


def _gaps(bins: pd.DataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Weights (count share) and absolute gaps of the non-empty bins."""
    filled = bins.loc[bins["count"] > 0]
    counts = filled["count"].to_numpy(dtype=np.float64)
    gaps = np.abs(
        filled["observed_frequency"].to_numpy(dtype=np.float64)
        - filled["mean_predicted"].to_numpy(dtype=np.float64)
    )
    return counts / counts.sum(), gaps


def expected_calibration_error(
    p: npt.ArrayLike,
    y: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """ECE: the sum over non-empty bins of ``count / N * |observed - mean predicted|``.

    It is the average distance, over rows, between what a row's bin promised
    and what its bin delivered; 0 means perfectly calibrated at this binning.
    It depends on the binning, so reports give it for both strategies.
    """
    weights, gaps = _gaps(reliability_bins(p, y, n_bins, strategy))
    return float(np.sum(weights * gaps))


def max_calibration_error(
    p: npt.ArrayLike,
    y: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """MCE: the largest ``|observed - mean predicted|`` over non-empty bins.

    The ECE can hide one badly wrong region of the scale behind many good
    ones; for position sizing the worst bin matters, since the most confident
    predictions take the largest positions.
    """
    _, gaps = _gaps(reliability_bins(p, y, n_bins, strategy))
    return float(gaps.max())


def brier_score(p: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean squared gap between prediction and outcome, as ``sklearn.metrics.brier_score_loss``."""
    probs, labels = validate_binary(p, y)
    return float(np.mean((probs - labels) ** 2))


def log_loss(p: npt.ArrayLike, y: npt.ArrayLike, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood of the outcomes, predictions clipped to ``[eps, 1 - eps]``.

    It equals ``sklearn.metrics.log_loss`` wherever no prediction is within
    ``eps`` of 0 or 1 (sklearn clips at the float's machine epsilon instead).
    """
    probs, labels = validate_binary(p, y)
    clipped = np.clip(probs, eps, 1.0 - eps)
    return float(-np.mean(labels * np.log(clipped) + (1.0 - labels) * np.log1p(-clipped)))


@dataclass(frozen=True)
class CalibrationReport:
    """The calibration numbers kept with a model, before or after calibrating it.

    Attributes
    ----------
    ece_uniform, ece_quantile
        Expected calibration error with uniform and quantile bins.
    mce_uniform, mce_quantile
        Maximum calibration error with uniform and quantile bins.
    brier, log_loss
        Proper scoring rules on the same rows.
    n
        Number of rows measured; an ECE on 80 rows and one on 80,000 are not
        equally trustworthy, so the count travels with the numbers.
    """

    ece_uniform: float
    ece_quantile: float
    mce_uniform: float
    mce_quantile: float
    brier: float
    log_loss: float
    n: int

    def to_json_dict(self) -> dict[str, float | int]:
        """Plain floats and an int, ready for ``json.dumps`` and the run's metadata."""
        return {key: (int(v) if key == "n" else float(v)) for key, v in asdict(self).items()}


def calibration_report(p: npt.ArrayLike, y: npt.ArrayLike, n_bins: int = 10) -> CalibrationReport:
    """Compute every number of a ``CalibrationReport`` on one set of predictions and outcomes."""
    probs, labels = validate_binary(p, y)
    return CalibrationReport(
        ece_uniform=expected_calibration_error(probs, labels, n_bins, "uniform"),
        ece_quantile=expected_calibration_error(probs, labels, n_bins, "quantile"),
        mce_uniform=max_calibration_error(probs, labels, n_bins, "uniform"),
        mce_quantile=max_calibration_error(probs, labels, n_bins, "quantile"),
        brier=brier_score(probs, labels),
        log_loss=log_loss(probs, labels),
        n=len(probs),
    )


def plot_reliability_diagram(
    p_before: npt.ArrayLike,
    y: npt.ArrayLike,
    path: Path,
    p_after: npt.ArrayLike | None = None,
    n_bins: int = 10,
) -> Path:
    """Write a reliability diagram as PNG: curves before (and after) calibration, and a histogram.

    The top panel plots observed frequency against mean prediction per
    uniform bin, with the diagonal a calibrated model would follow; the
    legend carries each curve's ECE. The bottom panel shows how the
    predictions are spread, because a curve is only as trustworthy as the
    number of rows behind each point, and a model whose predictions all sit
    near 0.5 is calibrated yet of little use.

    The figure is built on ``matplotlib.figure.Figure`` with the Agg canvas,
    never through ``pyplot``: no global figure registry to leak memory across
    a long search, no dependency on a display, and safe in worker processes.

    Parameters
    ----------
    p_before
        Predictions as the model made them.
    y
        Outcomes, 0 or 1, for the same rows.
    path
        Where to write the PNG; missing parent directories are created.
    p_after
        Calibrated predictions for the same rows, drawn as a second curve.
    n_bins
        Number of uniform bins for the curves and the histogram.

    Returns
    -------
    pathlib.Path
        ``path``, for chaining into an artefact list.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    before, labels = validate_binary(p_before, y)
    series: list[tuple[str, npt.NDArray[np.float64]]] = [("before", before)]
    if p_after is not None:
        after, _ = validate_binary(p_after, labels)
        series.append(("after", after))

    figure = Figure(figsize=(6.0, 7.0), dpi=100)
    FigureCanvasAgg(figure)
    curve_axes, hist_axes = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    curve_axes.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="perfect")
    for (name, probs), marker in zip(series, ("o", "s"), strict=False):
        bins = reliability_bins(probs, labels, n_bins, "uniform")
        filled = bins.loc[bins["count"] > 0]
        ece = expected_calibration_error(probs, labels, n_bins, "uniform")
        curve_axes.plot(
            filled["mean_predicted"],
            filled["observed_frequency"],
            marker=marker,
            label=f"{name} (ECE {ece:.4f})",
        )
        hist_axes.hist(probs, bins=np.linspace(0.0, 1.0, n_bins + 1), alpha=0.5, label=name)
    curve_axes.set_xlim(0.0, 1.0)
    curve_axes.set_ylim(0.0, 1.0)
    curve_axes.set_ylabel("observed frequency")
    curve_axes.set_title(f"Reliability diagram ({len(labels)} rows, {n_bins} uniform bins)")
    curve_axes.legend(loc="upper left")
    hist_axes.set_xlabel("predicted probability")
    hist_axes.set_ylabel("rows")
    hist_axes.legend(loc="upper right")
    figure.tight_layout()

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png")
    return target
