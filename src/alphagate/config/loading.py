"""Loading the effective settings from their layers: files, the environment, ``--set``.

``configs/default.yaml`` (when present in the working directory) is read
first, then each ``--config`` file merges over the ones before it, then
``ALPHAGATE__SECTION__KEY`` environment variables, then each ``--set
section.key=value`` of the command line: the closer a value is to the
command, the more it wins. Every layer is checked against the settings tree
before it is merged, so an error names the key and the file or variable that
set it; a secret written in a file or on the command line is refused.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from alphagate.config.base import did_you_mean, is_secret_field
from alphagate.config.settings import Settings
from alphagate.errors import ConfigError

ENV_PREFIX = "ALPHAGATE__"
DEFAULT_CONFIG_FILE = Path("configs/default.yaml")


def load_config(
    files: Sequence[Path] = (),
    *,
    environ: Mapping[str, str] | None = None,
    default_file: Path | None = DEFAULT_CONFIG_FILE,
    overrides: Sequence[str] = (),
) -> Settings:
    """Load the effective settings: defaults, each file in order, the environment, ``overrides``.

    ``overrides`` are ``section.key=value`` assignments (the command line's
    ``--set``), applied in order; see :func:`parse_overrides`.

    Raises
    ------
    ConfigError
        On a missing or malformed file, an unknown key (with a suggestion), a
        secret written in a file, or a value that fails validation; the message
        names the dotted key and the file or variable that set it.
    """
    environ = os.environ if environ is None else environ
    layers = [default_file] if default_file is not None and default_file.is_file() else []
    layers.extend(files)
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path in layers:
        document = _read_yaml(path)
        _check_keys(document, Settings, prefix="", origin=str(path), reject_secrets=True)
        _merge(merged, document, origins, origin=str(path), prefix="")
    _merge(merged, _environment_overrides(environ), origins, origin="environment", prefix="")
    _merge(merged, parse_overrides(overrides), origins, origin="--set", prefix="")
    try:
        return Settings.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(_describe_validation_error(error, origins)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections at the top level")
    return cast("dict[str, Any]", document)


def _section_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _check_keys(
    document: Mapping[str, Any],
    model: type[BaseModel],
    *,
    prefix: str,
    origin: str,
    reject_secrets: bool,
) -> None:
    """Refuse unknown keys with a suggestion, and secrets written in files."""
    fields = list(model.model_fields)
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if key not in model.model_fields:
            raise ConfigError(
                f"unknown key '{dotted}' in {origin}{did_you_mean(str(key), fields, prefix)}"
            )
        if reject_secrets and is_secret_field(model, key) and value is not None:
            variable = ENV_PREFIX + dotted.upper().replace(".", "__")
            raise ConfigError(
                f"'{dotted}' is a secret and must not be written in {origin}; "
                f"set the environment variable {variable} instead"
            )
        section = _section_model(model, key)
        if section is not None and isinstance(value, Mapping):
            _check_keys(
                value, section, prefix=f"{dotted}.", origin=origin, reject_secrets=reject_secrets
            )


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """Turn ``section.key=value`` assignments into a nested mapping; later ones win.

    The value is read as the environment's are (:func:`_scalar_value`): a YAML
    scalar, or verbatim text for text fields, so ``execution.units=whole`` and
    ``risk.max_position_weight=0.1`` both mean what they say.

    Raises
    ------
    ConfigError
        For an assignment without ``=``, or a key that is unknown (with a
        suggestion), a whole section, or below a field that is not a section.
    """
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        parts = [part.strip() for part in key.split(".")]
        if not sep or not all(parts):
            raise ConfigError(
                f"--set expects section.key=value, e.g. execution.commission_bps=5; "
                f"got {assignment!r}"
            )
        _assign(overrides, parts, raw, origin=f"--set {assignment}", secrets=False)
    return overrides


def _environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``ALPHAGATE__SECTION__KEY`` variables into a nested mapping.

    Secret fields take the raw string; other fields parse the value as a YAML
    scalar so ``ALPHAGATE__DATA__CALENDAR=null`` means None.
    """
    overrides: dict[str, Any] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in variable[len(ENV_PREFIX) :].split("__")]
        origin = f"environment variable {variable}"
        _assign(overrides, parts, environ[variable], origin=origin, secrets=True)
    return overrides


def _assign(
    target: dict[str, Any], parts: Sequence[str], raw: str, *, origin: str, secrets: bool
) -> None:
    """Set the dotted key ``parts`` in ``target`` to ``raw`` read as that field's type.

    One walk for the environment and ``--set``, so both refuse the same keys
    with the same suggestion. ``secrets=False`` refuses a secret: a command
    line is visible to every user of the machine and kept in shell history.
    """
    model: type[BaseModel] = Settings
    node = target
    for depth, part in enumerate(parts):
        if part not in model.model_fields:
            prefix = ".".join(parts[:depth]) + ("." if depth else "")
            raise ConfigError(
                f"{origin} names unknown key '{prefix}{part}'"
                + did_you_mean(part, list(model.model_fields), prefix)
            )
        section = _section_model(model, part)
        if depth == len(parts) - 1:
            if section is not None:
                raise ConfigError(f"{origin} names a whole section; name one of its keys")
            if not secrets and is_secret_field(model, part):
                variable = ENV_PREFIX + "__".join(parts).upper()
                raise ConfigError(
                    f"{origin} sets a secret; set the environment variable {variable}"
                )
            node[part] = _scalar_value(model, part, origin, raw)
        else:
            if section is None:
                raise ConfigError(f"{origin}: '{part}' is not a section")
            model = section
            node = node.setdefault(part, {})


def _scalar_value(model: type[BaseModel], name: str, origin: str, raw: str) -> object:
    """Read a variable or ``--set`` value as text for text fields, as YAML for the others.

    Text fields take the value verbatim, so ``%Y-%m-%d`` or ``#`` survive;
    ``null`` still means None where None is allowed.
    """
    annotation = model.model_fields[name].annotation
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    if raw.strip().lower() in ("null", "~") and type(None) in options:
        return None
    if any(_is_text_type(option) for option in options):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"{origin} holds no valid value") from None


def _is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_text_type(annotation: object) -> bool:
    if annotation in (str, Path, SecretStr):
        return True
    return typing.get_origin(annotation) is Literal and all(
        isinstance(value, str) for value in typing.get_args(annotation)
    )


def _merge(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    origins: dict[str, str],
    *,
    origin: str,
    prefix: str,
) -> None:
    """Merge ``layer`` into ``target`` recursively; later layers win, lists are replaced."""
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value, origins, origin=origin, prefix=f"{dotted}.")
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value
            origins[dotted] = origin


def _describe_validation_error(error: ValidationError, origins: Mapping[str, str]) -> str:
    lines = []
    for item in error.errors():
        dotted = ".".join(str(part) for part in item["loc"])
        source = next(
            (origins[k] for k in _prefixes(dotted) if k in origins), "the built-in defaults"
        )
        lines.append(f"'{dotted}' (from {source}): {item['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
