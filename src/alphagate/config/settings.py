"""The root of the settings tree, and the process-wide sections (storage, logging).

The root lists its sections in the order ``config show`` prints them; the
hash sorts its keys, so that order is for display only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from alphagate.config.base import Section
from alphagate.config.data import DataConfig
from alphagate.config.gates import GatesConfig
from alphagate.config.llm import LlmConfig
from alphagate.config.notifications import NotificationsConfig
from alphagate.config.research import (
    FeaturesConfig,
    LabelsConfig,
    PipelineConfig,
    TrainingConfig,
)
from alphagate.config.stress import ParallelConfig, StressConfig
from alphagate.config.trading import DecisionConfig, ExecutionConfig, HealthConfig, RiskConfig
from alphagate.config.venues import VenuesConfig


class StorageConfig(Section):
    """The relational store for trading state and system events."""

    database_url: str = Field(
        "sqlite:///state/alphagate.db",
        description="SQLAlchemy URL: SQLite (WAL) by default, postgresql+psycopg://... to scale. "
        "Put no password here; set ALPHAGATE__STORAGE__DATABASE_PASSWORD.",
    )
    database_password: SecretStr | None = Field(
        None,
        description="Database password (secret: environment only); used by either URL that "
        "names no password of its own.",
    )
    trading_database_url: str = Field(
        "sqlite:///state/trading.db",
        description="SQLAlchemy URL of the trading database (orders, fills, positions, equity), "
        "migrated by Alembic: alphagate db upgrade, and on every start.",
    )
    journal_mirror_url: str | None = Field(
        None,
        description="A Redis URL (redis://host:port/db?stream=KEY) the paper engine's journal is "
        "mirrored to; its SQLite journal stays the authority (null: no mirror).",
    )


class LoggingConfig(Section):
    """How much the platform says about itself."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level for the console."
    )


class Settings(Section):
    """The whole effective configuration of one alphagate process."""

    data: DataConfig = Field(default_factory=DataConfig, description="Market data.")
    features: FeaturesConfig = Field(
        default_factory=FeaturesConfig, description="Feature building."
    )
    labels: LabelsConfig = Field(default_factory=LabelsConfig, description="Label making.")
    storage: StorageConfig = Field(
        default_factory=StorageConfig,
        description="Trading-state database.",
    )
    logging: LoggingConfig = Field(
        default_factory=LoggingConfig,
        description="Logging.",
    )
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="Research pipeline."
    )
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="Hyperparameter search storage."
    )
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig, description="Backtest fills, costs and sizing."
    )
    risk: RiskConfig = Field(default_factory=RiskConfig, description="The risk guard.")
    decision: DecisionConfig = Field(
        default_factory=DecisionConfig, description="The model strategy's decision path."
    )
    health: HealthConfig = Field(
        default_factory=HealthConfig, description="Degradation levels and model staleness."
    )
    stress: StressConfig = Field(
        default_factory=StressConfig, description="Stress scenarios and the stress gate."
    )
    parallel: ParallelConfig = Field(
        default_factory=ParallelConfig, description="Where fan-out work runs."
    )
    gates: GatesConfig = Field(
        default_factory=GatesConfig, description="Promotion gates from a run to live trading."
    )
    venues: VenuesConfig = Field(
        default_factory=VenuesConfig, description="Broker and exchange adapters."
    )
    notifications: NotificationsConfig = Field(
        default_factory=NotificationsConfig, description="Who hears about what, and how often."
    )
    llm: LlmConfig = Field(
        default_factory=LlmConfig,
        description="The language model that drafts strategies from documents, and their checks.",
    )
