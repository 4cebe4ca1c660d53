"""The settings package's surface: every name importers use resolves, and the run hash's recipe.

The settings were one module and became a package; importers name only the
package, so these tests read the importers themselves (not the package's own
list) to know which names must stay reachable, and recompute the hash by its
documented recipe rather than trusting the function that makes it.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import alphagate.config
from alphagate.config import Settings, config_hash, load_config

REPO_ROOT = Path(__file__).parents[3]
SECRET_VARIABLE = "ALPHAGATE__STORAGE__DATABASE_PASSWORD"


def names_imported_from_the_package() -> set[str]:
    """Every name any source, test or benchmark file imports with ``from alphagate.config``."""
    names: set[str] = set()
    for folder in ("src", "tests", "benchmarks"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names.update(
                alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "alphagate.config"
                for alias in node.names
            )
    return names


def test_every_name_imported_from_the_package_anywhere_in_the_repository_is_exported() -> None:
    imported = names_imported_from_the_package()
    assert {"Settings", "load_config", "config_hash"} <= imported  # the scan found importers

    missing = sorted(name for name in imported if name not in alphagate.config.__all__)

    assert missing == []


def test_every_exported_name_resolves_on_the_package() -> None:
    unresolved = [name for name in alphagate.config.__all__ if not hasattr(alphagate.config, name)]

    assert unresolved == []


def test_the_config_hash_is_sha256_of_the_key_sorted_compact_json_without_the_secret() -> None:
    settings = load_config(
        [],
        environ={
            SECRET_VARIABLE: "a-secret-that-must-not-count",
            "ALPHAGATE__DATA__CALENDAR": "null",
        },
        default_file=None,
        overrides=["execution.units=whole", "data.synthetic.seed=11"],
    )
    public = settings.model_dump(mode="json")
    del public["storage"]["database_password"]
    payload = json.dumps(public, sort_keys=True, separators=(",", ":"))

    assert config_hash(settings) == hashlib.sha256(payload.encode()).hexdigest()[:12]


def test_the_default_settings_hash_by_the_same_recipe() -> None:
    public = Settings().model_dump(mode="json")
    del public["storage"]["database_password"]
    payload = json.dumps(public, sort_keys=True, separators=(",", ":"))

    assert config_hash(Settings()) == hashlib.sha256(payload.encode()).hexdigest()[:12]
