"""What every command shares: where the data is, and opening the services on it.

The command modules import the services, the settings and whatever else is heavy inside the
commands that use them, never at the top: ``tidings --help`` and ``tidings device listen`` then
load the command line alone, not the server (a second or more on a busy machine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from tidings.config import Settings
    from tidings.services import Services

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="TIDINGS_DATA_DIR",
        help="Directory for the embedded database and the secret key [default: ./tidings-data]",
        show_default=False,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TIDINGS_DATABASE_URL",
        help="PostgreSQL URL to use instead of the embedded SQLite database",
        show_default=False,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="TIDINGS_CONFIG",
        help="TOML file of settings [default: tidings.toml in the data directory, if any]",
        show_default=False,
    ),
]


def settings_from(
    data_dir: Path | None, database_url: str | None, config: Path | None = None, **flags: object
) -> Settings:
    """The effective settings; settings that cannot be used end the command naming each key."""
    from tidings.config import ConfigError, load_settings

    try:
        return load_settings(config, data_dir=data_dir, database_url=database_url, **flags)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            errors.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def utc_text(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def run(settings: Settings, job: Callable[[Services], Awaitable[T]]) -> T:
    """Open the services, run ``job`` on them, close them; operator errors end the command."""
    from tidings.errors import ServiceError
    from tidings.secretbox import SecretKeyError
    from tidings.services import Services
    from tidings.tenancy.service import TenancyError

    async def main() -> T:
        services = await Services.open(settings)
        try:
            return await job(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(main())
    except (TenancyError, SecretKeyError, ServiceError) as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
