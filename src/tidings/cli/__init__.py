"""The ``tidings`` command line."""

from __future__ import annotations

import os

import typer

from tidings.cli import (
    admin,
    apps,
    backup,
    channels,
    config,
    device,
    keys,
    schedules,
    serve,
    trace,
    webhooks,
)

app = typer.Typer(
    name="tidings",
    help="Tidings: a self-hosted push service speaking the mPaaS MPS OpenAPI.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.add_typer(apps.app, name="apps")
app.add_typer(keys.app, name="keys")
app.add_typer(channels.app, name="channels")
app.add_typer(device.app, name="device")
app.add_typer(schedules.app, name="schedules")
app.add_typer(admin.app, name="admin")
app.add_typer(config.app, name="config")
app.add_typer(webhooks.app, name="webhooks")
app.command("trace")(trace.trace)
app.command("backup")(backup.backup)


def main() -> None:
    # Whatever the commands write holds secrets or what points at them: the database, its key,
    # the serve locks, a device's state file. None of it is for other users to read.
    os.umask(0o077)
    app()
