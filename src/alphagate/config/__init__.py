"""One settings tree for the whole platform, loaded from YAML and the environment.

Why it is built this way:

* **Frozen and strict.** Every model forbids unknown keys, so a misspelt key
  fails at start-up with its dotted path and a "did you mean" suggestion
  instead of silently falling back to a default that then trades real money.
* **Layered.** ``configs/default.yaml`` (when present in the working
  directory) is read first, then each ``--config`` file merges over the ones
  before it, then ``ALPHAGATE__SECTION__KEY`` environment variables, then
  each ``--set section.key=value`` of the command line: the closer a value
  is to the command, the more it wins.
* **Secrets from the environment only.** A secret written in a YAML file is
  refused; secrets never reach ``config show``, the run hash or any artifact.
* **A hash that names a run.** The effective settings, minus secrets, hash to a
  short stable id; two runs with the same hash ran the same configuration.

Where each part lives: :mod:`~alphagate.config.base` (the strict section and
did-you-mean errors), :mod:`~alphagate.config.data`,
:mod:`~alphagate.config.research` and :mod:`~alphagate.config.trading` (the
sections), :mod:`~alphagate.config.settings` (the root),
:mod:`~alphagate.config.loading` (files, environment, ``--set``) and
:mod:`~alphagate.config.public` (hash, masking, YAML). Import from this
package, not from those modules, so the split can change without touching
importers.
"""

from __future__ import annotations

from alphagate.config.base import Section
from alphagate.config.data import (
    CheckPolicy,
    CsvConfig,
    DataConfig,
    Policy,
    QualityConfig,
    SyntheticConfig,
)
from alphagate.config.loading import (
    DEFAULT_CONFIG_FILE,
    ENV_PREFIX,
    load_config,
    parse_overrides,
)
from alphagate.config.public import config_hash, mask_secret, masked_dump, to_yaml
from alphagate.config.research import (
    CalibrationMethod,
    FeaturesConfig,
    LabelsConfig,
    PipelineBacktestConfig,
    PipelineConfig,
    ValidationConfig,
)
from alphagate.config.settings import LoggingConfig, Settings, StorageConfig
from alphagate.config.trading import (
    ArbitrateConfig,
    BandConfig,
    BlendConfig,
    BreakerConfig,
    CommissionModelName,
    ConfidenceConfig,
    ConservativeFillConfig,
    DecisionConfig,
    ExecutionConfig,
    FillModelName,
    GateConfig,
    GrossConfig,
    KellyConfig,
    ProtectConfig,
    RiskConfig,
    SizeConfig,
    StandardiseConfig,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "ArbitrateConfig",
    "BandConfig",
    "BlendConfig",
    "BreakerConfig",
    "CalibrationMethod",
    "CheckPolicy",
    "CommissionModelName",
    "ConfidenceConfig",
    "ConservativeFillConfig",
    "CsvConfig",
    "DataConfig",
    "DecisionConfig",
    "ExecutionConfig",
    "FeaturesConfig",
    "FillModelName",
    "GateConfig",
    "GrossConfig",
    "KellyConfig",
    "LabelsConfig",
    "LoggingConfig",
    "PipelineBacktestConfig",
    "PipelineConfig",
    "Policy",
    "ProtectConfig",
    "QualityConfig",
    "RiskConfig",
    "Section",
    "Settings",
    "SizeConfig",
    "StandardiseConfig",
    "StorageConfig",
    "SyntheticConfig",
    "ValidationConfig",
    "config_hash",
    "load_config",
    "mask_secret",
    "masked_dump",
    "parse_overrides",
    "to_yaml",
]
