"""Every `rl-arena ...` command the README shows exists in the CLI (subcommands and options)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from rl_arena_app.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
COMMAND = re.compile(r"(?:^|\$\()rl-arena (?P<rest>[^)]*)")


def shown_commands() -> list[str]:
    """The `rl-arena ...` lines of the README's code blocks, comments cut."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [found["rest"].strip() for line in lines for part in line.split(" | ")
            if (found := COMMAND.search(part.strip()))]


def resolve(words: list[str]) -> None:
    """Walk ``words`` down the command tree; each subcommand and option must exist."""
    command: click.Command = main
    for word in words:
        if word.startswith("-"):
            name = word.split("=")[0]
            known = {opt for param in command.params for opt in getattr(param, "opts", [])}
            assert name in known | {"-h", "--help"}, f"{command.name} has no option {name}"
            continue
        if not isinstance(command, click.Group):
            continue  # an argument (or an option's value): the README may name anything there
        alternatives = [w for w in word.split("|") if w]
        found = [command.get_command(click.Context(command), w) for w in alternatives]
        assert all(found), f"`{command.name}` has no subcommand {word!r}"
        command = found[0]


@pytest.mark.parametrize("line", shown_commands())
def test_the_readme_shows_commands_that_exist(line):
    words = [w.strip("[]") for w in line.replace("]", " ").split() if w.strip("[]")]
    resolve(words)


def test_the_readme_shows_commands():
    assert len(shown_commands()) > 20


@pytest.mark.parametrize("words", [["nosuch"], ["env", "lists"], ["play", "x", "--gamez", "3"],
                                   ["matchmaking", "pause|stop", "x"]])
def test_a_command_that_does_not_exist_is_caught(words):
    with pytest.raises(AssertionError):
        resolve(words)
