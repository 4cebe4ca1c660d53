"""``alphagate db``: migrate the trading database and show its revision.

SQLAlchemy and Alembic are imported inside the commands, so ``alphagate
--help`` does not pay for them. Every line printed names the database by its
masked URL: a password given in ``--url`` never reaches the terminal.
"""

from __future__ import annotations

from typing import Annotated

import typer

from alphagate.cli.root import SetOption, cli, print_plain, settings_of

db_cli = typer.Typer(
    help="The trading database: apply its migrations, show its revision.", no_args_is_help=True
)
cli.add_typer(db_cli, name="db")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="SQLAlchemy URL of the database; default storage.trading_database_url. "
        "Prefer ALPHAGATE__STORAGE__DATABASE_PASSWORD to a password in the URL.",
    ),
]


@db_cli.command("upgrade")
def db_upgrade(ctx: typer.Context, url: UrlOption = None, overrides: SetOption = None) -> None:
    """Apply every pending migration (a no-op at head); trading starts do it too."""
    from alphagate.app.trading_db import upgrade_trading_database

    done = upgrade_trading_database(settings_of(ctx, overrides), url)
    if done.before == done.current:
        print_plain(f"{done.url}: already at revision {done.current} (head)")
    else:
        print_plain(f"{done.url}: upgraded from {done.before or 'empty'} to {done.current} (head)")


@db_cli.command("current")
def db_current(ctx: typer.Context, url: UrlOption = None, overrides: SetOption = None) -> None:
    """Print the database's revision and whether migrations are pending; changes nothing."""
    from alphagate.app.trading_db import trading_database_revision

    found = trading_database_revision(settings_of(ctx, overrides), url)
    if found.at_head:
        print_plain(f"{found.url}: revision {found.current} (head)")
    else:
        pending = f"revision {found.current}" if found.current else "not migrated"
        print_plain(f"{found.url}: {pending}; head is {found.head}: run alphagate db upgrade")
