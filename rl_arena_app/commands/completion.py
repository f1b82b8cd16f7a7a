"""`rl-arena completion SHELL`: the shell completion script, from Click's own completion."""

from __future__ import annotations

import click

from rl_arena_app.commands.common import handles_errors

SHELLS = ("bash", "zsh", "fish")
# What Click's console-script entry point reads to answer completion requests for `rl-arena`.
COMPLETE_VAR = "_RL_ARENA_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
@handles_errors
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script of SHELL (bash, zsh or fish) for `rl-arena`.

    \b
    bash: eval "$(rl-arena completion bash)"   in ~/.bashrc
    zsh:  eval "$(rl-arena completion zsh)"    in ~/.zshrc
    fish: rl-arena completion fish | source    in ~/.config/fish/config.fish
    """
    from click.shell_completion import get_completion_class

    script_class = get_completion_class(shell)
    assert script_class is not None  # every choice is one of Click's shells
    root = ctx.find_root()
    click.echo(script_class(root.command, {}, root.info_name or "rl-arena", COMPLETE_VAR).source())


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(completion)
