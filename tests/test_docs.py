"""The docs keep up with the code: every setting, CLI command and audit action is documented."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import typer

from gongshu.cli import app
from gongshu.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [
        f"GONGSHU_{name.upper()}"
        for name in Settings.model_fields
        if f"`GONGSHU_{name.upper()}`" not in text
    ]
    assert not missing, f"document these in docs/configuration.md: {missing}"


def _commands(group: Any, prefix: str) -> list[str]:
    # Typer vendors its own click, so look for sub-commands rather than a class; the root
    # group builds its sub-commands when asked (list_commands/get_command), not up front.
    if hasattr(group, "list_commands"):
        ctx = typer.Context(group)
        out: list[str] = []
        for name in sorted(group.list_commands(ctx)):
            out.extend(_commands(group.get_command(ctx, name), f"{prefix} {name}"))
        return out
    return [prefix]


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = _commands(typer.main.get_command(app), "gongshu")
    assert len(commands) > 5
    missing = [c for c in commands if f"`{c}" not in text]
    assert not missing, f"document these in docs/cli.md: {missing}"


def recorded_actions() -> dict[str, str]:
    """Literal action names passed to audit ``record`` anywhere in the package."""
    actions: dict[str, str] = {}
    for path in sorted((ROOT / "gongshu").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name not in ("record", "record_audit", "_audit"):
                continue
            for arg in node.args:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and "." in arg.value
                ):
                    actions[arg.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
                    break
    return actions


def test_every_audit_action_is_documented() -> None:
    text = _all_docs()
    actions = recorded_actions()
    assert actions, "no audit actions found"
    missing = {a: where for a, where in actions.items() if f"`{a}`" not in text}
    assert not missing, f"add these to an '## Audit actions' table in docs/: {missing}"
