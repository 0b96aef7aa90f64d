"""The `motcua` command: database, catalogue, demo data, scheduler and dev server."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from engine import demo, migrate
from engine.bootstrap import Settings, bootstrap
from engine.scheduler import DEFAULT_BATCH, configure_logging, due_pass, make_scheduler
from engine.services import catalogue
from web import create_app, current_core


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True)
def main() -> None:
    """MotCua: electronic one-stop shop for public agencies."""


@main.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    migrate.upgrade(current_core().db)
    click.echo("database schema is up to date")


@main.command("load-catalogue")
@click.option("--folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def load_catalogue(folder: Path | None) -> None:
    """Deploy the procedures of the bpmn/ catalogue (unchanged ones keep their version)."""
    folder = folder or Path(current_app.config["CATALOGUE"])
    for version in catalogue.load_catalogue(current_core(), folder, "catalogue",
                                            datetime.now(UTC)):
        click.echo(f"{version.process_id}: version {version.version}")


@main.command("demo")
@with_appcontext
def demo_data() -> None:
    """Create the demo users (password 'demo') and a few dossiers in different states."""
    created = demo.load_demo(current_core(), datetime.now(UTC))
    click.echo(created)


@main.command("scheduler")
@click.option("--interval", default=10.0, show_default=True, help="seconds between passes")
@click.option("--batch", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(min=1),
              help="due items claimed per pass")
@click.option("--lease", type=click.IntRange(min=1),
              help="seconds a claimed item stays ours before another scheduler may take it "
                   f"over (default {Settings.lease_seconds}); longer than a pass takes")
@click.option("--once", is_flag=True, help="run a single pass and exit (tests, cron)")
@with_appcontext
def scheduler(interval: float, batch: int, lease: int | None, once: bool) -> None:
    """Run the scheduler process: escalations and BPMN timers (run as many as you like)."""
    configure_logging()
    core = current_core()
    if lease is not None and lease != core.settings.lease_seconds:
        core = bootstrap(dataclasses.replace(core.settings, lease_seconds=lease), db=core.db)
    if once:
        due_pass(core, batch=batch)
        return
    make_scheduler(core, blocking=True, interval_seconds=interval, batch=batch).start()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the demo with the scheduler running inside (one process, for development)."""
    logging.basicConfig(level=logging.INFO)
    from werkzeug.serving import run_simple

    make_scheduler(current_core(), blocking=False).start()
    run_simple(host, port, current_app._get_current_object(),  # type: ignore[attr-defined]
               threaded=True, use_reloader=False)
