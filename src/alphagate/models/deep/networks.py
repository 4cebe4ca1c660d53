"""The three sequence nets, each ending in a Beta head.

Every net reads a batch of windows ``x`` of shape ``(batch, window, features)``
(standardised, zero where padded) and ``valid`` of shape ``(batch, window)``
(``True`` where a step is a real row; the last step always is), and returns a
:class:`NetOutput`. They differ in what they assume about the horizon:

* :class:`CnnLstmNet` (short term): local patterns at three scales, then their
  order and which steps matter;
* :class:`TftNet` (medium term): which *features* matter, learnt per step, then
  their dynamics;
* :class:`NBeatsNet` (long term): the whole window as one shape, explained
  block by block, next to a Transformer's view of it.

Attention is always masked by ``valid``, so padding never draws weight; since
the row itself is always valid, no attention row is ever fully masked (which
would give NaN).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional

from alphagate.models.deep.beta import BetaHead

REGIME_CLASSES = ("trending", "ranging", "high_volatility")
"""The regime head's classes, in logit order."""


class NetOutput(NamedTuple):
    """What a net returns: the Beta parameters, and the regime logits when it has that head."""

    alpha: Tensor
    beta: Tensor
    regime_logits: Tensor | None = None


class CnnLstmNet(nn.Module):
    """Multi-scale 1-D CNN (kernels 3, 5, 7, concatenated) -> bidirectional LSTM -> attention.

    The last step's LSTM state queries every step through multi-head
    attention; the weights of the last forward pass are kept in
    ``last_attention`` (``(batch, window)``, averaged over heads), so one can
    read which past bars a prediction leaned on.
    """

    def __init__(
        self, n_features: int, hidden_size: int, layers: int, heads: int, dropout: float
    ) -> None:
        super().__init__()
        channels = n_features + 1  # the validity mask is an input channel
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, hidden_size, kernel, padding=kernel // 2) for kernel in (3, 5, 7)
        )
        self.lstm = nn.LSTM(
            3 * hidden_size,
            hidden_size,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        width = 2 * hidden_size
        self.attention = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.mix = nn.Linear(2 * width, hidden_size)
        self.head = BetaHead(hidden_size)
        self.last_attention: Tensor | None = None

    def forward(self, x: Tensor, valid: Tensor) -> NetOutput:
        """Beta parameters per window; stores ``last_attention``."""
        inputs = torch.cat([x, valid.unsqueeze(-1).to(x.dtype)], dim=-1).transpose(1, 2)
        scales = [functional.relu(conv(inputs)) for conv in self.convs]
        sequence, _ = self.lstm(torch.cat(scales, dim=1).transpose(1, 2))
        query = sequence[:, -1:, :]
        context, weights = self.attention(
            query, sequence, sequence, key_padding_mask=~valid, need_weights=True
        )
        self.last_attention = weights[:, 0, :].detach()
        hidden = torch.cat([context[:, 0, :], query[:, 0, :]], dim=-1)
        alpha, beta = self.head(functional.relu(self.mix(self.dropout(hidden))))
        return NetOutput(alpha, beta)


class _FeatureWiseGrn(nn.Module):
    """One gated residual network per feature, computed for all features at once.

    TFT's variable selection runs a separate GRN on each feature's embedding;
    a loop over 30-odd small modules is slow in Python, so the per-feature
    weights are stacked and applied with one ``einsum``.
    """

    def __init__(self, n_features: int, hidden_size: int, dropout: float) -> None:
        super().__init__()
        scale = hidden_size**-0.5
        self.embed_weight = nn.Parameter(torch.randn(n_features, hidden_size) * 0.1)
        self.embed_bias = nn.Parameter(torch.zeros(n_features, hidden_size))
        self.w1 = nn.Parameter(torch.randn(n_features, hidden_size, hidden_size) * scale)
        self.b1 = nn.Parameter(torch.zeros(n_features, hidden_size))
        self.w2 = nn.Parameter(torch.randn(n_features, hidden_size, 2 * hidden_size) * scale)
        self.b2 = nn.Parameter(torch.zeros(n_features, 2 * hidden_size))
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``(batch, window, features)`` -> ``(batch, window, features, hidden)``."""
        embedded = x.unsqueeze(-1) * self.embed_weight + self.embed_bias
        hidden = functional.elu(torch.einsum("bwfi,fio->bwfo", embedded, self.w1) + self.b1)
        gate_input = torch.einsum("bwfi,fio->bwfo", self.dropout(hidden), self.w2) + self.b2
        normalised: Tensor = self.norm(embedded + functional.glu(gate_input, dim=-1))
        return normalised


class _Grn(nn.Module):
    """A gated residual network: ELU layer, GLU gate, skip connection, layer norm."""

    def __init__(self, in_size: int, hidden_size: int, out_size: int, dropout: float) -> None:
        super().__init__()
        self.skip = nn.Linear(in_size, out_size) if in_size != out_size else nn.Identity()
        self.fc1 = nn.Linear(in_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, 2 * out_size)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(out_size)

    def forward(self, x: Tensor) -> Tensor:
        """Gated non-linear transform of ``x`` added to its (projected) self."""
        hidden = self.dropout(functional.elu(self.fc1(x)))
        normalised: Tensor = self.norm(self.skip(x) + functional.glu(self.fc2(hidden), dim=-1))
        return normalised


class TftNet(nn.Module):
    """TFT-style: variable selection network -> LSTM encoder -> multi-head attention.

    The variable selection network weighs the features at every step with a
    softmax over a GRN of all their embeddings; ``last_selection`` keeps the
    mean weight per feature over the valid steps of the last forward pass,
    which the model averages over the training windows into its feature
    importances.
    """

    def __init__(
        self, n_features: int, hidden_size: int, layers: int, heads: int, dropout: float
    ) -> None:
        super().__init__()
        self.features = _FeatureWiseGrn(n_features, hidden_size, dropout)
        self.selector = _Grn(n_features * hidden_size, hidden_size, n_features, dropout)
        self.encoder = nn.LSTM(
            hidden_size,
            hidden_size,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.attention = nn.MultiheadAttention(
            hidden_size, heads, dropout=dropout, batch_first=True
        )
        self.post_attention = nn.LayerNorm(hidden_size)
        self.output = _Grn(hidden_size, hidden_size, hidden_size, dropout)
        self.head = BetaHead(hidden_size)
        self.last_selection: Tensor | None = None

    def forward(self, x: Tensor, valid: Tensor) -> NetOutput:
        """Beta parameters per window; stores ``last_selection`` (``(batch, features)``)."""
        processed = self.features(x)  # (b, w, f, h)
        batch, window, n_features, hidden_size = processed.shape
        flat = processed.reshape(batch, window, n_features * hidden_size)
        weights = torch.softmax(self.selector(flat), dim=-1)  # (b, w, f)
        mask = valid.unsqueeze(-1).to(x.dtype)
        counted = mask.sum(dim=1).clamp_min(1.0)
        self.last_selection = ((weights * mask).sum(dim=1) / counted).detach()
        selected = (weights.unsqueeze(-1) * processed).sum(dim=2) * mask
        encoded, _ = self.encoder(selected)
        attended, _ = self.attention(
            encoded, encoded, encoded, key_padding_mask=~valid, need_weights=False
        )
        enriched = self.post_attention(encoded + attended)
        alpha, beta = self.head(self.output(enriched[:, -1, :]))
        return NetOutput(alpha, beta)


class _NBeatsBlock(nn.Module):
    """Fully connected layers to a backcast (what the block explains) and a forecast."""

    def __init__(self, in_size: int, hidden_size: int, layers: int, dropout: float) -> None:
        super().__init__()
        stack: list[nn.Module] = []
        width = in_size
        for _ in range(max(layers, 1) + 1):
            stack += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_size
        self.body = nn.Sequential(*stack)
        self.backcast = nn.Linear(hidden_size, in_size)
        self.forecast = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(backcast, forecast)`` of the residual input ``x``."""
        hidden = self.body(x)
        return self.backcast(hidden), self.forecast(hidden)


class NBeatsNet(nn.Module):
    """N-BEATS-style residual blocks and a small Transformer encoder, then a Beta head.

    The blocks read the flattened window; each removes what it explains (its
    backcast) from the input of the next and adds its forecast to the sum, so
    later blocks model what earlier ones missed. The Transformer encoder
    reads the window as a sequence (learned positions, padding masked). With
    ``regime_head`` an auxiliary 3-class head (``REGIME_CLASSES``) shares the
    representation: multi-task training that makes the representation say
    which regime the market is in.
    """

    def __init__(  # noqa: PLR0917 - the sizes every net takes, plus the window
        self,
        n_features: int,
        window: int,
        hidden_size: int,
        layers: int,
        heads: int,
        dropout: float,
        *,
        blocks: int = 2,
        regime_head: bool = False,
    ) -> None:
        super().__init__()
        flat = window * (n_features + 1)
        self.blocks = nn.ModuleList(
            _NBeatsBlock(flat, hidden_size, layers, dropout) for _ in range(blocks)
        )
        self.project = nn.Linear(n_features, hidden_size)
        self.position = nn.Parameter(torch.zeros(window, hidden_size))
        layer = nn.TransformerEncoderLayer(
            hidden_size,
            heads,
            dim_feedforward=2 * hidden_size,
            dropout=dropout,
            batch_first=True,
        )
        self.transformer = nn.TransformerEncoder(
            layer, num_layers=layers, enable_nested_tensor=False
        )
        self.mix = nn.Linear(2 * hidden_size, hidden_size)
        self.head = BetaHead(hidden_size)
        self.regime = nn.Linear(hidden_size, len(REGIME_CLASSES)) if regime_head else None

    def forward(self, x: Tensor, valid: Tensor) -> NetOutput:
        """Beta parameters (and regime logits with the regime head) per window."""
        residual = torch.cat([x, valid.unsqueeze(-1).to(x.dtype)], dim=-1).flatten(1)
        width = self.mix.in_features // 2
        forecast = torch.zeros(x.shape[0], width, dtype=x.dtype, device=x.device)
        for block in self.blocks:
            backcast, part = block(residual)
            residual = residual - backcast
            forecast = forecast + part
        sequence = self.project(x) + self.position
        encoded = self.transformer(sequence, src_key_padding_mask=~valid)
        hidden = functional.relu(self.mix(torch.cat([forecast, encoded[:, -1, :]], dim=-1)))
        alpha, beta = self.head(hidden)
        logits = self.regime(hidden) if self.regime is not None else None
        return NetOutput(alpha, beta, logits)
