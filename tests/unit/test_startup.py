"""Start-up stays light: importing the CLI loads only what every command needs.

Each check runs in a fresh interpreter, since this one has long imported
everything; it then reads ``sys.modules`` to see what the import pulled in.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from alphagate.cli.root import main

# Heavy packages with their one user: the databases (ingest, `db`), numba (the
# vectorised engine), MLflow (training), the Plotly figure classes (none: the
# report builds plain dicts) and the backtest composition (backtest only).
DEFERRED = (
    "sqlalchemy",
    "numba",
    "mlflow",
    "plotly.graph_objects",
    "alphagate.app.backtest",
    "alphagate.adapters.sql",
    "alphagate.adapters.trading_db",
    "alembic",
    "alphagate.backtest.vectorized",
)


def modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_leaves_the_heavy_packages_unloaded() -> None:
    loaded = modules_after("import alphagate.cli.root")
    assert "alphagate.cli.research" in loaded  # the commands are all registered
    assert not [name for name in DEFERRED if name in loaded]


def test_the_backtest_composition_loads_neither_other_paths_nor_plotlys_figure_classes() -> None:
    loaded = modules_after("import alphagate.app.backtest")
    heavy = ("sqlalchemy", "numba", "mlflow", "plotly.graph_objects", "plotly.io", "narwhals")
    assert not [name for name in heavy if name in loaded]


def test_the_version_is_read_when_asked_for() -> None:
    loaded = modules_after("import alphagate; assert alphagate.__version__")
    assert "importlib.metadata" in loaded
    assert "importlib.metadata" not in modules_after("import alphagate")


def test_a_caller_of_main_keeps_its_garbage_collector_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the console script's own process freezes its objects (see ``alphagate.cli.console``)."""
    monkeypatch.setattr(sys, "argv", ["alphagate", "--version"])
    frozen = gc.get_freeze_count()
    with pytest.raises(SystemExit):
        main()
    assert gc.get_freeze_count() == frozen


def version_run_prints(setup: str, entry: str, report: str) -> list[str]:
    """The last line ``report`` prints after ``alphagate --version`` ran through ``entry``."""
    code = (
        f"import gc, sys\n{setup}from {entry} import main\n"
        "sys.argv = ['alphagate', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print({report})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip().splitlines()[-1].split()


def test_the_installed_entry_freezes_what_start_up_made() -> None:
    report = "gc.get_freeze_count(), gc.isenabled()"
    frozen, enabled = version_run_prints("", "alphagate.cli.console", report)
    assert int(frozen) > 10_000 and enabled == "True"


def test_the_public_names_resolve_and_importing_the_package_loads_no_engine() -> None:
    import alphagate

    for name in alphagate.__all__:
        assert getattr(alphagate, name) is not None, name
    assert alphagate.run_backtest.__module__ == "alphagate.backtest.runner"
    loaded = modules_after("import alphagate")
    assert not [m for m in loaded if m.startswith(("alphagate.engine", "alphagate.backtest"))]
