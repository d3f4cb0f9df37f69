"""Mutations whose right answer is known: the oracle can tell a « Valide » that is wrong.

Each op returns the mutant and what `verifier` must then say of it:

- ("not-valide", why): a required sheet removed;
- ("anomaly-at", sheet, cell): an amount made unreadable (« 12,5,0 »);
- ("same-as-seed", why): what the SPEC says does not matter (blank rows above a table,
  the order of the sheets, the case and accents of a sheet's name): the same status and
  the same anomaly codes as the seed.

They apply to the .xlsx seeds written by the template writer and by LibreOffice, whose
data sheets start with a title row and a header row.
"""

from __future__ import annotations

import random
import re

from . import xml, zipped
from .xlsx import sheet_members

REQUIRED = ("Établissement", "Élèves", "Mentors", "Partenaires", "Budget prévisionnel",
            "Dépenses")  # fmt: skip
RENAMED = {"Établissement": "ETABLISSEMENT", "Élèves": "eleves", "Mentors": "MENTORS",
           "Partenaires": " partenaires ", "Budget prévisionnel": "BUDGET  PREVISIONNEL",
           "Dépenses": "DEPENSES", "Rencontres": "rencontres"}  # fmt: skip


def _workbook(data: bytes, change) -> bytes | None:
    return zipped.edit_member(data, "xl/workbook.xml", change)


def _sheet_tag(wb: bytes, name: str) -> re.Match | None:
    return re.search(rb'<sheet [^>]*?name="' + re.escape(name.encode()) + rb'"[^>]*/>', wb)


def drop_sheet(data: bytes, rng: random.Random):
    name = rng.choice(REQUIRED)
    new = _workbook(data, lambda wb: (m := _sheet_tag(wb, name)) and xml.splice(wb, *m.span(), b""))
    return None if new is None else (new, ("not-valide", f"sans la feuille {name}"))


def garble_amount(data: bytes, rng: random.Random):
    member = sheet_members(data).get("Dépenses")
    if member is None:
        return None
    sheet = next(m.data for m in zipped.read(data) if m.name == member)
    amount = rb'<c r="E(\d+)"(?: s="\d+")?(?: t="n")?><v>[^<]*</v></c>'
    cells = [m for m in re.finditer(amount, sheet) if int(m[1]) >= 3]
    if not cells:
        return None
    m = rng.choice(cells)
    cell = b'<c r="E' + m[1] + b'" t="inlineStr"><is><t>12,5,0</t></is></c>'
    new = zipped.edit_member(data, member, lambda x: xml.splice(x, m.start(), m.end(), cell))
    return new, ("anomaly-at", "Dépenses", f"E{int(m[1])}")


def _shift(sheet: bytes, k: int) -> bytes:
    """Every row of a worksheet moved down by k (cells, merges, dimension)."""

    def ref(m: re.Match) -> bytes:
        return m[1] + str(int(m[2]) + k).encode()

    sheet = re.sub(rb'(<row r=")(\d+)', ref, sheet)
    sheet = re.sub(rb'(<c r="[A-Z]+)(\d+)', ref, sheet)
    for attr in (rb"<mergeCell ref=", rb"<dimension ref="):
        sheet = re.sub(attr + rb'"[^"]*"', lambda m: re.sub(rb"([A-Z]+)(\d+)", ref, m[0]), sheet)
    return sheet


def blank_rows(data: bytes, rng: random.Random):
    sheets = sheet_members(data)
    names = [n for n in (*REQUIRED, "Rencontres") if n in sheets]
    if not names:
        return None
    name, k = rng.choice(names), rng.choice([1, 2, 5, 9, 10, 11, 12])
    new = zipped.edit_member(data, sheets[name], lambda x: _shift(x, k))
    return new, ("same-as-seed", f"{k} lignes vides au-dessus de « {name} »")


def sheet_order(data: bytes, rng: random.Random):
    def change(wb: bytes) -> bytes | None:
        tags = list(re.finditer(rb"<sheet [^>]*/>", wb))
        if len(tags) < 2:
            return None
        order = [t[0] for t in tags]
        rng.shuffle(order)
        return wb[: tags[0].start()] + b"".join(order) + wb[tags[-1].end() :]

    new = _workbook(data, change)
    return None if new is None else (new, ("same-as-seed", "feuilles dans un autre ordre"))


def sheet_case(data: bytes, rng: random.Random):
    name = rng.choice(sorted(RENAMED))

    def change(wb: bytes) -> bytes | None:
        m = _sheet_tag(wb, name)
        if m is None:
            return None
        tag = m[0].replace(f'name="{name}"'.encode(), f'name="{RENAMED[name]}"'.encode())
        return xml.splice(wb, *m.span(), tag)

    new = _workbook(data, change)
    why = f"« {name} » nommée « {RENAMED[name]} »"
    return None if new is None else (new, ("same-as-seed", why))


OPS = {
    "drop-sheet": (drop_sheet, 1),
    "garble-amount": (garble_amount, 1),
    "blank-rows": (blank_rows, 2),
    "sheet-order": (sheet_order, 1),
    "sheet-case": (sheet_case, 1),
}
