"""``tidings admin``: the operators who sign in to the web console."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tidings.cli.common import DatabaseUrl, DataDir, console, errors, run, settings_from, utc_text

if TYPE_CHECKING:
    from tidings.console.accounts import Accounts
    from tidings.services import Services

app = typer.Typer(help="Create, list and delete console operators.", no_args_is_help=True)


@app.command("create")
def create(
    username: Annotated[str, typer.Option(help="The name the operator signs in with")],
    workspaces: Annotated[
        list[str] | None,
        typer.Option("--workspace", help="Grant this workspace (repeat for more)"),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Grant every workspace, present and future")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an operator. The password is asked for, or read from the first line of stdin."""
    password = _read_password()

    async def job(accounts: Accounts) -> None:
        made = await accounts.create(
            username, password, workspaces=workspaces or (), everything=everything
        )
        scope = "every workspace" if made.all_workspaces else ", ".join(sorted(made.workspaces))
        console.print(
            f"Created operator [bold]{made.username}[/bold] ({scope}). "
            "Sign in at /console on the server.",
            highlight=False,
        )

    _run_accounts(data_dir, database_url, job)


@app.command("list")
def list_operators(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List operators and the workspaces granted to them."""

    async def job(accounts: Accounts) -> None:
        table = Table("Username", "Workspaces", "Created (UTC)")
        for operator in await accounts.operators():
            scope = "all" if operator.all_workspaces else ", ".join(sorted(operator.workspaces))
            table.add_row(operator.username, scope, utc_text(operator.created_at))
        console.print(table)

    _run_accounts(data_dir, database_url, job)


@app.command("delete")
def delete(
    username: Annotated[str, typer.Argument(help="The operator to delete")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete an operator and end their sessions."""

    async def job(accounts: Accounts) -> None:
        await accounts.delete(username)
        console.print(f"Deleted operator {username}.", highlight=False)

    _run_accounts(data_dir, database_url, job)


def _read_password() -> str:
    from tidings.console.accounts import AccountError, check_password

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_password(password)
    except AccountError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    return password


def _run_accounts(
    data_dir: Path | None, database_url: str | None, job: Callable[[Accounts], Awaitable[None]]
) -> None:
    from tidings.console.accounts import AccountError, Accounts

    async def with_accounts(services: Services) -> None:
        try:
            await job(Accounts(services.db))
        except AccountError as exc:
            errors.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None

    run(settings_from(data_dir, database_url), with_accounts)
