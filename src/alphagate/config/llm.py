"""The language model that drafts strategies from documents, and how its drafts are judged.

The model is reached through an OpenAI-compatible chat-completions endpoint,
so a local server (llama.cpp, vLLM, Ollama) and a hosted one are configured
alike. Nothing is called while ``base_url`` is unset. The key is a secret and
comes from the environment only, as ``ALPHAGATE_LLM_API_KEY`` (never from a
file, never into the config hash).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from alphagate.config.base import Section


class DraftValidationConfig(Section):
    """How a drafted strategy is run and judged before it is kept (see docs/strategy-drafts.md).

    The bars are cut in time: the first ``training_fraction`` is the training
    period (the draft's backtest), the rest is split into ``windows`` later
    windows of equal length that the draft never saw while it was written or
    repaired. Each window's annualised Sharpe must lie within ``tolerance``
    of the training period's, as a band of half-width
    ``tolerance * max(|training Sharpe|, sharpe_floor)``.
    """

    sandbox_seconds: float = Field(
        120.0,
        gt=0,
        description="Wall-clock limit of the subprocess that imports and runs a draft; it is "
        "killed when it runs longer.",
    )
    training_fraction: float = Field(
        0.5,
        gt=0.1,
        lt=0.9,
        description="Share of the bars (by timestamp) that is the training period; the rest "
        "is the walk-forward windows.",
    )
    windows: int = Field(
        3, ge=2, description="Later, unseen windows the walk-forward check runs the draft on."
    )
    tolerance: float = Field(
        0.2,
        gt=0,
        description="Each window's Sharpe must stay within this share of the training "
        "period's Sharpe (0.2: within +-20%).",
    )
    sharpe_floor: float = Field(
        0.1,
        gt=0,
        description="Least Sharpe the band's width is taken of: near zero, so a training Sharpe "
        "of 0.01 does not ask every window for 0.008 to 0.012.",
    )
    min_training_sharpe: float = Field(
        0.0,
        description="The training-period Sharpe must exceed this: a draft that loses in its "
        "own backtest has nothing to validate.",
    )


class LlmConfig(Section):
    """The chat-completions endpoint and the draft checks (``alphagate strategy draft``)."""

    base_url: str | None = Field(
        None,
        description="OpenAI-compatible API root, e.g. http://127.0.0.1:8080/v1 (llama.cpp), "
        "http://127.0.0.1:11434/v1 (Ollama) or https://api.openai.com/v1; null: no model "
        "is ever called. The key comes from ALPHAGATE_LLM_API_KEY.",
    )
    model: str | None = Field(
        None, description="Model name sent with each request (--model overrides it)."
    )
    timeout_seconds: float = Field(
        120.0, gt=0, description="Seconds one chat-completions request may take."
    )
    temperature: float = Field(
        0.0, ge=0, le=2, description="Sampling temperature; 0 makes a draft repeatable."
    )
    max_document_chars: int = Field(
        60_000,
        ge=1_000,
        description="The document's text is cut to this many characters before it is sent.",
    )
    validation: DraftValidationConfig = Field(
        default_factory=DraftValidationConfig, description="How drafts are run and judged."
    )

    @model_validator(mode="after")
    def _http_url(self) -> LlmConfig:
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        return self
