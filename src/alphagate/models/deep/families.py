"""The deep family names, importable without loading PyTorch.

The factory, the configuration and the CLI need the names to list and
validate choices; importing ``torch`` takes seconds, so only code that builds
or loads a net imports ``alphagate.models.deep.model``.
"""

from __future__ import annotations

from typing import Literal, get_args

DeepFamily = Literal["cnn_lstm", "tft", "nbeats"]
DEEP_FAMILIES: tuple[str, ...] = get_args(DeepFamily)
