"""Docs drift is a test failure: every command and setting is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.main import get_command

from tangguh.cli.main import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _commands(group: object, prefix: str = "tangguh") -> list[str]:
    out = []
    for name, cmd in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        if getattr(cmd, "commands", None):
            out.extend(_commands(cmd, path))
        else:
            out.append(path)
    return out


def test_every_cli_command_is_in_the_readme() -> None:
    commands = _commands(get_command(app))
    assert len(commands) > 15
    documented = " ".join(re.findall(r"`(tangguh [^`]*)`", README)).replace("/ ", "")
    text = README.replace("` / `", " ").replace("/ `", "").replace("`", " ")
    missing = []
    for command in commands:
        words = command.split()
        leaf, group = words[-1], " ".join(words[:-1])
        if command in documented or command in text:
            continue
        # "tangguh layer show ID / layer history ID": sub-commands listed after a slash
        if f"{words[-2]} {leaf}" in text and group in text:
            continue
        missing.append(command)
    assert missing == []


def test_every_setting_is_in_the_readme() -> None:
    names = set()
    for path in (REPO / "src").rglob("*.py"):
        names |= set(re.findall(r"TANGGUH_[A-Z_]+", path.read_text()))
    names |= set(re.findall(r"TANGGUH_[A-Z_]+", (REPO / "tests/conftest.py").read_text()))
    assert names, "no settings found"
    assert sorted(n for n in names if n not in README) == []


def test_exit_codes_are_documented() -> None:
    from tangguh.errors import EXIT_CODES

    for code in EXIT_CODES.values():
        assert f"`{code}`" in README
    assert isinstance(app, typer.Typer)
