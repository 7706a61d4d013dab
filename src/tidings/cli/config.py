"""``tidings config``: the settings a server would run with, and their documentation."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tidings.cli.common import ConfigFile, DatabaseUrl, DataDir, console, settings_from

app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)


@app.command("show")
def show(
    config: ConfigFile = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print the effective settings (flags, environment, config file, defaults), secrets masked.

    Exits 2 naming each setting that is invalid, as ``tidings serve`` would."""
    from tidings.config import env_name, masked

    shown = masked(settings_from(data_dir, database_url, config))
    if as_json:
        console.print_json(json.dumps(shown))
        return
    table = Table("setting", "environment", "value")
    for key, value in shown.items():
        table.add_row(key, env_name(key), "" if value is None else str(value))
    console.print(table)


@app.command("doc")
def doc() -> None:
    """Print the table of settings docs/configuration.md carries, made from their definitions."""
    from tidings.config import documentation_table

    typer.echo(documentation_table(), nl=False)
