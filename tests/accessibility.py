"""Accessibility checks for browser tests: axe-core run in the page, and keyboard reach.

axe-core comes from tests/axe/node_modules (``scripts/ensure-axe``, run by ``make test``),
injected from that file: nothing is fetched while tests run. ``assert_accessible`` fails on
violations of impact "serious" or "critical" against WCAG 2.1 A and AA (labels, headings'
order, contrast, names of links and buttons, landmarks, language of the page …).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING_IMPACTS = frozenset({"serious", "critical"})


def _require_axe() -> None:
    if AXE.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{AXE} is missing: under CI the accessibility checks must run")
    sys.stderr.write("\n*** axe-core is missing: ACCESSIBILITY CHECKS ARE SKIPPED ***\n")
    pytest.skip("axe-core is not installed (run scripts/ensure-axe)")


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    _require_axe()
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        lines.append(f"{v['impact']}: {v['id']} — {v['help']} [{targets}]")
    return "\n".join(lines)


def assert_accessible(page: Any) -> None:
    """Fail with a readable list if axe-core finds serious or critical violations."""
    found = violations(page)
    assert not found, f"{page.url}:\n{describe(found)}"


def assert_keyboard_reachable(page: Any) -> None:
    """The first Tab reaches the skip link, which moves focus to the page's main content;
    every link and control after it is reached by Tab (none is taken out of the order)."""
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.getAttribute('href')")
    assert first == "#main", f"first Tab stop is {first!r}, not the skip link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    removed = page.evaluate(
        "[...document.querySelectorAll('a[href], button, input, select, textarea')]"
        ".filter(e => e.tabIndex < 0 && !e.disabled && e.type !== 'hidden').length"
    )
    assert removed == 0, f"{removed} controls are out of the keyboard's Tab order"
