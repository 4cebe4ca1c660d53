"""A user's strategy class, named by module or by file, loads or says what to fix."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alphagate.errors import ConfigError
from alphagate.strategies.builtin import SmaCross
from alphagate.strategies.loading import load_strategy

STRATEGY = """
class Hold:
    def __init__(self, weight: float = 1.0, every: int = 1, loud: bool = False) -> None:
        if not 0 < weight <= 1:
            raise ValueError(f"weight must be in (0, 1], got {weight}")
        self.name = "hold"
        self.weight, self.every, self.loud = weight, every, loud

    @property
    def warmup(self) -> int:
        return 0

    def on_bar(self, context):
        return None


class NoWarmup:
    name = "half"

    def on_bar(self, context):
        return None


class Nothing:
    pass


class NegativeWarmup:
    name = "negative"
    warmup = -1

    def on_bar(self, context):
        return None


def not_a_class():
    return Hold()
"""


@pytest.fixture(autouse=True)
def forget_imported_modules(tmp_path: Path) -> Iterator[None]:
    """Modules the tests import from their tmp folders do not outlive the test.

    Only those: a library module first imported during a test (pandas imports
    parts lazily) must stay, or importing it again registers things twice.
    """
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if _defined_under(sys.modules[name], tmp_path) or "_alphagate_strategy_file_" in name:
            del sys.modules[name]


def _defined_under(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve().is_relative_to(folder.resolve())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package ``user_pkg_h4`` on sys.path with a module ``strats`` holding :data:`STRATEGY`."""
    write(tmp_path / "user_pkg_h4" / "__init__.py", "")
    write(tmp_path / "user_pkg_h4" / "strats.py", STRATEGY)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "user_pkg_h4.strats"


def test_a_class_on_the_python_path_is_built_with_typed_parameters(package: str) -> None:
    strategy: Any = load_strategy(f"{package}:Hold", {"weight": "0.5", "every": "3", "loud": "yes"})
    assert type(strategy).__name__ == "Hold"
    assert (strategy.weight, strategy.every, strategy.loud) == (0.5, 3, True)
    assert type(strategy.every) is int


def test_a_module_in_the_current_folder_is_found_without_changing_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "here_strategy_h4.py", STRATEGY)
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    assert load_strategy("here_strategy_h4:Hold").name == "hold"
    assert sys.path == path_before


def test_a_file_loads_under_a_private_name_and_may_import_its_neighbours(
    tmp_path: Path,
) -> None:
    write(tmp_path / "helpers_h4.py", "WEIGHT = 0.25\n")
    source = "import json\nfrom helpers_h4 import WEIGHT\n" + STRATEGY
    path = write(tmp_path / "json.py", source)  # a name that must not replace the stdlib's
    path_before = list(sys.path)
    strategy: Any = load_strategy(f"{path}:Hold", {"weight": "0.25"})
    assert strategy.weight == 0.25
    assert sys.modules["json"] is json
    assert "helpers_h4" in sys.modules  # imported from the file's folder
    loaded = type(strategy).__module__
    assert loaded.startswith("_alphagate_strategy_file_json_")
    assert sys.modules[loaded].WEIGHT == 0.25
    assert sys.path == path_before


def test_a_relative_file_path_is_read_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "mine" / "strategy.py", STRATEGY)
    monkeypatch.chdir(tmp_path)
    assert load_strategy("mine/strategy.py:Hold").name == "hold"


def test_a_built_in_name_still_builds_the_built_in() -> None:
    assert load_strategy("sma_cross", {"fast": "5", "slow": "20"}) == SmaCross(5, 20)


def test_a_misspelt_built_in_gets_the_nearest_name_and_the_list_and_how_to_name_your_own() -> None:
    with pytest.raises(ConfigError) as error:
        load_strategy("sma_crosss")
    message = str(error.value)
    assert "did you mean 'sma_cross'?" in message
    for name in ("buy_and_hold", "sma_cross", "rsi_mean_reversion", "bollinger_breakout"):
        assert name in message
    assert "package.module:ClassName" in message


def test_a_module_that_is_nowhere_says_where_it_was_looked_for() -> None:
    with pytest.raises(ConfigError, match=r"no module 'nowhere_h4\.strats' in the current folder"):
        load_strategy("nowhere_h4.strats:Hold")


def test_a_module_whose_own_import_is_missing_names_that_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "needs_dep_h4.py", "import not_installed_dep_h4\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as error:
        load_strategy("needs_dep_h4:Hold")
    message = str(error.value)
    assert message.startswith("importing 'needs_dep_h4' failed at ")
    assert "needs_dep_h4.py, line 1" in message
    assert "No module named 'not_installed_dep_h4'" in message


def test_a_file_that_raises_on_import_says_what_and_where(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.py", "x = 1\ny = undefined_name\n")
    with pytest.raises(ConfigError) as error:
        load_strategy(f"{path}:Hold")
    message = str(error.value)
    assert "broken.py, line 2" in message
    assert "NameError" in message
    assert not [name for name in sys.modules if name.startswith("_alphagate_strategy_file_broken_")]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no file '.*absent\.py' \(from --strategy\)"):
        load_strategy(f"{tmp_path / 'absent.py'}:Hold")


def test_a_missing_class_lists_the_classes_the_module_defines(package: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_strategy(f"{package}:Hodl")
    assert str(error.value) == (
        "user_pkg_h4.strats has no class 'Hodl'; did you mean 'Hold'? "
        "(classes defined there: Hold, NegativeWarmup, NoWarmup, Nothing)"
    )


def test_a_function_is_not_taken_for_a_class(package: str) -> None:
    with pytest.raises(ConfigError, match="not_a_class is a function, not a class"):
        load_strategy(f"{package}:not_a_class")


@pytest.mark.parametrize(
    ("name", "missing"),
    [("NoWarmup", r"it has no warmup \(a strategy"), ("Nothing", "it has no name, warmup, on_bar")],
)
def test_a_class_that_is_not_a_strategy_names_the_missing_members(
    package: str, name: str, missing: str
) -> None:
    with pytest.raises(ConfigError, match=rf"strats:{name} is not a Strategy: {missing}"):
        load_strategy(f"{package}:{name}")


def test_a_negative_warmup_is_refused(package: str) -> None:
    with pytest.raises(ConfigError, match="warmup must be a whole number of bars >= 0, got -1"):
        load_strategy(f"{package}:NegativeWarmup")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"wieght": "1"}, r"unknown parameter 'wieght'; did you mean 'weight'\? "
                          r"\(accepted: weight, every, loud\)"),
        ({"every": "often"}, "every must be int, got 'often'"),
        ({"weight": "2"}, r"strats:Hold: weight must be in \(0, 1\], got 2\.0"),
    ],
)  # fmt: skip
def test_a_parameter_the_class_refuses_is_named(
    package: str, params: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_strategy(f"{package}:Hold", params)


@pytest.mark.parametrize("spec", ["user_pkg_h4.strats:", ":Hold", "a-b:Hold", ".strats:Hold"])
def test_a_malformed_name_says_what_is_expected(package: str, spec: str) -> None:
    with pytest.raises(ConfigError, match=r"package\.module"):
        load_strategy(spec)
