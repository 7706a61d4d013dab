"""``tidings serve``: run the server.

The command reads the settings; cli/serving.py runs the server on them, imported only here so
that no other command loads the web server and everything it serves."""

from __future__ import annotations

from typing import Annotated

import typer

from tidings.cli.common import ConfigFile, DatabaseUrl, DataDir, settings_from


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on [default: 127.0.0.1]"),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8080]")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="'text' or 'json' (one object per line) [default: text]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the OpenAPI server (migrating the database first).

    Each flag's environment variable (TIDINGS_HOST, TIDINGS_PORT, ...) is read with the other
    settings, so a bad value is reported as every setting's is: naming the key."""
    settings = settings_from(
        data_dir, database_url, config, host=host, port=port, log_format=log_format
    )
    from tidings.cli.serving import run_server

    run_server(settings)
