"""Every interface string has an English translation.

Chinese is the source language: each Chinese string literal in gongshu/ (docstrings and the
demo city's content excepted) and each Chinese text in a template must be a message id with
a translation in gongshu/locale/en/*.po, and templates may not carry raw Chinese outside
``_()`` calls.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gongshu.i18n import catalog, pick_language, translate

ROOT = Path(__file__).resolve().parent.parent / "gongshu"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]")
EXEMPT_DIRS = {"demo", "migrations"}
TEMPLATE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TEMPLATE_MSG = re.compile(r"""\b_\(\s*(?P<q>['"])(?P<msg>.*?)(?P=q)""", re.S)


def _python_files() -> list[Path]:
    return [
        p
        for p in sorted(ROOT.rglob("*.py"))
        if not EXEMPT_DIRS.intersection(p.relative_to(ROOT).parts[:-1])
    ]


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def python_messages() -> dict[str, list[str]]:
    """Chinese literals in the package, with where they are."""
    found: dict[str, list[str]] = {}
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                for part in node.values:
                    if isinstance(part, ast.Constant) and CJK.search(str(part.value)):
                        found.setdefault(f"<f-string> {part.value}", []).append(
                            f"{path.relative_to(ROOT)}:{node.lineno}"
                        )
                        skip.add(id(part))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and CJK.search(node.value)
            ):
                found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def template_messages() -> tuple[dict[str, list[str]], list[str]]:
    """Messages in ``_()`` calls of templates, and raw Chinese text outside them."""
    found: dict[str, list[str]] = {}
    raw: list[str] = []
    for path in sorted(ROOT.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for match in TEMPLATE_MSG.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.setdefault(match.group("msg"), []).append(f"{path.relative_to(ROOT)}:{line}")
        outside = TEMPLATE_TAG.sub("", source)
        for line_text in outside.splitlines():
            if CJK.search(line_text):
                raw.append(f"{path.relative_to(ROOT)}: {line_text.strip()[:60]}")
    return found, raw


def test_f_strings_carry_no_chinese() -> None:
    bad = {k: v for k, v in python_messages().items() if k.startswith("<f-string>")}
    assert not bad, f"use a message with {{params}} instead of an f-string: {bad}"


def test_every_python_string_is_translated() -> None:
    english = catalog("en")
    missing = {
        m: where
        for m, where in python_messages().items()
        if not m.startswith("<f-string>") and m not in english
    }
    assert not missing, "untranslated:\n" + "\n".join(f"{w[0]}: {m!r}" for m, w in missing.items())


def test_every_template_string_is_translated() -> None:
    english = catalog("en")
    found, _raw = template_messages()
    missing = {m: where for m, where in found.items() if CJK.search(m) and m not in english}
    assert not missing, "untranslated:\n" + "\n".join(f"{w[0]}: {m!r}" for m, w in missing.items())


def test_templates_have_no_raw_chinese() -> None:
    _found, raw = template_messages()
    assert not raw, "wrap these in {{ _('…') }}:\n" + "\n".join(raw)


def test_translations_keep_their_placeholders() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for msgid, msgstr in catalog("en").items():
        assert set(placeholder.findall(msgid)) == set(placeholder.findall(msgstr)), msgid


def test_translate_and_pick_language() -> None:
    assert translate("登录", "en") == "Sign in"
    assert translate("登录", "zh") == "登录"
    assert pick_language("en-US,en;q=0.9") == "en"
    assert pick_language(None, "fr", "zh-CN") == "zh"
    assert pick_language(None) == "zh"


def test_a_message_has_one_translation() -> None:
    """Each area has its own PO file; one msgid translated two ways would make the merged
    catalog's answer depend on file order (the last file wins)."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((ROOT / "locale" / "en").glob("*.po")):
        text = path.read_text(encoding="utf-8")
        for msgid, msgstr in re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', text, re.M):
            if msgid in seen and seen[msgid][1] != msgstr:
                clashes.append(f"{msgid!r}: {seen[msgid]} vs {(path.name, msgstr)}")
            seen.setdefault(msgid, (path.name, msgstr))
    assert not clashes, "translated differently:\n" + "\n".join(clashes)
