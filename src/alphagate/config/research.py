"""The research sections: features, labels and the pipeline that trains and validates models."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from alphagate.config.base import Section


class FeaturesConfig(Section):
    """Which features are built and where they are cached."""

    profile: Literal["short", "medium", "long"] = Field(
        "medium", description="Named feature profile: windows and indicator subset."
    )
    cache_dir: Path = Field(
        Path("data/features"),
        description="Feature cache, keyed by data, feature config and code version.",
    )


class LabelsConfig(Section):
    """How training targets are made."""

    horizons: tuple[int, ...] = Field(
        (1, 5, 20), min_length=1, description="Fixed-horizon label horizons, in bars."
    )
    barrier_horizon: int = Field(20, ge=1, description="Triple-barrier vertical barrier, in bars.")
    vol_span: int = Field(
        50, ge=2, description="Span of the EWM volatility that scales the barriers, in bars."
    )
    target_balance: float = Field(
        1 / 3,
        gt=0,
        lt=1,
        description="Share of vertical-barrier outcomes `labels calibrate` aims for; up and "
        "down share the rest equally.",
    )
    barriers_file: Path = Field(
        Path("data/labels/barriers.json"),
        description="Where `labels calibrate` saves the chosen barrier multiples.",
    )


CalibrationMethod = Literal["isotonic", "sigmoid", "temperature"]


class PipelineBacktestConfig(Section):
    """The backtest stage: the trained models through the decision path, out of sample only."""

    cash: float = Field(10_000.0, gt=0, description="Starting cash.")
    commission_bps: float = Field(1.0, ge=0, description="Commission, bps of notional.")
    fill_model: Literal["next_open", "close", "conservative"] = Field(
        "conservative", description="How orders fill; conservative charges spread and impact."
    )


class ValidationConfig(Section):
    """Thresholds of the validation stage's checks.

    Defaults are the product brief's bar for a candidate worth paper trading.
    A check whose input is absent is reported as missing, never as passed.
    """

    min_sharpe: float = Field(0.5, description="Backtest annualised Sharpe must exceed this.")
    max_drawdown: float = Field(
        0.25, gt=0, description="Backtest worst peak-to-trough loss (a fraction) must stay below."
    )
    min_win_rate: float = Field(
        0.45, ge=0, le=1, description="Share of winning backtest trades must exceed this."
    )
    min_accuracy: float = Field(
        0.52, ge=0, le=1, description="Holdout accuracy of every horizon must exceed this."
    )
    min_accuracy_edge: float = Field(
        0.0,
        description="Holdout accuracy must beat always predicting the holdout's majority "
        "class by more than this (a model that always says 'up' in a rising market passes "
        "min_accuracy without any skill).",
    )
    max_ece: float = Field(
        0.1,
        gt=0,
        description="Holdout expected calibration error (equal-width bins) of every horizon "
        "must stay below this.",
    )
    min_deflated_sharpe: float = Field(
        0.95,
        ge=0,
        le=1,
        description="Deflated Sharpe ratio (probability that the true Sharpe beats the best of "
        "the trials under the null) must exceed this.",
    )
    leakage_cuts: int = Field(
        3, ge=1, description="Cuts at which the point-in-time checker rebuilds the features."
    )


class DeepConfig(Section):
    """Sizes and training of the PyTorch families (``cnn_lstm``, ``tft``, ``nbeats``).

    Passed as parameters to every deep model the train stage and ``alphagate
    train`` fit (and to the deep members of an ensemble); a search's trial
    values override them. The defaults are small enough that one fit on the
    bundled data takes well under a minute on two CPU cores (measured in
    ``docs/models.md``); a horizon is six fits (five out-of-fold, one final).
    ``alphagate.models.deep.DeepParams`` checks the combinations (heads
    must divide hidden_size; the regime head is nbeats-only).
    """

    window: int = Field(16, ge=1, description="Bars per input window, ending at the row.")
    hidden_size: int = Field(16, ge=1, description="Hidden width of every layer.")
    layers: int = Field(1, ge=1, description="LSTM / Transformer / N-BEATS layers.")
    heads: int = Field(2, ge=1, description="Attention heads (must divide hidden_size).")
    dropout: float = Field(0.1, ge=0, le=0.9, description="Dropout rate.")
    blocks: int = Field(2, ge=1, description="N-BEATS blocks (nbeats only).")
    epochs: int = Field(8, ge=1, description="Most epochs per fit (early stopping may stop it).")
    batch_size: int = Field(256, ge=1, description="Windows per optimiser step.")
    learning_rate: float = Field(3e-3, gt=0, description="OneCycle's peak AdamW learning rate.")
    patience: int = Field(3, ge=1, description="Epochs without a better validation loss to stop.")
    regime_head: bool = Field(
        False, description="nbeats: train the auxiliary trending/ranging/high-vol head."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Training device; auto is CUDA when present, else CPU."
    )
    threads: int = Field(
        1,
        ge=0,
        description="CPU threads torch trains with (0: its own choice, the core count); "
        "1 keeps small nets fast on a few shared cores.",
    )


class PipelineConfig(Section):
    """The research pipeline: where runs go, the model it trains, how it validates."""

    runs_dir: Path = Field(
        Path("runs"), description="Root of runs/<run_id>/<stage>/, MLflow and Optuna storage."
    )
    seed: int = Field(7, description="Seed of every random choice the stages make.")
    model: Literal["logreg", "lightgbm", "catboost", "cnn_lstm", "tft", "nbeats", "ensemble"] = (
        Field("lightgbm", description="Model family the train stage fits per horizon.")
    )
    members: tuple[str, ...] = Field(
        (),
        description="With model: ensemble, the member families it combines "
        "(e.g. [lightgbm, logreg]); each is fitted with its defaults.",
    )
    trials: int = Field(
        0, ge=0, description="Optuna trials per horizon in the train stage (0: the defaults)."
    )
    calibration_methods: tuple[CalibrationMethod, ...] = Field(
        ("isotonic", "sigmoid", "temperature"),
        min_length=1,
        description="Calibrators the calibrate stage compares per horizon, on out-of-fold "
        "predictions only; the first is also the train stage's own.",
    )
    calibration_folds: int = Field(
        5,
        ge=2,
        description="Time-ordered folds of the out-of-fold predictions used to compare "
        "calibrators.",
    )
    deep: DeepConfig = Field(
        default_factory=DeepConfig, description="Sizes and training of the PyTorch families."
    )
    backtest: PipelineBacktestConfig = Field(
        default_factory=PipelineBacktestConfig, description="The backtest stage."
    )
    validation: ValidationConfig = Field(
        default_factory=ValidationConfig, description="Validation thresholds."
    )

    @model_validator(mode="after")
    def _members_go_with_an_ensemble(self) -> PipelineConfig:
        """An ensemble needs members, and only an ensemble takes them; names are checked later."""
        if self.model == "ensemble" and not self.members:
            raise ValueError(
                "pipeline.model: ensemble needs pipeline.members, e.g. [lightgbm, logreg]"
            )
        if self.model != "ensemble" and self.members:
            raise ValueError(
                f"pipeline.members is only for pipeline.model: ensemble (model is {self.model})"
            )
        return self


class TrainingConfig(Section):
    """Where ``alphagate train``'s hyperparameter searches keep their trials.

    Every worker of a parallel search (``train --trials N --workers W``)
    loads the same study from this storage, so it must be one they can all
    reach: SQLite for workers on one machine, PostgreSQL for a cluster.
    """

    optuna_storage: str | None = Field(
        None,
        description="Optuna storage URL shared by the search's workers; null: "
        "sqlite:///<pipeline.runs_dir or --runs-dir>/optuna.db (sqlite:///runs/optuna.db by "
        "default). For a cluster, postgresql+psycopg://user@host/db, the password in "
        "PGPASSWORD or ~/.pgpass, never here.",
    )

    def optuna_url(self, runs_dir: Path) -> str:
        """The storage URL: the setting, or the SQLite file beside the runs (an absolute path).

        Absolute, because SQLAlchemy keeps one engine per URL string and a
        relative one would follow the process's working folder.
        """
        if self.optuna_storage is not None:
            return self.optuna_storage
        return f"sqlite:///{runs_dir.resolve() / 'optuna.db'}"
