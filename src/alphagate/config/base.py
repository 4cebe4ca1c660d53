"""What every settings section shares: strictness, and the help a misspelt key gets.

Every section is frozen and forbids unknown keys, so a misspelt key fails at
start-up with its dotted path and a "did you mean" suggestion instead of
silently falling back to a default that then trades real money. The loader
and the public dump walk the same tree, so the questions they both ask of a
field (is it a secret?) are answered here, once.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every settings model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def is_secret_field(model: type[BaseModel], name: str) -> bool:
    """Say whether ``model``'s field ``name`` holds a secret (a ``SecretStr``, maybe optional).

    Read from the annotation rather than the value, so an unset secret
    (``None``) is still kept out of files, the command line and the hash.
    """
    annotation = model.model_fields[name].annotation
    return "SecretStr" in str(annotation)


def did_you_mean(key: str, candidates: Sequence[str], prefix: str) -> str:
    """Return the tail of an unknown-key error: the closest known key, else all of them.

    ``prefix`` is the dotted path of the section, so the suggestion can be
    pasted back as it stands.
    """
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return (
        f"; did you mean '{prefix}{close[0]}'?"
        if close
        else f"; known keys: {', '.join(candidates)}"
    )
