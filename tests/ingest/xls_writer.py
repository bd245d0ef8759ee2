"""A minimal legacy Excel (.xls, BIFF8 in an OLE2 compound file) writer for tests.

xlwt is not a dependency, so the readers' XLS tests build their fixtures with this: one
sheet of text, number and date cells, just enough records for xlrd to read it.
"""

from __future__ import annotations

import datetime as dt
import struct

FREE, END, FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
SECTOR = 512


def _record(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def _xf(format_index: int, style: bool) -> bytes:
    kind = 0xFFF5 if style else 0x0001
    return _record(
        0x00E0, struct.pack("<HHHBBBBIIH", 0, format_index, kind, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    )


def _text(value: str) -> bytes:
    return struct.pack("<HB", len(value), 1) + value.encode("utf-16-le")


def _cell(row: int, col: int, value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, dt.date):
        serial = (dt.datetime(value.year, value.month, value.day) - dt.datetime(1899, 12, 30)).days
        return _record(0x0203, struct.pack("<HHHd", row, col, 16, float(serial)))
    if isinstance(value, int | float):
        return _record(0x0203, struct.pack("<HHHd", row, col, 15, float(value)))
    return _record(0x0204, struct.pack("<HHH", row, col, 15) + _text(str(value)))


def _workbook_stream(title: str, rows: list[list[object]]) -> bytes:
    font = _record(
        0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + b"\x05\x01Arial"
    )
    fonts = font * 5  # xlrd expects the four built-in fonts before any of the workbook's own
    xfs = b"".join(_xf(0, True) for _ in range(15)) + _xf(0, False) + _xf(14, False)
    sheet_body = _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, max(map(len, rows)), 0))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet_body += _cell(r, c, value)
    sheet = _bof(0x0010) + sheet_body + _record(0x000A, b"")
    name = _text(title)[2:]
    boundsheet_len = 4 + 4 + 1 + 1 + 1 + len(name)
    head = _bof(0x0005) + _record(0x0042, struct.pack("<H", 1200)) + fonts + xfs
    sheet_offset = len(head) + boundsheet_len + 4
    boundsheet = _record(0x0085, struct.pack("<IBBB", sheet_offset, 0, 0, len(title)) + name)
    globals_ = head + boundsheet + _record(0x000A, b"")
    stream = globals_ + sheet
    return stream + b"\x00" * max(0, 4096 - len(stream))  # stay out of the mini stream


def _dir_entry(name: str, kind: int, start: int, size: int, child: int = -1) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<iii", -1, -1, child)
        + b"\x00" * 16
        + b"\x00" * 4
        + b"\x00" * 16
        + struct.pack("<IIi", start if kind else 0, size, 0)
    )


def xls_bytes(rows: list[list[object]], title: str = "Sheet1") -> bytes:
    """An .xls file holding ``rows`` (str, int/float, date or None cells) in one sheet."""
    stream = _workbook_stream(title, rows)
    stream += b"\x00" * (-len(stream) % SECTOR)
    n = len(stream) // SECTOR
    fat = [FAT] + [i + 2 for i in range(n - 1)] + [END, END]
    dir_sector = n + 1
    fat += [FREE] * (SECTOR // 4 - len(fat))
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, dir_sector, 0, 4096, END, 0, END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", FREE) * 108
    )
    directory = (
        _dir_entry("Root Entry", 5, END, 0, child=1)
        + _dir_entry("Workbook", 2, 1, len(stream))
        + _dir_entry("", 0, 0, 0)
        + _dir_entry("", 0, 0, 0)
    )
    return header + struct.pack(f"<{SECTOR // 4}I", *fat) + stream + directory
