"""``alphagate config``: the effective settings and their hash."""

from __future__ import annotations

import sys

import typer

from alphagate.cli.root import SetOption, cli, print_plain, settings_of
from alphagate.config import config_hash, masked_dump, to_yaml

config_cli = typer.Typer(
    help="Show the effective configuration and its hash.", no_args_is_help=True
)
cli.add_typer(config_cli, name="config")


@config_cli.command("show")
def config_show(ctx: typer.Context, overrides: SetOption = None) -> None:
    """Print the effective configuration as YAML, secrets masked."""
    # Plain stdout, not Rich: piped output must stay valid YAML, never wrapped.
    sys.stdout.write(to_yaml(masked_dump(settings_of(ctx, overrides))))


@config_cli.command("hash")
def config_hash_command(ctx: typer.Context, overrides: SetOption = None) -> None:
    """Print the hash of the effective configuration (secrets excluded); it names a run."""
    print_plain(config_hash(settings_of(ctx, overrides)))
