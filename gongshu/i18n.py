"""Interface languages: Chinese first, English second.

Source strings are Chinese. English translations live in gettext PO files under
``gongshu/locale/en/`` (one file per area, merged at load time). ``_`` marks and translates a
string for the current request's language; ``{name}`` placeholders are filled after
translation. A test fails when an interface string has no English translation.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Literal

from babel.messages.pofile import read_po

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
LOCALE_DIR = Path(__file__).parent / "locale"

current_language: ContextVar[Language] = ContextVar("current_language", default="zh")


@lru_cache
def catalog(lang: Language) -> dict[str, str]:
    """All translations for a language: msgid → msgstr, merged from every PO file."""
    messages: dict[str, str] = {}
    directory = LOCALE_DIR / lang
    if not directory.is_dir():
        return messages
    for path in sorted(directory.glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=lang):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return messages


def translate(message: str, lang: Language | None = None, **params: object) -> str:
    """``message`` in ``lang`` (default: the current request's), with params filled in."""
    lang = lang or current_language.get()
    text = message if lang == "zh" else catalog(lang).get(message, message)
    return text.format(**params) if params else text


_ = translate


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (module-level constants)."""
    return message


def pick_language(*candidates: str | None) -> Language:
    """The first candidate that names a supported language (``en-US`` counts as ``en``)."""
    for candidate in candidates:
        if not candidate:
            continue
        for part in candidate.replace(";", ",").split(","):
            code = part.strip().lower()[:2]
            if code in LANGUAGES:
                return code
    return "zh"
