"""Mutations of .xls workbooks (BIFF8 records in the Workbook stream of an OLE compound
file): cell records moved to huge rows and columns, SST counts and string headers,
lengths that lie, date-formatted cells holding absurd numbers, sheet offsets; and the
compound file itself (header, FAT, directory). A mutation that keeps the stream's length
writes it back in place; one that changes it rebuilds a compound file around the stream,
with the sheets' offsets (BOUNDSHEET) moved along."""

from __future__ import annotations

import math
import random
import re
import struct
from dataclasses import dataclass

from . import cfb

BOF, EOF, BOUNDSHEET, SST, CONTINUE, FORMAT, XF = (
    0x0809,
    0x000A,
    0x0085,
    0x00FC,
    0x003C,
    0x041E,
    0x00E0,
)
DIMENSIONS, ROW, FILEPASS = 0x0200, 0x0208, 0x002F
NUMBER, RK, MULRK, LABELSST, LABEL, BLANK, MULBLANK, FORMULA, BOOLERR = (
    0x0203, 0x027E, 0x00BD, 0x00FD, 0x0204, 0x0201, 0x00BE, 0x0006, 0x0205,
)  # fmt: skip
CELLS = (NUMBER, RK, MULRK, LABELSST, LABEL, BLANK, MULBLANK, FORMULA, BOOLERR)
DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
ROWS = [0xFFFF, 0xFFFE, 0x8000, 50_001, 60_000, 1_000, 0]
COLS = [0xFF, 0x100, 0x3FFF, 0x4000, 0xFFFF, 0x7FFF, 0xFE]
DOUBLES = [-1e300, -1e308, 1e308, -1.7976931348623157e308, -1e15, -1e10, -99999999.0,
           -693594.0, -693595.0, -1.0, 2958466.0, 1e15, 1e20, float("nan"), float("inf"),
           float("-inf"), 9.2e18, -9.2e18, 60.0, 5e-324]  # fmt: skip


@dataclass
class Record:
    type: int
    data: bytes
    offset: int  # in the original stream (-1: added)
    lie: int | None = None  # a length field written instead of the data's length


def records(stream: bytes) -> list[Record]:
    out, i = [], 0
    while i + 4 <= len(stream):
        kind, length = struct.unpack("<HH", stream[i : i + 4])
        out.append(Record(kind, stream[i + 4 : i + 4 + length], i))
        i += 4 + length
    return out


def serialise(recs: list[Record]) -> bytes:
    """The stream, with each BOUNDSHEET's offset moved to where its sheet's BOF now is."""
    moved, at = {}, 0
    for r in recs:
        if r.offset >= 0:
            moved[r.offset] = at
        at += 4 + len(r.data)
    out = []
    for r in recs:
        data = r.data
        if r.type == BOUNDSHEET and len(data) >= 4:
            old = struct.unpack("<I", data[:4])[0]
            data = struct.pack("<I", moved.get(old, old)) + data[4:]
        length = len(data) if r.lie is None else r.lie
        out.append(struct.pack("<HH", r.type, length & 0xFFFF) + data)
    return b"".join(out)


def date_xfs(recs: list[Record]) -> list[int]:
    """Indices of the XF records whose number format is a date or a time."""
    custom = {}
    for r in recs:
        if r.type == FORMAT and len(r.data) >= 5:
            ifmt, cch, flags = struct.unpack("<HHB", r.data[:5])
            raw = r.data[5 : 5 + cch * (2 if flags & 1 else 1)]
            text = raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
            custom[ifmt] = re.sub(r'"[^"]*"|\[[^\]]*\]', "", text).lower()
    found = []
    xfs = [r for r in recs if r.type == XF and len(r.data) >= 4]
    for i, r in enumerate(xfs):
        ifmt = struct.unpack("<H", r.data[2:4])[0]
        if ifmt in DATE_FORMAT_IDS or re.search("[dmy]", custom.get(ifmt, "")):
            found.append(i)
    return found


def _set(data: bytes, at: int, fmt: str, value) -> bytes:
    size = struct.calcsize(fmt)
    if len(data) < at + size:
        return data
    return data[:at] + struct.pack(fmt, value) + data[at + size :]


def _pick(recs: list[Record], rng: random.Random, *types: int) -> Record | None:
    found = [r for r in recs if r.type in types]
    return rng.choice(found) if found else None


def _rk(value: float) -> int:
    """An RK value: a 30-bit integer when the number is one, else a double's top 30 bits."""
    if math.isfinite(value) and value == int(value) and -(1 << 29) <= value < 1 << 29:
        return ((int(value) << 2) | 2) & 0xFFFFFFFF
    return (struct.unpack("<Q", struct.pack("<d", value))[0] >> 32) & 0xFFFFFFFC


# ----------------------------------------------------------- record mutations
# Each takes the records and rng, changes them in place, returns False if not applicable.


def cell_position(recs, rng) -> bool:
    r = _pick(recs, rng, *CELLS)
    if r is None:
        return False
    if rng.random() < 0.6:
        r.data = _set(r.data, 0, "<H", rng.choice(ROWS))
    if rng.random() < 0.6:
        r.data = _set(r.data, 2, "<H", rng.choice(COLS))
        if r.type in (MULRK, MULBLANK) and len(r.data) >= 2:  # colLast too, or not
            r.data = r.data[:-2] + struct.pack("<H", rng.choice([*COLS, 0]))
    return True


def dimensions(recs, rng) -> bool:
    r = _pick(recs, rng, DIMENSIONS)
    if r is None:
        return False
    r.data = _set(
        r.data, rng.choice([0, 4]), "<I", rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 65536, 1 << 20, 0])
    )
    r.data = _set(r.data, rng.choice([8, 10]), "<H", rng.choice(COLS))
    return True


def row_record(recs, rng) -> bool:
    r = _pick(recs, rng, ROW)
    if r is None:
        return False
    at, fmt = rng.choice([(0, "<H"), (2, "<H"), (4, "<H"), (6, "<H")])
    r.data = _set(r.data, at, fmt, rng.choice([*ROWS, *COLS]))
    return True


def sst_counts(recs, rng) -> bool:
    r = _pick(recs, rng, SST)
    if r is None:
        return False
    values = [0xFFFFFFFF, 0x7FFFFFFF, 99_999_999, 1 << 28, 0, 1]
    r.data = _set(r.data, rng.choice([0, 4]), "<I", rng.choice(values))
    if rng.random() < 0.5:
        r.data = _set(r.data, 4, "<I", rng.choice(values))
    return True


def sst_string(recs, rng) -> bool:
    """The header of the first shared string: a huge length, or flags announcing rich text
    and extended data that are not there."""
    r = _pick(recs, rng, SST)
    if r is None or len(r.data) < 11:
        return False
    if rng.random() < 0.5:
        r.data = _set(r.data, 8, "<H", rng.choice([0xFFFF, 0x7FFF, 8224, 0]))
    else:
        r.data = _set(r.data, 10, "<B", rng.choice([0x0C, 0x08, 0x04, 0xFF, 0x01]))
    return True


def number_value(recs, rng) -> bool:
    """A NUMBER or RK cell holding an absurd number, most often in a date-formatted
    cell (or moved to a date format)."""
    dates = date_xfs(recs)
    cells = [r for r in recs if r.type in (NUMBER, RK) and len(r.data) >= 10]
    if not cells:
        return False
    dated = [r for r in cells if struct.unpack("<H", r.data[4:6])[0] in dates]
    r = rng.choice(dated) if dated and rng.random() < 0.8 else rng.choice(cells)
    if dates and rng.random() < 0.3:
        r.data = _set(r.data, 4, "<H", rng.choice(dates))
    value = rng.choice(DOUBLES)
    if r.type == NUMBER:
        r.data = _set(r.data, 6, "<d", value)
    else:
        r.data = _set(r.data, 6, "<I", _rk(value))
    return True


def mulrk_value(recs, rng) -> bool:
    r = _pick(recs, rng, MULRK)
    if r is None or len(r.data) < 12:
        return False
    n = (len(r.data) - 6) // 6
    at = 4 + 6 * rng.randrange(n) + 2
    r.data = _set(r.data, at, "<I", _rk(rng.choice(DOUBLES)))
    return True


def sst_index(recs, rng) -> bool:
    r = _pick(recs, rng, LABELSST)
    if r is None:
        return False
    r.data = _set(r.data, 6, "<I", rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 100_000, 5000]))
    return True


def xf_format(recs, rng) -> bool:
    """An XF (cell format) made a date format: what its cells hold becomes a date."""
    r = _pick(recs, rng, XF)
    if r is None:
        return False
    r.data = _set(r.data, 2, "<H", rng.choice([14, 22, 46, 47, 166, 0xFFFF]))
    return True


def format_string(recs, rng) -> bool:
    r = _pick(recs, rng, FORMAT)
    if r is None or len(r.data) < 2:
        return False
    text = rng.choice(["dd/mm/yyyy", "[h]:mm:ss", "yyyy", "d" * 200, "0.00", ""])
    r.data = r.data[:2] + struct.pack("<HB", len(text), 0) + text.encode("latin-1")
    return True


def boundsheet(recs, rng) -> bool:
    r = _pick(recs, rng, BOUNDSHEET)
    if r is None:
        return False
    what = rng.choice(["offset", "state", "type", "name"])
    if what == "offset":
        r.data = _set(r.data, 0, "<I", rng.choice([0, 0xFFFFFFFF, 4, 1 << 20]))
        r.offset = -1  # stays where it is put
    elif what == "state":
        r.data = _set(r.data, 4, "<B", rng.choice([1, 2, 0xFF]))
    elif what == "type":
        r.data = _set(r.data, 5, "<B", rng.choice([1, 2, 6, 0xFF]))
    else:
        name = rng.choice(["Dépenses (2)", "DEPENSES", "", "Élèves", "x" * 255, "Dépenses"])
        raw = name.encode("utf-16-le")
        r.data = r.data[:6] + struct.pack("<BB", len(name) & 0xFF, 1) + raw
    return True


def record_length(recs, rng) -> bool:
    """A record whose length field lies (its data unchanged: the stream desynchronises)."""
    r = rng.choice(recs) if recs else None
    if r is None:
        return False
    r.lie = rng.choice([0, 1, max(0, len(r.data) - 1), len(r.data) + 1, 0xFFFF, 8224, 8225])
    return True


def duplicate(recs, rng) -> bool:
    if not recs:
        return False
    i = rng.randrange(len(recs))
    copy = Record(recs[i].type, recs[i].data, -1)
    recs.insert(rng.choice([i + 1, rng.randrange(len(recs) + 1)]), copy)
    return True


def delete(recs, rng) -> bool:
    important = [i for i, r in enumerate(recs) if r.type in (BOF, EOF, SST, BOUNDSHEET, XF, *CELLS)]
    if not important:
        return False
    del recs[rng.choice(important)]
    return True


def move(recs, rng) -> bool:
    if len(recs) < 2:
        return False
    r = recs.pop(rng.randrange(len(recs)))
    recs.insert(rng.randrange(len(recs) + 1), r)
    return True


def bof_version(recs, rng) -> bool:
    r = _pick(recs, rng, BOF)
    if r is None:
        return False
    if rng.random() < 0.5:
        r.data = _set(r.data, 0, "<H", rng.choice([0x0500, 0x0400, 0x0000, 0xFFFF]))
    else:
        r.data = _set(r.data, 2, "<H", rng.choice([0x0005, 0x0010, 0x0020, 0x0040, 0x0100, 0]))
    return True


def filepass(recs, rng) -> bool:
    """A FILEPASS record (the workbook is encrypted) after the first BOF."""
    if not recs:
        return False
    data = rng.choice([struct.pack("<HHH", 0, 0x1234, 0x5678),  # XOR obfuscation
                       struct.pack("<HHH", 1, 1, 1) + bytes(48)])  # RC4  # fmt: skip
    recs.insert(1, Record(FILEPASS, data, -1))
    return True


def continue_junk(recs, rng) -> bool:
    r = _pick(recs, rng, SST, LABEL, FORMULA)
    if r is None:
        return False
    i = recs.index(r)
    junk = bytes(rng.randrange(256) for _ in range(rng.choice([1, 100, 8224])))
    recs.insert(i + 1, Record(CONTINUE, junk, -1))
    return True


def label_length(recs, rng) -> bool:
    r = _pick(recs, rng, LABEL, FORMAT)
    if r is None:
        return False
    at = 6 if r.type == LABEL else 2
    r.data = _set(r.data, at, "<H", rng.choice([0xFFFF, 0x7FFF, 32_768]))
    return True


def formula_result(recs, rng) -> bool:
    r = _pick(recs, rng, FORMULA)
    if r is None or len(r.data) < 14:
        return False
    if rng.random() < 0.5:  # a "special" result: string, boolean, error, empty, or junk
        r.data = (
            r.data[:6]
            + bytes([rng.choice([0, 1, 2, 3, 9, 0xFF]), 0, 0, 0, 0, 0, 0xFF, 0xFF])
            + r.data[14:]
        )
    else:
        r.data = _set(r.data, 6, "<d", rng.choice(DOUBLES))
    return True


PTGS_3D = [0x3A, 0x3B, 0x3C, 0x3D, 0x5A, 0x5B, 0x5C, 0x5D, 0x7A, 0x7B, 0x7C, 0x7D]
PTGS = [*PTGS_3D, 0x01, 0x17, 0x18, 0x19, 0x1C, 0x1E, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25,
        0x26, 0x29, 0x39, 0x41, 0x42, 0x44, 0x45, 0xFF]  # fmt: skip


def formula_tokens(recs, rng) -> bool:
    """A formula's tokens (rgce) cut or made of one token whose operand is cut short: a
    3D reference, an area, a function call, a string, a memory token..."""
    r = _pick(recs, rng, FORMULA)
    if r is None or len(r.data) < 22:
        return False
    cce = struct.unpack("<H", r.data[20:22])[0]
    if rng.random() < 0.5 and cce > 1:  # the real tokens, cut anywhere
        rgce = r.data[22 : 22 + rng.randrange(1, cce)]
    else:
        rgce = bytes([rng.choice(PTGS)]) + bytes(
            rng.randrange(256) for _ in range(rng.randrange(6))
        )
    cut = rng.random() < 0.3  # or the record itself cut after its tokens' length
    r.data = r.data[:20] + struct.pack("<H", len(rgce) + (8 if cut else 0)) + rgce
    return True


def stream_bytes(recs, rng) -> bool:
    """A few bytes of one record's data flipped."""
    r = _pick(recs, rng, *CELLS, SST, BOUNDSHEET, XF, FORMAT, DIMENSIONS)
    if r is None or not r.data:
        return False
    data = bytearray(r.data)
    for _ in range(rng.choice([1, 2, 8])):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    r.data = bytes(data)
    return True


RECORD_OPS = {
    "cell-position": (cell_position, 6),
    "dimensions": (dimensions, 1),
    "row": (row_record, 1),
    "sst-counts": (sst_counts, 3),
    "sst-string": (sst_string, 2),
    "number-value": (number_value, 5),
    "mulrk-value": (mulrk_value, 1),
    "sst-index": (sst_index, 2),
    "xf-format": (xf_format, 2),
    "format-string": (format_string, 1),
    "boundsheet": (boundsheet, 2),
    "record-length": (record_length, 3),
    "duplicate": (duplicate, 1),
    "delete": (delete, 2),
    "move": (move, 1),
    "bof-version": (bof_version, 1),
    "filepass": (filepass, 1),
    "continue": (continue_junk, 1),
    "label-length": (label_length, 1),
    "formula-result": (formula_result, 1),
    "formula-tokens": (formula_tokens, 3),
    "stream-bytes": (stream_bytes, 2),
}


def _on_records(change):
    def op(data: bytes, rng: random.Random) -> bytes | None:
        container = cfb.parse(data)
        entry = container and container.entry("Workbook", "Book", "WORKBOOK")
        stream = container.stream(entry) if entry else None
        if stream is None:
            return None
        recs = records(stream)
        if not change(recs, rng):
            return None
        new = serialise(recs)
        if len(new) == len(stream):
            return container.write_in_place(entry, new)
        return cfb.build(entry.name, new)

    return op


# ------------------------------------------------------------ container mutations


def header(data: bytes, rng: random.Random) -> bytes | None:
    if len(data) < 512:
        return None
    big = [0xFFFFFFFF, 1 << 20]
    fields = [
        (26, "<H", [3, 4, 0, 0xFFFF]), (28, "<H", [0xFEFF, 0]),
        (30, "<H", [0, 7, 12, 16, 31, 0xFFFF]), (32, "<H", [0, 3, 12, 0xFFFF]),
        (44, "<I", [0, *big]), (48, "<I", [0xFFFFFFFE, 0, *big]), (56, "<I", [0, 1, *big]),
        (60, "<I", [0, *big]), (64, "<I", big), (68, "<I", [0, *big]), (72, "<I", [1, *big]),
        (76 + 4 * rng.randrange(109), "<I", [0, 0xFFFFFFFD, *big]),
    ]  # fmt: skip
    at, fmt, choices = rng.choice(fields)
    return _set(data, at, fmt, rng.choice(choices))


def fat(data: bytes, rng: random.Random) -> bytes | None:
    """One FAT entry of the Workbook's chain: a loop, out of range, an early end."""
    container = cfb.parse(data)
    entry = container and container.entry("Workbook", "Book")
    if not entry:
        return None
    chain = container.chain(entry.start)
    if not chain:
        return None
    i = rng.randrange(len(chain))
    sector = chain[i]
    value = rng.choice(
        [sector, chain[0], 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 1 << 24, len(container.fat) + 5]
    )
    # where this FAT entry is in the file
    fat_sectors = [s for s in struct.unpack("<109I", data[76:512]) if s < cfb.FATSECT]
    per = container.sector // 4
    if sector // per >= len(fat_sectors):
        return None
    at = container.offset(fat_sectors[sector // per]) + 4 * (sector % per)
    return _set(data, at, "<I", value)


def directory(data: bytes, rng: random.Random) -> bytes | None:
    container = cfb.parse(data)
    if container is None or not container.entries:
        return None
    e = container.entry("Workbook", "Book") if rng.random() < 0.7 else rng.choice(container.entries)
    if e is None:
        return None
    what = rng.choice(["size", "size", "start", "name", "type", "tree"])
    if what == "size":
        size = rng.choice([0, 1, 4095, 0xFFFFFFFF, e.size * 2, e.size - 1])
        return _set(data, e.offset + 120, "<I", size & 0xFFFFFFFF)
    if what == "start":
        return _set(data, e.offset + 116, "<I", rng.choice([0, 0xFFFFFFFE, 0xFFFFFFFF, 1 << 24]))
    if what == "name":
        name = rng.choice(["Book", "WORKBOOK", "", "Workbook2", "W" * 31])
        raw = (name + "\x00").encode("utf-16-le")[:64]
        out = bytearray(data)
        out[e.offset : e.offset + 64] = raw + bytes(64 - len(raw))
        out[e.offset + 64 : e.offset + 66] = struct.pack("<H", len(raw))
        return bytes(out)
    if what == "type":
        return _set(data, e.offset + 66, "<B", rng.choice([0, 1, 3, 5, 0xFF]))
    # sibling or child pointers making a cycle or pointing nowhere
    return _set(data, e.offset + rng.choice([68, 72, 76]), "<I", rng.choice([e.index, 0, 1 << 20]))


def _ops() -> dict[str, tuple[object, int]]:
    ops: dict[str, tuple[object, int]] = {
        f"biff.{name}": (_on_records(change), weight)
        for name, (change, weight) in RECORD_OPS.items()
    }
    ops["cfb.header"] = (header, 2)
    ops["cfb.fat"] = (fat, 2)
    ops["cfb.directory"] = (directory, 2)
    return ops


OPS = _ops()
