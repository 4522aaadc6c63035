"""`reconciler sandbox serve`: the HTTP emulator of both vendor APIs, for local tries and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.group()
def sandbox() -> None:
    """The local sandbox: an HTTP emulator of the Sprig and Usertour APIs."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8011, show_default=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".reconciler/emulator.db"),
    show_default=True,
    help="SQLite store of the emulated users.",
)
@click.option(
    "--sprig-key", metavar="KEY", help="Accepted Sprig key (or $RECONCILER_SANDBOX_SPRIG_KEY)."
)
@click.option(
    "--usertour-key",
    metavar="KEY",
    help="Accepted Usertour key (or $RECONCILER_SANDBOX_USERTOUR_KEY).",
)
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, help="Fraction of failures.")
@click.option(
    "--fail-mode",
    type=click.Choice(["before", "after"]),
    default="before",
    show_default=True,
    help="after: commit the write, then answer an error (a lost response).",
)
@click.option(
    "--rate-limit", type=click.FloatRange(min=0, min_open=True), help="Requests/s per key."
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every answer.")
@click.option(
    "--visibility-delay-ms",
    type=click.IntRange(min=0),
    default=0,
    help="Sprig: an upsert shows on GET only this long after its 202.",
)
@click.option(
    "--first-write-race-ms",
    type=click.IntRange(min=0),
    default=0,
    help="Usertour: concurrent first writes of a new attribute name or company get 500 E0000.",
)
@click.option(
    "--listing-ties",
    type=click.IntRange(min=0),
    default=0,
    help="Usertour: N users to a createdAt; the list cursor skips ties, as the real one does.",
)
@click.option("--seed", type=int, default=0, help="Seed of the injected failures.")
@click.option("-v", "--verbose", is_flag=True, help="Log each request on stderr.")
def sandbox_serve(host: str, port: int, db_path: Path, **options: Any) -> None:
    """Serve the Sprig v2 and Usertour v1 APIs on 127.0.0.1 over a local SQLite store.

    Point a target's base_url at it to try the real HTTP path without an account.

    \b
    Examples:
      reconciler sandbox serve --port 8011
      SPRIG_API_KEY=sprig-sandbox-key reconciler plan   # with base_url http://127.0.0.1:8011
      reconciler sandbox serve --fail-rate 0.3 --latency-ms 50 --visibility-delay-ms 2000
    """
    from reconciler.cli.console import runtime
    from reconciler.sandbox.server import EmulatorOptions, serve_forever

    serve_forever(
        db_path,
        EmulatorOptions(**options),
        host=host,
        port=port,
        announce=lambda message: click.echo(message),
        environ=runtime().environ,
    )
