"""The settings tree: layering, strict keys, secrets from the environment, the run hash."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from alphagate.config import (
    Settings,
    config_hash,
    load_config,
    mask_secret,
    masked_dump,
    to_yaml,
)
from alphagate.errors import ConfigError

REPO_ROOT = Path(__file__).parents[3]
SECRET_VARIABLE = "ALPHAGATE__STORAGE__DATABASE_PASSWORD"
SECRET = "supersecretvalue123456"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load(*files: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from ``files`` only: no default file, no real environment."""
    return load_config(list(files), environ=dict(environ or {}), default_file=None)


def walk_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted name, FieldInfo) for every field, descending into sections."""
    for name, info in model.model_fields.items():
        dotted = f"{prefix}{name}"
        yield dotted, info
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from walk_fields(annotation, f"{dotted}.")


def key_tree(model: type[BaseModel]) -> dict[str, Any]:
    """The nested key structure a YAML file documenting every field must have."""
    tree: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            tree[name] = key_tree(annotation)
        else:
            tree[name] = None
    return tree


def document_tree(document: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in document.items():
        info = model.model_fields.get(name)
        annotation = info.annotation if info is not None else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            tree[name] = document_tree(value or {}, annotation)
        else:
            tree[name] = None
    return tree


# --------------------------------------------------------------------- defaults


def test_defaults_load_without_any_file_or_environment() -> None:
    settings = load()

    assert settings == Settings()
    assert settings.data.timeframe == "1d"
    assert settings.data.calendar == "XNYS"
    assert settings.data.quality.duplicates == "error"
    assert settings.storage.database_password is None


def test_settings_are_frozen_so_assigning_a_field_raises() -> None:
    settings = load()

    with pytest.raises(ValidationError):
        settings.data.timeframe = "1h"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.logging = settings.logging  # type: ignore[misc]
    assert settings.data.timeframe == "1d"


def test_an_empty_file_leaves_the_defaults_unchanged(tmp_path: Path) -> None:
    assert load(write(tmp_path / "empty.yaml", "")) == Settings()


# ---------------------------------------------------------------------- layering


def test_later_files_merge_over_earlier_ones_key_by_key(tmp_path: Path) -> None:
    first = write(
        tmp_path / "first.yaml",
        "data:\n"
        "  timeframe: 1h\n"
        "  synthetic:\n"
        "    seed: 11\n"
        "    symbols: [A, B, C]\n"
        "  quality:\n"
        "    gaps: warn\n"
        "logging:\n"
        "  level: DEBUG\n",
    )
    second = write(
        tmp_path / "second.yaml",
        "data:\n"
        "  synthetic:\n"
        "    symbols: [X]\n"
        "  quality:\n"
        "    order: repair\n"
        "logging:\n"
        "  level: WARNING\n",
    )

    settings = load(first, second)

    assert settings.data.timeframe == "1h"  # only the first file set it
    assert settings.data.synthetic.seed == 11  # sibling of a key the second file set
    assert settings.data.quality.gaps == "warn"
    assert settings.data.quality.order == "repair"
    assert settings.logging.level == "WARNING"  # later file wins
    assert settings.data.quality.duplicates == "error"  # untouched default


def test_a_list_in_a_later_file_replaces_the_earlier_list_instead_of_extending_it(
    tmp_path: Path,
) -> None:
    first = write(tmp_path / "first.yaml", "data:\n  synthetic:\n    symbols: [A, B, C]\n")
    second = write(tmp_path / "second.yaml", "data:\n  synthetic:\n    symbols: [X]\n")

    assert load(first, second).data.synthetic.symbols == ("X",)


def test_the_default_file_is_read_first_and_config_files_merge_over_it(tmp_path: Path) -> None:
    default = write(
        tmp_path / "default.yaml",
        "data:\n  timeframe: 1h\n  calendar: XLON\nlogging:\n  level: ERROR\n",
    )
    override = write(tmp_path / "override.yaml", "data:\n  calendar: XNAS\n")

    settings = load_config([override], environ={}, default_file=default)

    assert settings.data.timeframe == "1h"
    assert settings.data.calendar == "XNAS"
    assert settings.logging.level == "ERROR"


def test_a_missing_default_file_is_skipped(tmp_path: Path) -> None:
    settings = load_config([], environ={}, default_file=tmp_path / "no-such-default.yaml")

    assert settings == Settings()


def test_a_missing_config_file_fails_with_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"

    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load(missing)


# ------------------------------------------------------------------ unknown keys


def test_misspelt_section_fails_with_its_dotted_path_the_file_and_a_suggestion(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "typo.yaml", "data:\n  qualty:\n    gaps: warn\n")

    with pytest.raises(ConfigError) as caught:
        load(path)

    message = str(caught.value)
    assert "data.qualty" in message
    assert str(path) in message
    assert "did you mean 'data.quality'" in message


def test_misspelt_nested_key_suggests_the_full_dotted_name(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.yaml", "data:\n  quality:\n    duplicatse: warn\n")

    with pytest.raises(ConfigError) as caught:
        load(path)

    message = str(caught.value)
    assert "data.quality.duplicatse" in message
    assert str(path) in message
    assert "did you mean 'data.quality.duplicates'" in message


def test_unknown_top_level_key_without_a_close_match_lists_the_known_sections(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "unknown.yaml", "zzzzzz: 1\n")

    with pytest.raises(ConfigError) as caught:
        load(path)

    message = str(caught.value)
    assert "zzzzzz" in message
    assert str(path) in message
    for section in ("data", "storage", "logging"):
        assert section in message


def test_an_unknown_key_in_a_later_file_names_that_file(tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", "logging:\n  level: DEBUG\n")
    bad = write(tmp_path / "bad.yaml", "logging:\n  levle: DEBUG\n")

    with pytest.raises(ConfigError) as caught:
        load(good, bad)

    message = str(caught.value)
    assert str(bad) in message
    assert str(good) not in message
    assert "did you mean 'logging.level'" in message


# ---------------------------------------------------------------- invalid values


@pytest.mark.parametrize(
    ("text", "dotted"),
    [
        ("data:\n  quality:\n    gaps: sometimes\n", "data.quality.gaps"),
        ("data:\n  timeframe: 7m\n", "data.timeframe"),
        ("data:\n  quality:\n    max_fill_bars: 0\n", "data.quality.max_fill_bars"),
        ("logging:\n  level: LOUD\n", "logging.level"),
    ],
)
def test_invalid_value_fails_naming_the_dotted_key_and_its_file(
    tmp_path: Path, text: str, dotted: str
) -> None:
    path = write(tmp_path / "invalid.yaml", text)

    with pytest.raises(ConfigError) as caught:
        load(path)

    message = str(caught.value)
    assert f"'{dotted}'" in message
    assert str(path) in message


def test_invalid_value_is_attributed_to_the_file_that_set_it_not_the_last_file(
    tmp_path: Path,
) -> None:
    bad = write(tmp_path / "bad.yaml", "data:\n  quality:\n    gaps: sometimes\n")
    later = write(tmp_path / "later.yaml", "data:\n  quality:\n    order: warn\n")

    with pytest.raises(ConfigError) as caught:
        load(bad, later)

    message = str(caught.value)
    assert "data.quality.gaps" in message
    assert str(bad) in message
    assert str(later) not in message


def test_a_section_given_a_scalar_fails_with_the_section_name_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "scalar.yaml", "data: 5\n")

    with pytest.raises(ConfigError) as caught:
        load(path)

    assert "'data'" in str(caught.value)
    assert str(path) in str(caught.value)


def test_an_unquoted_yaml_date_is_accepted_as_the_synthetic_start(tmp_path: Path) -> None:
    # The field documents a date; YAML reads 2019-01-01 as one. A user should not
    # have to know to quote it.
    path = write(tmp_path / "dates.yaml", "data:\n  synthetic:\n    start: 2019-01-01\n")

    assert load(path).data.synthetic.start == date(2019, 1, 1)


# ----------------------------------------------------------------- malformed YAML


def test_malformed_yaml_fails_with_config_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "data:\n  timeframe: [1d\n")

    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load(path)


def test_a_top_level_list_fails_with_config_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "list.yaml", "- data\n- storage\n")

    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load(path)


# ------------------------------------------------------------------------ secrets


def test_a_secret_written_in_a_file_is_refused_naming_its_environment_variable(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "secret.yaml", f"storage:\n  database_password: {SECRET}\n")

    with pytest.raises(ConfigError) as caught:
        load(path)

    message = str(caught.value)
    assert SECRET_VARIABLE in message
    assert str(path) in message
    assert SECRET not in message


def test_a_secret_set_in_the_environment_loads() -> None:
    settings = load(environ={SECRET_VARIABLE: SECRET})

    password = settings.storage.database_password
    assert password is not None
    assert password.get_secret_value() == SECRET


def test_a_numeric_looking_secret_from_the_environment_stays_the_exact_text() -> None:
    settings = load(environ={SECRET_VARIABLE: "007"})

    password = settings.storage.database_password
    assert password is not None
    assert password.get_secret_value() == "007"


def test_the_secret_never_appears_in_the_masked_dump_or_its_yaml() -> None:
    settings = load(environ={SECRET_VARIABLE: SECRET})

    dump = masked_dump(settings)
    rendered = to_yaml(dump)

    assert SECRET not in repr(dump)
    assert SECRET not in rendered
    assert "database_url" in rendered
    assert dump["storage"]["database_password"] == mask_secret(SECRET)


def test_the_secret_does_not_influence_the_config_hash() -> None:
    without = load()
    with_secret = load(environ={SECRET_VARIABLE: SECRET})
    other_secret = load(environ={SECRET_VARIABLE: "another-secret-entirely-0987"})

    assert config_hash(with_secret) == config_hash(without)
    assert config_hash(other_secret) == config_hash(without)


def test_mask_secret_keeps_four_characters_at_each_end_of_a_long_value() -> None:
    secret = "ABCD" + "efghijklmnop" + "WXYZ"  # exactly 20 characters
    assert len(secret) == 20

    masked = mask_secret(secret)

    assert masked.startswith("ABCD")
    assert masked.endswith("WXYZ")
    assert not masked.startswith("ABCDe")
    assert not masked.endswith("pWXYZ")
    assert "efghijklmnop" not in masked


@pytest.mark.parametrize("secret", ["", "short", "x" * 19])
def test_mask_secret_hides_a_value_shorter_than_twenty_characters_entirely(secret: str) -> None:
    assert mask_secret(secret) == "****"


# ---------------------------------------------------------- environment overrides


def test_environment_variable_overrides_a_non_secret_field(tmp_path: Path) -> None:
    path = write(tmp_path / "file.yaml", "data:\n  timeframe: 1w\n")

    settings = load(path, environ={"ALPHAGATE__DATA__TIMEFRAME": "1h"})

    assert settings.data.timeframe == "1h"


def test_environment_variable_reaches_a_nested_section() -> None:
    settings = load(environ={"ALPHAGATE__DATA__QUALITY__MAX_FILL_BARS": "3"})

    assert settings.data.quality.max_fill_bars == 3


def test_environment_null_sets_an_optional_field_to_none() -> None:
    settings = load(environ={"ALPHAGATE__DATA__CALENDAR": "null"})

    assert settings.data.calendar is None


def test_environment_variables_without_the_prefix_are_ignored() -> None:
    settings = load(environ={"DATA__TIMEFRAME": "1h", "ALPHAGATEX__DATA__TIMEFRAME": "1h"})

    assert settings == Settings()


def test_environment_variable_naming_an_unknown_key_fails_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ={"ALPHAGATE__DATA__TIMEFRAM": "1h"})

    message = str(caught.value)
    assert "ALPHAGATE__DATA__TIMEFRAM" in message
    assert "did you mean 'data.timeframe'" in message


def test_invalid_environment_value_fails_naming_the_key_and_the_environment() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ={"ALPHAGATE__DATA__TIMEFRAME": "7m"})

    message = str(caught.value)
    assert "'data.timeframe'" in message
    assert "environment" in message


def test_environment_override_of_a_date_field_reads_the_date() -> None:
    settings = load(environ={"ALPHAGATE__DATA__SYNTHETIC__START": "2019-06-03"})

    assert settings.data.synthetic.start == date(2019, 6, 3)


def test_environment_override_of_a_text_field_keeps_a_hash_sign() -> None:
    settings = load(environ={"ALPHAGATE__DATA__CSV__DELIMITER": "#"})

    assert settings.data.csv.delimiter == "#"


def test_environment_override_accepts_a_strptime_format_for_the_timestamp_format() -> None:
    settings = load(environ={"ALPHAGATE__DATA__CSV__TIMESTAMP_FORMAT": "%Y-%m-%d"})

    assert settings.data.csv.timestamp_format == "%Y-%m-%d"


# ------------------------------------------------------------- --set assignments


def test_a_set_assignment_reaches_a_nested_key_as_its_type() -> None:
    settings = load_config(
        [],
        environ={},
        default_file=None,
        overrides=["risk.max_position_weight=0.1", "decision.protect.fibonacci=true"],
    )

    assert settings.risk.max_position_weight == 0.1
    assert settings.decision.protect.fibonacci is True


def test_set_wins_over_the_environment_which_wins_over_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "file.yaml", "execution:\n  commission_bps: 1\n  cash: 500\n")
    environ = {"ALPHAGATE__EXECUTION__COMMISSION_BPS": "2", "ALPHAGATE__EXECUTION__CASH": "600"}

    settings = load_config(
        [path], environ=environ, default_file=None, overrides=["execution.commission_bps=3"]
    )

    assert settings.execution.commission_bps == 3  # --set over the environment
    assert settings.execution.cash == 600  # the environment over the file


def test_the_last_of_two_set_assignments_to_one_key_wins() -> None:
    overrides = ["execution.latency_bars=1", "execution.latency_bars=2"]

    settings = load_config([], environ={}, default_file=None, overrides=overrides)

    assert settings.execution.latency_bars == 2


def test_set_null_clears_an_optional_key(tmp_path: Path) -> None:
    path = write(tmp_path / "file.yaml", "risk:\n  max_order_notional: 5000\n")

    settings = load_config(
        [path], environ={}, default_file=None, overrides=["risk.max_order_notional=null"]
    )

    assert settings.risk.max_order_notional is None


def test_a_misspelt_set_key_fails_with_the_dotted_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config([], environ={}, default_file=None, overrides=["execution.comission_bps=5"])

    message = str(caught.value)
    assert "--set execution.comission_bps=5" in message
    assert "did you mean 'execution.commission_bps'" in message


def test_a_set_value_failing_validation_names_the_key_and_the_command_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config([], environ={}, default_file=None, overrides=["risk.daily_loss_pct=2"])

    message = str(caught.value)
    assert "'risk.daily_loss_pct'" in message
    assert "--set" in message


@pytest.mark.parametrize("assignment", ["execution", "=5", "execution..cash=5"])
def test_a_set_without_a_dotted_key_and_value_shows_the_expected_form(assignment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("section.key=value")):
        load_config([], environ={}, default_file=None, overrides=[assignment])


def test_set_naming_a_whole_section_is_refused() -> None:
    with pytest.raises(ConfigError, match="whole section"):
        load_config([], environ={}, default_file=None, overrides=["risk.breaker=off"])


def test_a_secret_on_the_command_line_is_refused_naming_its_environment_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            [], environ={}, default_file=None, overrides=[f"storage.database_password={SECRET}"]
        )

    assert SECRET_VARIABLE in str(caught.value)


def test_an_unknown_key_in_a_new_section_of_a_file_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path / "file.yaml", "decision:\n  protect:\n    fibonaci: true\n")

    with pytest.raises(ConfigError, match=re.escape("did you mean 'decision.protect.fibonacci'")):
        load(path)


# -------------------------------------------------------------------- config hash


def test_config_hash_is_twelve_hex_characters() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", config_hash(load()))


def test_config_hash_is_stable_for_equal_settings(tmp_path: Path) -> None:
    path = write(tmp_path / "file.yaml", "data:\n  timeframe: 1h\n  synthetic:\n    seed: 3\n")

    assert config_hash(load(path)) == config_hash(load(path))


@pytest.mark.parametrize(
    "environ",
    [
        {"ALPHAGATE__DATA__TIMEFRAME": "1h"},
        {"ALPHAGATE__DATA__CALENDAR": "null"},
        {"ALPHAGATE__DATA__DIR": "elsewhere"},
        {"ALPHAGATE__DATA__SYNTHETIC__SEED": "8"},
        {"ALPHAGATE__DATA__SYNTHETIC__SYMBOLS": "[SYN_A, SYN_B]"},
        {"ALPHAGATE__DATA__QUALITY__GAPS": "warn"},
        {"ALPHAGATE__DATA__CSV__LABEL": "end"},
        {"ALPHAGATE__STORAGE__DATABASE_URL": "sqlite:///other.db"},
        {"ALPHAGATE__LOGGING__LEVEL": "DEBUG"},
    ],
    ids=lambda environ: next(iter(environ)),
)
def test_config_hash_changes_when_a_non_secret_value_changes(environ: dict[str, str]) -> None:
    assert config_hash(load(environ=environ)) != config_hash(load())


def test_config_hash_does_not_depend_on_key_order_in_the_file(tmp_path: Path) -> None:
    one = write(
        tmp_path / "one.yaml",
        "logging:\n  level: DEBUG\ndata:\n  timeframe: 1h\n  quality:\n    gaps: warn\n"
        "    order: repair\n",
    )
    two = write(
        tmp_path / "two.yaml",
        "data:\n  quality:\n    order: repair\n    gaps: warn\n  timeframe: 1h\nlogging:\n"
        "  level: DEBUG\n",
    )

    assert config_hash(load(one)) == config_hash(load(two))


def test_config_hash_is_the_same_when_a_file_spells_out_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "defaults.yaml", "data:\n  timeframe: 1d\n  calendar: XNYS\n")

    assert config_hash(load(path)) == config_hash(Settings())


# ---------------------------------------------------------------- documentation


def test_every_field_in_the_tree_has_a_description() -> None:
    fields = list(walk_fields(Settings))
    assert len(fields) > 20  # the walk really descended into the sections

    undocumented = [name for name, info in fields if not (info.description or "").strip()]

    assert undocumented == []


def test_the_repository_default_file_loads_and_equals_the_built_in_defaults() -> None:
    default_file = REPO_ROOT / "configs" / "default.yaml"

    assert load_config([], environ={}, default_file=default_file) == Settings()
    assert load(default_file) == Settings()


def test_the_repository_default_file_spells_out_every_field() -> None:
    default_file = REPO_ROOT / "configs" / "default.yaml"
    document = yaml.safe_load(default_file.read_text(encoding="utf-8"))

    assert document_tree(document, Settings) == key_tree(Settings)
