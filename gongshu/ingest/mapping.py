"""Matching a file's column headers to a catalog entry's fields (列映射).

A header matches a field by its name or its Chinese label, compared after NFKC
normalisation (full-width brackets and letters become half-width), case folding and removal
of white space, so "注册资本(万元)" finds the field labelled "注册资本（万元）". A mapping the
user saved for the dataset wins over matching, as long as its header is in the file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gongshu.ingest.spec import FieldSpec


def header_key(text: str) -> str:
    """The form in which headers and field names are compared."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class ColumnMapping:
    """The outcome of matching: field name -> header, and what stayed unmatched."""

    columns: dict[str, str]
    missing_required: list[FieldSpec]
    missing_optional: list[FieldSpec]
    unused_headers: list[str]


def resolve(
    specs: Sequence[FieldSpec],
    headers: Sequence[str],
    *,
    chosen: Mapping[str, str] | None = None,
    remembered: Mapping[str, str] | None = None,
) -> ColumnMapping:
    """Map each field to a header: the user's choice, then the remembered one, then by name.

    ``chosen`` may map a field to ``""`` to say "this file has no such column".
    """
    present = set(headers)
    by_key: dict[str, str] = {}
    for text in headers:
        by_key.setdefault(header_key(text), text)
    columns: dict[str, str] = {}
    taken: set[str] = set()
    for spec in specs:
        header: str | None = None
        if chosen is not None and spec.name in chosen:
            header = chosen[spec.name] or None
            if header is not None and header not in present:
                header = None
        else:
            if remembered and remembered.get(spec.name) in present:
                header = remembered[spec.name]
            for candidate in (spec.name, spec.label):
                if header is None:
                    header = by_key.get(header_key(candidate))
        if header is not None and header not in taken:
            columns[spec.name] = header
            taken.add(header)
    missing = [s for s in specs if s.name not in columns]
    return ColumnMapping(
        columns=columns,
        missing_required=[s for s in missing if s.required or s.is_key],
        missing_optional=[s for s in missing if not (s.required or s.is_key)],
        unused_headers=[h for h in headers if h not in taken],
    )
