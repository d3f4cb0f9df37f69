"""Reproducers of the failure classes found by the fuzzer (tests/fuzz, docs/fuzzing.md).

Each is made here by a deterministic construction of what the fuzzer's smallest mutant
did (not a copy of the mutant), from the valid establishment of tests/conftest.py, so
that it stays readable and keeps reproducing when the fuzzer changes. The classes of the
issue that `contain` already reproduces in build.py (ods repeats, text:s, sharedStrings
uniqueCount, a date of -1E+300 in an .xlsx, the CODEPAGE panic, an .xls cell at row and
column 65 536, the 40 000 newlines, a header repeated 16 000 times) are not repeated.

`cases(add, readable, uai)` declares them with the callbacks of build.cases().
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.fuzz.mutators import cfb, xls

from .build import (
    A_CORRIGER,
    BASE_LUS,
    ILLISIBLE,
    Expect,
    Maker,
    Workshop,
    convert,
    fill_for,
    plain_sheets,
    rewrite_zip,
    save_ods,
    transformed,
)

# ------------------------------------------------------------- .xls, record by record


def xls_edit(fill, change: Callable[[list[xls.Record]], object]) -> Maker:
    """The fill saved as .xls by LibreOffice, its BIFF records changed in place by
    `change`; the Workbook stream written back in place, or in a new compound file if
    its length changed (the sheets' offsets follow)."""

    def make(path: Path, shop: Workshop) -> None:
        convert(shop, shop.template(fill), "xls", path)
        data = path.read_bytes()
        container = cfb.parse(data)
        entry = container.entry("Workbook")
        stream = container.stream(entry)
        records = xls.records(stream)
        change(records)
        new = xls.serialise(records)
        if len(new) == len(stream):
            path.write_bytes(container.write_in_place(entry, new))
        else:
            path.write_bytes(cfb.build("Workbook", new))

    return make


def xls_cut(fill, cut: Callable[[bytes], bytes]) -> Maker:
    """The fill saved as .xls by LibreOffice, then cut (a transfer that stopped)."""

    def make(path: Path, shop: Workshop) -> None:
        convert(shop, shop.template(fill), "xls", path)
        path.write_bytes(cut(path.read_bytes()))

    return make


def sheet_records(records: list[xls.Record], name: str) -> list[xls.Record]:
    """The records of one sheet's substream, from its BOF to its EOF."""
    offsets = {}
    for r in records:
        if r.type == xls.BOUNDSHEET:
            length, wide = r.data[6], r.data[7]
            raw = r.data[8 : 8 + (2 * length if wide & 1 else length)]
            offsets[raw.decode("utf-16-le" if wide & 1 else "latin-1")] = struct.unpack(
                "<I", r.data[:4]
            )[0]
    start = next(i for i, r in enumerate(records) if r.offset == offsets[name])
    end = next(i for i in range(start, len(records)) if records[i].type == xls.EOF)
    return records[start : end + 1]


def first(records: list[xls.Record], kind: int, nth: int = 0) -> xls.Record:
    return [r for r in records if r.type == kind][nth]


def biff5(records: list[xls.Record]) -> None:
    """The workbook's BOF announces BIFF5 (0x0500) where the records are BIFF8."""
    bof = records[0]
    bof.data = struct.pack("<H", 0x0500) + bof.data[2:]


def sheet_beyond_stream(records: list[xls.Record]) -> None:
    """The BOUNDSHEET of Dépenses places the sheet at offset 0xFFFFFFFF."""
    for r in records:
        if r.type == xls.BOUNDSHEET and b"penses" in r.data:
            r.data = struct.pack("<I", 0xFFFFFFFF) + r.data[4:]
            r.offset = -1  # (serialise would move it back to the sheet)


def formula_longer_than_record(records: list[xls.Record]) -> None:
    """The first formula announces 515 bytes of tokens (cce) where its record holds a few:
    the parser slices past the record's end. (The fuzzer got there by a ROW record one
    byte longer than declared, which made the reader misalign the next records.)"""
    formula = first(records, xls.FORMULA)
    formula.data = formula.data[:20] + struct.pack("<H", 515) + formula.data[22:]


def truncated_reference(records: list[xls.Record]) -> None:
    """The first formula made of one 3D #REF! reference (PtgRefErr3d) whose operand is cut
    after 4 of its 6 bytes: the formula parser reads past the end of its tokens. (The
    fuzzer got there by a COLINFO length that lied, which made the reader take a
    formula's bytes for others.)"""
    formula = first(records, xls.FORMULA)
    rgce = b"\x3c" + bytes(4)
    formula.data = formula.data[:20] + struct.pack("<H", len(rgce)) + rgce


def huge_date(records: list[xls.Record]) -> None:
    """Dépenses!B3 (a date, RK) holding -1E+300: the date conversion panics."""
    for r in sheet_records(records, "Dépenses"):
        if r.type in (xls.RK, xls.NUMBER) and struct.unpack("<HH", r.data[:4]) == (2, 1):
            if r.type == xls.RK:
                r.data = r.data[:6] + struct.pack("<I", xls._rk(-1e300))
            else:
                r.data = r.data[:6] + struct.pack("<d", -1e300)
            return
    raise AssertionError("pas de date en Dépenses!B3")


# ------------------------------------------------------------------- .xlsx and .ods


def unique_count_overflow(data: bytes) -> bytes:
    """sharedStrings.xml declaring 2⁶³ − 1 strings: the reservation overflows (a panic,
    not an abort as with 99 999 999 999)."""

    def claim(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
        zout.writestr(info, re.sub(rb'uniqueCount="\d+"', b'uniqueCount="9223372036854775807"',
                                   original))  # fmt: skip

    return rewrite_zip(data, {"xl/sharedStrings.xml": claim})


REPEATED_LINES = 5_000


def repeated_line(fill) -> Maker:
    """An .ods whose Dépenses sheet ends with one line repeated 5 000 times (under the
    row limit), its amount unreadable: 5 000 VAL-MONTANT and as many duplicate pièces,
    megabytes of JSON before the cap of SPEC §5.3."""
    cells = ["R1", "15/10/2024", "Communication", "", "douze euros", "", "Oui"]
    xml = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
        if v else "<table:table-cell/>"
        for v in cells
    )  # fmt: skip
    row = f'<table:table-row table:number-rows-repeated="{REPEATED_LINES}">{xml}</table:table-row>'

    def more(name: str) -> Iterator[bytes]:
        if name == "Dépenses":
            yield row.encode()

    return lambda path, shop: save_ods(path, plain_sheets(fill), more)


# ------------------------------------------------------------------------- cases

# Each class the fuzzer found on main (e2eb3e4), and the corpus files that reproduce it
# (those without the fuzz- prefix are contain's, in build.py). The bilan classes of the
# fuzzer (PicklingError, a worker's panic or abort killing the batch, its English last
# words on stderr) are reproduced by any of these files in a bilan: the corpus's, and
# tests/test_fuzz.py's bilan of exactly these files.
REPRODUCERS = {
    "traceback:PanicException@read.py:_read[chrono/lib.rs:717]":
        ["date-hors-mesure.xlsx", "fuzz-xls-date-hors-mesure.xls"],
    "traceback:PanicException@read.py:_read[calamine/xls.rs:606]":
        ["fuzz-xls-feuille-hors-flux.xls"],
    "traceback:PanicException@read.py:_read[calamine/xls.rs:1449]": ["fuzz-xls-biff5.xls"],
    "traceback:PanicException@read.py:_read[calamine/xls.rs:1504]":
        ["fuzz-xls-formule-trop-longue.xls"],
    "traceback:PanicException@read.py:_read[calamine/xls.rs:1553]":
        ["fuzz-xls-formule-tronquee.xls"],
    "traceback:PanicException@read.py:_read[calamine/utils.rs:29]": ["fuzz-xls-tronque-567.xls"],
    "traceback:PanicException@read.py:_read[calamine/utils.rs:48]": ["ancien-format-panique.xls"],
    "traceback:PanicException@read.py:_read[calamine/cfb.rs:305]":
        ["fuzz-xls-tronque-64-kio.xls"],
    "traceback:PanicException@read.py:_read[calamine/cfb.rs:349]": ["fuzz-xls-tronque-fin.xls"],
    "traceback:PanicException@read.py:_read[alloc/mod.rs:28]":
        ["fuzz-textes-partages-debordement.xlsx"],
    "signal:SIGABRT@read.py:_read[allocation]": [
        "ods-repetition-apostrophes.ods", "ods-repetition-espaces.ods",
        "ods-repetition-lignes-vides-puis-valeur.ods", "ods-repetition-colonnes.ods",
        "ods-espaces-repetes.ods", "textes-partages-annonces.xlsx",
        "ancien-format-grille-geante.xls",
    ],
    # (the same .ods repeats, when pyo3 cannot allocate a Python object before Rust fails)
    "traceback:PanicException@read.py:_read[pyo3/instance.rs:348]":
        ["ods-repetition-lignes-vides-puis-valeur.ods"],
    "timeout@values.py:parse_decimal_text": ["montant-sauts-de-ligne.xlsx"],
    "timeout@cli.py:verifier": ["fuzz-ligne-repetee.ods"],  # the JSON of a flood
    "flood:repeated-code": ["entete-repete.xlsx", "fuzz-ligne-repetee.ods"],
    "flood:json-size": ["fuzz-ligne-repetee.ods"],
}  # fmt: skip
WITNESS = "reference-valide.xlsx"  # a valid workbook, in the bilan of the reproducers


def cases(add, readable, uai: Iterator[str]) -> None:
    """The reproducers, declared with build.cases()'s `add` and `readable`."""
    damaged = [
        ("biff5", "le BOF du classeur annonce BIFF5 (calamine panique : xls.rs:1449)",
         xls_edit(fill_for(next(uai)), biff5)),
        ("feuille-hors-flux", "la feuille Dépenses placée au-delà du flux Workbook "
         "(calamine panique : xls.rs:606)", xls_edit(fill_for(next(uai)), sheet_beyond_stream)),
        ("formule-trop-longue", "une formule annonce plus d'octets que son enregistrement "
         "(calamine panique : xls.rs:1504)",
         xls_edit(fill_for(next(uai)), formula_longer_than_record)),
        ("formule-tronquee", "une formule faite d'une référence 3D #REF! coupée "
         "(calamine panique : xls.rs:1553)", xls_edit(fill_for(next(uai)), truncated_reference)),
        ("date-hors-mesure", "Dépenses!B3, une date, vaut -1E+300 (calamine panique : chrono)",
         xls_edit(fill_for(next(uai)), huge_date)),
        ("tronque-567", "fichier .xls coupé à 567 octets (calamine panique : utils.rs:29)",
         xls_cut(fill_for(next(uai)), lambda d: d[:567])),
        ("tronque-64-kio", "fichier .xls coupé à 65 536 octets (calamine panique : cfb.rs:305)",
         xls_cut(fill_for(next(uai)), lambda d: d[:65_536])),
        ("tronque-fin", "fichier .xls privé de ses 22 derniers octets (calamine panique : "
         "cfb.rs:349)", xls_cut(fill_for(next(uai)), lambda d: d[:-22])),
    ]  # fmt: skip
    for name, what, make in damaged:
        # the date is read with its sheet: the anomaly names it; the others, the file
        where = "Dépenses" if name == "date-hors-mesure" else ""
        add(f"fuzz-xls-{name}.xls", f".xls : {what}", ILLISIBLE, make,
            Expect("FIC-CORROMPU", where), soffice=True)  # fmt: skip
    add("fuzz-textes-partages-debordement.xlsx", "sharedStrings.xml annonce 2⁶³ − 1 textes "
        "(calamine panique : capacity overflow)", ILLISIBLE,
        transformed(fill_for(next(uai)), unique_count_overflow),
        Expect("FIC-CORROMPU", fragment="sharedStrings.xml"))  # fmt: skip
    fill = fill_for(next(uai))
    readable("fuzz-ligne-repetee.ods", f".ods : une ligne de dépense répétée "
             f"{REPEATED_LINES} fois, montant illisible (5 000 anomalies par code)",
             A_CORRIGER, fill, repeated_line(fill),
             Expect("VAL-MONTANT", "Dépenses", "E6"),
             Expect("FEU-ANOMALIES", "Dépenses", fragment="autres anomalies VAL-MONTANT"),
             lus=BASE_LUS)  # fmt: skip
