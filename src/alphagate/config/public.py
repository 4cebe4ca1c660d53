"""The settings as others may see them: the run hash, the masked display, YAML.

Secrets never leave the process: the hash drops them (so a rotated password
does not rename a run) and the display masks them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr

from alphagate.config.base import is_secret_field
from alphagate.config.settings import Settings


def config_hash(settings: Settings) -> str:
    """Return the 12-hex-digit hash of the settings without secrets; it names a run."""
    payload = json.dumps(_public_dump(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def masked_dump(settings: Settings) -> dict[str, Any]:
    """Return the settings as plain data with every secret masked, for display."""
    return _public_dump(settings, mask=True)


def to_yaml(data: Mapping[str, Any]) -> str:
    """Render plain settings data as YAML in declaration order."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)


def mask_secret(value: str) -> str:
    """Mask a secret for display: long keys keep 4 characters at each end, others none."""
    if len(value) >= 20:
        return f"{value[:4]}...{value[-4:]}"
    return "****"


def _public_dump(model: BaseModel, *, mask: bool = False) -> dict[str, Any]:
    """Dump a model to JSON-compatible data, dropping (or masking) secret fields."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            if mask:
                out[name] = mask_secret(value.get_secret_value())
        elif is_secret_field(type(model), name):
            if mask:
                out[name] = None
        else:
            out[name] = _plain(value, mask)
    return out


def _plain(value: Any, mask: bool) -> Any:
    """A field's value as JSON data; models inside lists and mappings (routes) dumped alike."""
    if isinstance(value, BaseModel):
        return _public_dump(value, mask=mask)
    if isinstance(value, list | tuple):
        return [_plain(item, mask) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item, mask) for key, item in value.items()}
    return json.loads(json.dumps(value, default=str))
