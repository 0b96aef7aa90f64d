"""`motcua verify-audit` and `motcua seal-audit`: the audit trail's hash chain."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from engine import audit
from web import current_core


@click.command("verify-audit")
@with_appcontext
def verify_audit() -> None:
    """Check the event log against its hash chain; exit 1 at the first broken link."""
    verdict = audit.verify(current_core())
    if verdict.broken is not None:
        click.echo(f"audit trail BROKEN at {verdict.broken}", err=True)
        click.echo(f"{verdict.sealed - 1} links hold before it", err=True)
        raise SystemExit(1)
    click.echo(f"audit trail intact: {verdict.sealed} events sealed, head {verdict.head}")
    if verdict.unsealed:
        click.echo(f"{verdict.unsealed} events written since the last seal are not yet "
                   "sealed (the scheduler seals them on its next pass, or run "
                   "`motcua seal-audit`)")


@click.command("seal-audit")
@click.option("--sweep", is_flag=True, help="look at every event, not only the recent ones")
@with_appcontext
def seal_audit(sweep: bool) -> None:
    """Add the events written since the last seal to the hash chain."""
    total = 0
    while sealed := audit.seal(current_core(), datetime.now(UTC), sweep=sweep):
        total += sealed
    click.echo(f"{total} events sealed")
