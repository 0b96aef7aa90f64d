"""The `motcua` command: database, catalogue, demo data, scheduler and dev server."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from engine import demo, migrate
from engine.bootstrap import Core, Settings, bootstrap
from engine.scheduler import (
    DEFAULT_BATCH,
    audit_pass,
    configure_logging,
    due_pass,
    make_scheduler,
    outbox_pass,
)
from engine.services import catalogue
from web import create_app, current_core
from web.cli_audit import seal_audit, verify_audit
from web.production import serve_production


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True)
def main() -> None:
    """MotCua: electronic one-stop shop for public agencies."""


main.add_command(serve_production)
main.add_command(verify_audit)
main.add_command(seal_audit)


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
    """Run the scheduler process: escalations, BPMN timers, e-mails (run as many as you like)."""
    configure_logging()
    core = current_core()
    settings = smtp_settings(core.settings, os.environ)
    if lease is not None:
        settings = dataclasses.replace(settings, lease_seconds=lease)
    if settings != core.settings:
        core = bootstrap(settings, db=core.db)
    if once:
        due_pass(core, batch=batch)
        outbox_pass(core)
        audit_pass(core)
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

    make_scheduler(_with_smtp_from_environment(current_core()), blocking=False).start()
    run_simple(host, port, current_app._get_current_object(),  # type: ignore[attr-defined]
               threaded=True, use_reloader=False)


SMTP_VARIABLES = ("MOTCUA_SMTP_HOST", "MOTCUA_SMTP_PORT", "MOTCUA_SMTP_SENDER",
                  "MOTCUA_SMTP_USERNAME", "MOTCUA_SMTP_PASSWORD", "MOTCUA_SMTP_STARTTLS")


def smtp_settings(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """`settings` with the SMTP relay the MOTCUA_SMTP_* variables set (unset ones unchanged)."""
    changes: dict[str, object] = {}
    for name in SMTP_VARIABLES:
        value = environ.get(name)
        if value is None:
            continue
        field = name.removeprefix("MOTCUA_").lower()
        if field == "smtp_port":
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise click.UsageError(f"{name} must be a port number (1-65535), not {value!r}")
            changes[field] = int(value)
        elif field == "smtp_starttls":
            if value.lower() not in _YES | _NO:
                raise click.UsageError(f"{name} must be 1/true/yes/on or 0/false/no/off, "
                                       f"not {value!r}")
            changes[field] = value.lower() in _YES
        else:
            changes[field] = (value or None) if field in _OPTIONAL else value
    return dataclasses.replace(settings, **changes) if changes else settings  # type: ignore[arg-type]


_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off", ""}
_OPTIONAL = {"smtp_username", "smtp_password"}


def _with_smtp_from_environment(core: Core) -> Core:
    settings = smtp_settings(core.settings, os.environ)
    if settings == core.settings:
        return core
    return bootstrap(settings, db=core.db)


from web import cli_users  # noqa: E402,F401 - registers create-user and unlock-user
