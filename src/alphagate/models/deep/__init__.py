"""PyTorch sequence models whose output is a Beta distribution over P(up).

``cnn_lstm`` (short term), ``tft`` (medium term) and ``nbeats`` (long term)
share one ``Model`` implementation, ``alphagate.models.deep.model.DeepModel``;
see ``docs/models.md``. This package root imports no PyTorch, so naming the
families costs nothing; the modules that build nets do.
"""

from alphagate.models.deep.families import DEEP_FAMILIES, DeepFamily

__all__ = ["DEEP_FAMILIES", "DeepFamily"]
