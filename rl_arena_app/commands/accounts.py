"""`rl-arena token create` and `rl-arena user admin grant|revoke`: accounts, from the server."""

from __future__ import annotations

import click

from rl_arena_app.commands.common import handles_errors, run_admin_action


@click.group("token")
def token_group() -> None:
    """API tokens for scripts and `rl-arena submit`."""


@token_group.command("create")
@click.argument("email", metavar="EMAIL")
@click.option("--admin", is_flag=True, help="An admin-scoped token (the account must be an "
              "admin).")
@click.option("--name", default="", help="What the token is for, e.g. laptop or ci.")
@handles_errors
def token_create(email: str, admin: bool, name: str) -> None:
    """Print a new API token of EMAIL's account, alone on stdout (it is shown this once); the
    account is made if EMAIL has never logged in."""
    from rl_arena_app.services.accounts import tokens, users

    account, made = users.ensure_account(email)
    if made:
        click.echo(f"made an account for {account.email} (it logs in with that email)",
                   err=True)
    click.echo(tokens.create_token(account, "admin" if admin else "submit", name))


@click.group("user")
def user_group() -> None:
    """People's accounts."""


@user_group.command("admin")
@click.argument("change", type=click.Choice(["grant", "revoke"]))
@click.argument("email", metavar="EMAIL")
@handles_errors
def user_admin(change: str, email: str) -> None:
    """Grant or revoke EMAIL's admin rights (audited as done from the server's shell)."""
    run_admin_action(f"{change}-admin", email)


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(token_group)
    main.add_command(user_group)
