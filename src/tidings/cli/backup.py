"""``tidings backup``: a consistent copy of the embedded database while the server serves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from tidings.cli.common import DatabaseUrl, DataDir, console, errors, settings_from


def backup(
    to: Annotated[Path, typer.Option("--to", help="The new file to write the copy to")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Copy the embedded SQLite database to a new file (mode 0600), online.

    Restore by stopping the server and putting the copy in place of tidings.db; keep the
    secret key (secret.key or TIDINGS_SECRET_KEY) with it. PostgreSQL: use pg_dump
    (docs/operations.md).
    """
    from tidings.store.backup import BackupError, backup_sqlite

    settings = settings_from(data_dir, database_url)
    if not settings.embedded:
        errors.print(
            "The database is PostgreSQL: back it up with pg_dump -Fc (see docs/operations.md).",
            highlight=False,
        )
        raise typer.Exit(2)
    source = Path(settings.database.removeprefix("sqlite:///"))
    with Progress(
        TextColumn("[bold]backing up[/bold]"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[pages]} pages"),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("backup", total=None, pages="")
        try:
            pages = backup_sqlite(
                source,
                to,
                lambda done, total: progress.update(
                    bar, completed=done, total=total, pages=f"{done:,} of {total:,}"
                ),
            )
        except BackupError as exc:
            errors.print(f"Backup failed: {exc}", highlight=False)
            raise typer.Exit(1) from None
    console.print(f"Backed up {source} to {to} ({pages:,} pages).", highlight=False)
