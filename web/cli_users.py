"""`motcua create-user` and `motcua unlock-user`: for operators, before any administrator exists.

Each change is audited like the administrators' ones, with no actor and channel "cli".
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from engine.errors import InvalidInput, ServiceError
from engine.services import users
from engine.services.user_rules import KNOWN_ROLES
from web import current_core
from web.cli import main


def _fail(exc: ServiceError) -> click.ClickException:
    fields = getattr(exc, "fields", {}) if isinstance(exc, InvalidInput) else {}
    lines = [exc.message % exc.params if exc.params else exc.message]
    lines += [f"  {field}: {message}" for field, message in fields.items()]
    return click.ClickException("\n".join(lines))


@main.command("create-user")
@click.argument("username")
@click.option("--full-name", required=True, help="the user's full name")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(KNOWN_ROLES), help="a role (repeat for several)")
@click.option("--department", default="", help="a department code of the lanes, e.g. one_stop")
@click.option("--email", default="")
@click.password_option(help="at least 10 characters, not only digits, not the username")
@with_appcontext
def create_user(username: str, full_name: str, roles: tuple[str, ...], department: str,
                email: str, password: str) -> None:
    """Create a user (e.g. the first administrator: --role admin)."""
    try:
        user = users.create_user(current_core(), None, username=username, password=password,
                                 full_name=full_name, roles=list(roles), now=datetime.now(UTC),
                                 department=department, email=email, lang="en")
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"user {user.username} created (id {user.id}, roles {user.roles})")


@main.command("unlock-user")
@click.argument("username")
@with_appcontext
def unlock_user(username: str) -> None:
    """Clear a user's failed logins and lock-out."""
    now = datetime.now(UTC)
    found = [v.user for v in users.list_users(current_core(), now, username)
             if v.user.username == username]
    if not found:
        raise click.ClickException(f"no user is called {username}")
    try:
        users.unlock(current_core(), None, found[0].id, now)
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"user {username} unlocked")
