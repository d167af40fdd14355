"""Every command's --help ends with an example, and every example is a valid call."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from mltrail.cli import build_cli
from mltrail.cli.help_examples import EXAMPLES, walk

COMMANDS = walk(build_cli())


def test_every_command_has_an_example_and_every_example_a_command() -> None:
    paths = {path for path, _ in COMMANDS}
    assert paths - EXAMPLES.keys() == set(), "add an example to EXAMPLES"
    assert EXAMPLES.keys() - paths == set(), "an example for a command that does not exist"


@pytest.mark.parametrize("path", sorted(EXAMPLES), ids=lambda p: p or "mltrail")
def test_the_help_shows_the_example(path: str) -> None:
    result = CliRunner().invoke(build_cli(), [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert f"Example:\n    {EXAMPLES[path]}\n" in result.output


@pytest.mark.parametrize("path", sorted(EXAMPLES), ids=lambda p: p or "mltrail")
def test_the_example_parses_as_a_call_of_its_command(path: str) -> None:
    words = shlex.split(EXAMPLES[path])
    assert words[0] == "mltrail"
    command: click.Command = build_cli()
    words = words[1:]
    assert words[: len(path.split())] == path.split(), "the example calls another command"
    while isinstance(command, click.Group):  # down to the command the example runs
        command = command.commands[words.pop(0)]
    # Parsing checks every option and argument without running the command; a
    # misspelt option or a missing argument raises here.
    command.make_context(command.name or "", words)
