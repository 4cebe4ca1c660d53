"""Use cases of strategy drafts: draft one from a document, list them, show one.

The composition: the settings' ``llm`` section gives the endpoint (nothing
is called while ``llm.base_url`` is unset), the key comes from
``ALPHAGATE_LLM_API_KEY``, the draft is run under the execution settings a
user's backtest of a rule strategy would use, and it is recorded in the
trading database's strategies tables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

import pandas as pd

from alphagate.adapters.trading_db.strategy_drafts import StrategyDraftStore
from alphagate.app.backtest import RULE_EXECUTION, effective_settings
from alphagate.app.trading_db import trading_database_url
from alphagate.config import Settings
from alphagate.drafts.documents import read_document
from alphagate.drafts.llm_client import ChatCompletionsClient
from alphagate.drafts.records import Draft
from alphagate.drafts.sandbox import Sandbox
from alphagate.drafts.workflow import DraftRequest, check_name, draft_strategy
from alphagate.errors import AlphagateError, ConfigError

API_KEY_ENV: Final = "ALPHAGATE_LLM_API_KEY"
"""The environment variable the model's key is read from (a local server needs none)."""


def chat_client(settings: Settings, model: str | None = None) -> ChatCompletionsClient:
    """The client ``llm`` configures, ``model`` overriding ``llm.model``.

    Raises
    ------
    ConfigError
        When ``llm.base_url`` or the model is not set, saying what to set.
    """
    llm = settings.llm
    if llm.base_url is None:
        raise ConfigError(
            "llm.base_url is not set, so no model is called: set it to an OpenAI-compatible "
            "API root, e.g. --set llm.base_url=http://127.0.0.1:8080/v1 (llama.cpp) or "
            "ALPHAGATE__LLM__BASE_URL=https://api.openai.com/v1 with "
            f"{API_KEY_ENV} (see docs/strategy-drafts.md)"
        )
    chosen = model or llm.model
    if not chosen:
        raise ConfigError("no model named: pass --model NAME or set llm.model")
    return ChatCompletionsClient(
        base_url=llm.base_url,
        model=chosen,
        timeout_seconds=llm.timeout_seconds,
        temperature=llm.temperature,
        api_key=os.environ.get(API_KEY_ENV) or None,
    )


def default_name(source: Path) -> str:
    """A draft name from a file name: ``Momentum Paper (2).pdf`` gives ``momentum_paper_2``."""
    name = re.sub(r"\W+", "_", source.stem).strip("_").lower()[:60] or "draft"
    return f"draft_{name}" if name[0].isdigit() else name


def draft_from_document(
    settings: Settings,
    source: Path,
    bars: pd.DataFrame,
    *,
    name: str | None = None,
    model: str | None = None,
    workspace: Path | None = None,
) -> Draft:
    """Draft a strategy from ``source``, check it on ``bars``, record it; return the record.

    The draft goes to ``strategies/drafts/<name>.py`` under ``workspace``
    (the current folder when ``None``).

    Raises
    ------
    ConfigError
        When the model is not configured (before anything is read or called).
    AlphagateError
        When the document cannot be read, the name is invalid or taken, the
        bars are too few for the windows, or the model cannot be reached.
    """
    client = chat_client(settings, model)
    document = read_document(source)
    chosen = check_name(name or default_name(source))
    execution = effective_settings(settings, RULE_EXECUTION, {}).execution
    request = DraftRequest(
        document=document,
        name=chosen,
        model=client.model,
        workspace=workspace or Path.cwd(),
        bars=bars,
        execution=execution,
        calendar=settings.data.calendar,
        validation=settings.llm.validation,
        max_document_chars=settings.llm.max_document_chars,
    )
    sandbox = Sandbox(settings.llm.validation.sandbox_seconds)
    with _store(settings) as store:
        return draft_strategy(request, client, sandbox.run, store)


def list_drafts(settings: Settings) -> list[Draft]:
    """Every recorded draft, newest first."""
    with _store(settings) as store:
        return store.drafts()


def show_draft(settings: Settings, name: str) -> Draft:
    """One draft with its attempts.

    Raises
    ------
    AlphagateError
        When there is no draft of that name (the message lists what there is).
    """
    with _store(settings) as store:
        found = store.draft(name)
        if found is None:
            known = ", ".join(d.name for d in store.drafts()[:10]) or "none yet"
            raise AlphagateError(
                f"no draft named {name!r} (drafts: {known}); see `alphagate strategy list`"
            )
        return found


def _store(settings: Settings) -> StrategyDraftStore:
    return StrategyDraftStore.open(trading_database_url(settings))
