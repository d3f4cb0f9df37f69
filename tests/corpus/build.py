"""The hostile-input corpus: what gestionnaires may really send, broken, huge or trapped.

`cases()` declares every file and what the user must see; `build(folder)` writes them.
Nothing is committed as a binary: each file is made here, from the valid establishment of
tests/conftest.py, with the template writer, openpyxl, zipfile, msoffcrypto-tool and
LibreOffice (the .xls and .ods cases). tests/test_corpus.py builds the corpus once per
session and runs `verifier` and `bilan` on it; to look at the files:

    python tests/corpus/build.py /tmp/corpus
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

if __package__ in (None, ""):  # run as a script: make `tests` and the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openpyxl

from mentorat_budget import rules as rules_mod
from mentorat_budget.schema import ETABLISSEMENT, TABLES
from mentorat_budget.values import uai_key
from mentorat_budget.write.template import Remplissage, write_template
from tests.conftest import base_fill
from tests.test_anomalies import plain_sheets, save_sheets

MiB = 1024 * 1024
GiB = 1024 * MiB
ILLISIBLE, A_CORRIGER, VALIDE, DOUBLON = "Illisible", "À corriger", "Valide", "Doublon"

# The valid establishment's three expenses (1 500,00 + 12,80 + 123,45 €), in cents, and the
# student and mentor codes it holds.
BASE_LUS = 150_000 + 1_280 + 12_345
BASE_CODES = frozenset({"E001", "E002", "E003", "M01", "M02"})

# Text typed by users that must never become a formula or a link in any output: the test
# scans the XML of every output for MARKERS outside of text nodes, and for a formula 1+2.
HYPERLINK_TEXT = '=HYPERLINK("https://corpus.invalid/piege","Cliquez ici")'
FORMULA_TEXT = "=1+2"
DDE_TEXT = "=cmd|' /C calc'!A0"
URL_TEXT = "https://corpus.invalid/lien"
MARKERS = ("corpus.invalid", "HYPERLINK", "cmd|")
# Written beside the corpus folder and referenced by an external XML entity: its content
# must appear in no output.
SECRET_NAME, SECRET = "secret-xxe.txt", "XXE-SECRET-7f3a9c"


@dataclass(frozen=True)
class Expect:
    """An anomaly the user must see: its code ("*": any code) and where it is ("" for a
    file-level anomaly, a sheet alone for a sheet-level one), with a fragment of its
    message when that matters."""

    code: str
    feuille: str = ""
    cellule: str = ""
    fragment: str = ""

    def __str__(self) -> str:
        where = f"{self.feuille}!{self.cellule}" if self.cellule else self.feuille or "fichier"
        return f"{self.code} @ {where}" + (f" « {self.fragment} »" if self.fragment else "")

    def found_in(self, anomalies: Iterable[dict]) -> bool:
        return any(
            self.code in ("*", a["code"])
            and (a["feuille"], a["cellule"]) == (self.feuille, self.cellule)
            and self.fragment in a["message"]
            for a in anomalies
        )


@dataclass
class Workshop:
    """What the makers share: the rules, a scratch folder, LibreOffice."""

    work: Path
    soffice: list[str] | None
    rules: rules_mod.Rules = field(default_factory=lambda: rules_mod.for_campagne(2024))
    n: int = 0

    def template(self, fill: Remplissage) -> Path:
        """A workbook written by the template writer (XlsxWriter), in the scratch folder."""
        self.n += 1
        return write_template(self.work / f"t{self.n}.xlsx", self.rules, fill)


Maker = Callable[[Path, Workshop], object]


@dataclass
class Case:
    name: str  # file name in the corpus folder
    what: str  # what the file is
    statut: str  # what `verifier` says: Illisible, À corriger or Valide
    make: Maker = field(repr=False)
    expect: tuple[Expect, ...] = ()  # what `verifier` and the bilan must report
    lus: int | None = None  # cents the bilan must read from Dépenses (None: not counted)
    uai: str | None = None  # the UAI it declares, when readable
    codes: frozenset[str] = frozenset()  # student and mentor codes it holds
    bilan_statut: str | None = None  # its status in the bilan, when not `statut`
    bilan_expect: tuple[Expect, ...] = ()  # what only a batch sees (a duplicate UAI)
    ours: bool = False  # one of our own outputs: the bilan ignores it
    soffice: bool = False  # made with LibreOffice
    report: int | None = None  # cents of the report N-1 it declares (Établissement!B9)

    @property
    def exit_code(self) -> int:
        """`verifier`'s exit code (SPEC §7.3)."""
        return 0 if self.statut == VALIDE else 1

    @property
    def readable(self) -> bool:
        return self.statut != ILLISIBLE and not self.ours


# ----------------------------------------------------------------------- helpers


def uais() -> Iterator[str]:
    """Distinct valid UAIs of Paris, so that every readable case counts in the bilan."""
    for n in range(750_100, 760_000):
        digits = f"{n:07d}"
        yield digits + uai_key(digits)


def fill_for(uai: str) -> Remplissage:
    fill = copy.deepcopy(base_fill())
    fill.etablissement["uai"] = uai
    return fill


def slug(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def sheet_member(data: bytes, sheet: str) -> str:
    """The zip member of a worksheet, found by its name through workbook.xml and its rels."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(escape(sheet))}"[^>]*r:id="([^"]+)"', workbook)
    assert rid, sheet
    rel = re.search(rf'<Relationship [^>]*Id="{rid[1]}"[^>]*>', rels)
    assert rel, rid[1]
    target = re.search(r'Target="([^"]+)"', rel[0])[1]  # type: ignore[index]
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


Writer = Callable[[zipfile.ZipFile, zipfile.ZipInfo, bytes], None]


def rewrite_zip(data: bytes, replace: dict[str, Writer]) -> bytes:
    """A copy of a zip where each member named in `replace` is written by its function
    (given the output archive, the original entry and its bytes); others are copied."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            original = zin.read(info.filename)
            if info.filename in replace:
                replace[info.filename](zout, info, original)
            else:
                zout.writestr(info, original)
    return out.getvalue()


def central_record(data: bytes, name: str) -> int:
    """Offset of the central-directory record of one zip member."""
    offset = data.rfind(b"PK\x01\x02", 0, data.rfind(name.encode()))
    assert offset >= 0 and data[offset + 46 : offset + 46 + len(name)] == name.encode()
    return offset


def ods_cell(value: object) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, bool):
        flag = "true" if value else "false"
        return f'<table:table-cell office:value-type="boolean" office:boolean-value="{flag}"/>'
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if isinstance(value, dt.date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value:%d/%m/%Y}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p>'
        "</table:table-cell>"
    )


def save_ods(
    path: Path, sheets: dict[str, list[list]], more: Callable[[str], Iterable[bytes]]
) -> None:
    """A minimal OpenDocument spreadsheet of plain rows; `more(sheet)` streams extra XML
    rows into the archive."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        "<office:body><office:spreadsheet>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                   compress_type=zipfile.ZIP_STORED)  # fmt: skip
        z.writestr("META-INF/manifest.xml", manifest)
        with z.open("content.xml", "w", force_zip64=True) as f:
            f.write(head.encode())
            for name, rows in sheets.items():
                f.write(f'<table:table table:name="{escape(name)}">'.encode())
                for row in rows:
                    cells = "".join(ods_cell(v) for v in row)
                    f.write(f"<table:table-row>{cells}</table:table-row>".encode())
                for chunk in more(name):
                    f.write(chunk)
                f.write(b"</table:table>")
            f.write(b"</office:spreadsheet></office:body></office:document-content>")


def soffice_command(profile: Path) -> list[str] | None:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        return None
    return [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless"]


def convert(shop: Workshop, source: Path, fmt: str, target: Path) -> None:
    assert shop.soffice is not None
    outdir = shop.work / f"lo-{fmt}"
    subprocess.run([*shop.soffice, "--convert-to", fmt, "--outdir", str(outdir), str(source)],
                   check=True, capture_output=True, timeout=180)  # fmt: skip
    shutil.move(outdir / f"{source.stem}.{fmt}", target)


# ------------------------------------------------------------------------ makers
# Each maker writes one file: maker(path, workshop).


def write_bytes(data: bytes) -> Maker:
    return lambda path, shop: path.write_bytes(data)


def from_template(fill: Remplissage) -> Maker:
    return lambda path, shop: shutil.copy(shop.template(fill), path)


def from_sheets(fill: Remplissage, edit: Callable[[dict], object] = lambda s: None) -> Maker:
    """The fill laid out as plain sheets (tests/test_anomalies.py), edited, saved by
    openpyxl as a user's own workbook would be."""

    def make(path: Path, shop: Workshop) -> None:
        sheets = plain_sheets(fill)
        edit(sheets)
        save_sheets(path, sheets)

    return make


def from_workbook(fill: Remplissage, edit: Callable[[openpyxl.Workbook], object]) -> Maker:
    """The template, opened with openpyxl, edited and saved."""

    def make(path: Path, shop: Workshop) -> None:
        wb = openpyxl.load_workbook(shop.template(fill))
        edit(wb)
        wb.save(path)

    return make


def transformed(fill: Remplissage, change: Callable[[bytes], bytes]) -> Maker:
    return lambda path, shop: path.write_bytes(change(shop.template(fill).read_bytes()))


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def encrypted(data: bytes) -> bytes:
    from msoffcrypto.format import ooxml  # a test dependency (pyproject, extra "test")

    out = io.BytesIO()
    ooxml.OOXMLFile(io.BytesIO(data)).encrypt("secret", out)
    return out.getvalue()


def damaged_member(data: bytes) -> bytes:
    """Bytes flipped inside the deflate stream of the Dépenses sheet (a damaged disk)."""
    member = sheet_member(data, "Dépenses")
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    out = bytearray(data)
    name_len, extra_len = struct.unpack("<HH", out[info.header_offset + 26 :][:4])
    start = info.header_offset + 30 + name_len + extra_len
    for i in range(start + 100, start + 160):
        out[i] ^= 0xFF
    return bytes(out)


def zip_not_a_workbook(path: Path, shop: Workshop) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("donnees.csv", CSV)


def too_big(path: Path, shop: Workshop) -> None:
    with path.open("wb") as out:  # 31 Mo, sparse where the filesystem allows
        out.write(b"PK\x03\x04")
        out.truncate(31 * MiB)


def gigabyte_bomb(data: bytes) -> bytes:
    """The Dépenses sheet replaced by 1 Gio of XML blanks streamed through zlib (1 Mo)."""

    def bomb(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
        entry = zipfile.ZipInfo(info.filename, info.date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with zout.open(entry, "w", force_zip64=True) as out:
            out.write(original[: original.index(b"<sheetData>") + len(b"<sheetData>")])
            chunk = b" " * (16 * MiB)
            for _ in range(GiB // len(chunk)):
                out.write(chunk)
            out.write(original[original.index(b"</sheetData>") :])

    return rewrite_zip(data, {sheet_member(data, "Dépenses"): bomb})


def declared_bomb(data: bytes) -> bytes:
    """A 64-byte member whose central directory declares 4 Gio (a lying header)."""
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/image1.png", b"0" * 64)
    out = bytearray(buf.getvalue())
    offset = central_record(bytes(out), "xl/media/image1.png")
    out[offset + 24 : offset + 28] = struct.pack("<I", 0xFFFF_FFF0)
    return bytes(out)


def with_entity(data: bytes, doctype: str, entity: str) -> bytes:
    """The first shared string replaced by a reference to an entity of a DOCTYPE."""

    def edit(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
        body = original[original.index(b"<sst") :]
        first = body.index(b"<t")
        start, end = body.index(b">", first) + 1, body.index(b"</t>", first)
        prolog = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + doctype.encode()
        zout.writestr(info, prolog + body[:start] + entity.encode() + body[end:])

    return rewrite_zip(data, {"xl/sharedStrings.xml": edit})


LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))


def billion_laughs(data: bytes) -> bytes:
    return with_entity(data, f'<!DOCTYPE sst [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;")


def external_entity(path: Path, shop: Workshop) -> None:
    secret = path.parent.parent / SECRET_NAME
    secret.write_text(SECRET + "\n")
    doctype = f'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    data = shop.template(fill_for("0750655E")).read_bytes()
    path.write_bytes(with_entity(data, doctype, "&xxe;"))


def million_rows_xlsx(data: bytes) -> bytes:
    """« Non » filled down column M of Dépenses to the last row Excel has: 1 048 576."""

    def fill_down(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
        head, tail = original.split(b"</sheetData>")
        last = max(int(r) for r in re.findall(rb'<row r="(\d+)"', head))
        with zout.open(info.filename, "w", force_zip64=True) as out:
            out.write(head)
            for start in range(last + 1, 1_048_577, 65_536):
                rows = range(start, min(start + 65_536, 1_048_577))
                out.write("".join(f'<row r="{r}"><c r="M{r}" t="inlineStr"><is><t>Non</t></is>'
                                  "</c></row>" for r in rows).encode())  # fmt: skip
            out.write(b"</sheetData>" + tail)

    return rewrite_zip(data, {sheet_member(data, "Dépenses"): fill_down})


def million_rows_ods(fill: Remplissage) -> Maker:
    """An .ods whose Dépenses sheet has 1 048 576 rows, each with its own text (LibreOffice
    stores identical rows once, repeated: these are all different)."""

    def more(name: str) -> Iterator[bytes]:
        if name != "Dépenses":
            return
        for start in range(6, 1_048_577, 32_768):
            yield "".join(
                "<table:table-row><table:table-cell/><table:table-cell/><table:table-cell/>"
                f'<table:table-cell office:value-type="string"><text:p>ligne {r}</text:p>'
                "</table:table-cell></table:table-row>"
                for r in range(start, min(start + 32_768, 1_048_577))
            ).encode()

    return lambda path, shop: save_ods(path, plain_sheets(fill), more)


def far_cell(tag: str) -> Callable[[bytes], bytes]:
    """A cell placed at XFD1048576 by an `r` written as no usual tool writes it (calamine
    honours it, and would allocate the whole grid: the process aborts)."""

    def change(data: bytes) -> bytes:
        def add_cell(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
            cell = f'{tag} t="inlineStr"><is><t>x</t></is></{tag[1:].split()[0]}>'
            row = f'<row r="9000">{cell}</row></sheetData>'.encode()
            zout.writestr(info.filename, original.replace(b"</sheetData>", row))

        return rewrite_zip(data, {sheet_member(data, "Dépenses"): add_cell})

    return change


# -- Contained (issue 12 §3): files that made a library abort, panic or crawl.

ODS_VALUE = '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'


def ods_with(fill: Remplissage, rows: str) -> Maker:
    """The fill as an .ods whose Dépenses sheet ends with these XML rows."""
    more = lambda name: [rows.encode()] if name == "Dépenses" else []  # noqa: E731
    return lambda path, shop: save_ods(path, plain_sheets(fill), more)


def shared_strings_claim(data: bytes) -> bytes:
    """sharedStrings.xml declaring 99 999 999 999 strings (calamine reserves room for each)."""

    def claim(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
        zout.writestr(info, re.sub(rb'uniqueCount="\d+"', b'uniqueCount="99999999999"', original))

    return rewrite_zip(data, {"xl/sharedStrings.xml": claim})


def newlines_amount(data: bytes) -> bytes:
    """Dépenses!E3 holding « 1 », 40 000 line breaks, « 2 » (a quadratic pattern took more
    than 20 s on it)."""

    def edit(zout: zipfile.ZipFile, info: zipfile.ZipInfo, original: bytes) -> None:
        text = "1" + "\n" * 40_000 + "2"
        cell = f'<c r="E3" t="inlineStr"><is><t>{text}</t></is></c>'.encode()
        zout.writestr(info, re.sub(rb'<c r="E3"[^>]*>.*?</c>', cell, original, count=1))

    return rewrite_zip(data, {sheet_member(data, "Dépenses"): edit})


def header_flood(sheets: dict) -> None:
    """« Montant prévu (€) » typed across 2 000 columns of the budget's header."""
    sheets["Budget prévisionnel"][1] += ["Montant prévu (€)"] * 2_000


def date_out_of_range(wb: openpyxl.Workbook) -> None:
    """A huge negative number in a date-formatted cell: python-calamine panics on it."""
    cell = wb["Dépenses"]["B3"]
    cell.value, cell.number_format = -1e300, "dd/mm/yyyy"


def xls_records(fill: Remplissage, damage: Callable[[bytearray, dict], None]) -> Maker:
    """An .xls saved by LibreOffice whose BIFF records `damage(stream, sheets)` changes in
    place (sheets: name -> offset of its BOF in the Workbook stream)."""
    import olefile  # installed with msoffcrypto-tool

    def make(path: Path, shop: Workshop) -> None:
        convert(shop, shop.template(fill), "xls", path)
        ole = olefile.OleFileIO(str(path), write_mode=True)
        stream = bytearray(ole.openstream("Workbook").read())
        sheets = {}
        for at, kind, _size in biff_records(stream):
            if kind == 0x0085:  # BOUNDSHEET8: BOF offset, then the name (1 byte length, flag)
                length, wide = stream[at + 10], stream[at + 11]
                raw = stream[at + 12 : at + 12 + (2 * length if wide else length)]
                name = raw.decode("utf-16-le" if wide else "latin-1")
                sheets[name] = struct.unpack_from("<I", stream, at + 4)[0]
            elif kind == 0x000A:  # EOF of the globals
                break
        damage(stream, sheets)
        ole.write_stream("Workbook", bytes(stream))
        ole.close()

    return make


def biff_records(stream: bytes, start: int = 0) -> Iterator[tuple[int, int, int]]:
    """(offset, record type, body size) of each record from `start`."""
    at = start
    while at + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, at)
        yield at, kind, size
        at += 4 + size


def far_xls_cell(stream: bytearray, sheets: dict) -> None:
    """The first number of Dépenses moved to row 65 536, column 65 536 (calamine allocates
    the whole grid: 137 GB)."""
    for at, kind, _size in biff_records(stream, sheets["Dépenses"]):
        if kind in (0x0203, 0x027E, 0x00FD):  # NUMBER, RK, LABELSST: row, column first
            stream[at + 4 : at + 8] = b"\xff\xff\xff\xff"
            return
    raise AssertionError("aucune cellule dans Dépenses")


def short_codepage(stream: bytearray, sheets: dict) -> None:
    """The CODEPAGE record declares one byte instead of two: python-calamine panics."""
    for at, kind, size in biff_records(stream):
        if kind == 0x0042:
            assert size == 2
            stream[at + 2 : at + 4] = b"\x01\x00"
            return
    raise AssertionError("pas d'enregistrement CODEPAGE")


def with_vba(data: bytes) -> bytes:
    """A macro-enabled workbook (.xlsm): a VBA project in the archive."""
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/vbaProject.bin", random.Random(3).randbytes(2048))
    return buf.getvalue()


def converted(fill: Remplissage, fmt: str) -> Maker:
    return lambda path, shop: convert(shop, shop.template(fill), fmt, path)


def own_outputs(path: Path, shop: Workshop, kind: str) -> None:
    """A bilan, or an annotated copy, written by this tool for another small folder."""
    from mentorat_budget.batch import discover, run_batch
    from mentorat_budget.write.annotate import annotate
    from mentorat_budget.write.bilan import Run, write_bilan

    folder = shop.work / f"lot-{kind}"
    folder.mkdir()
    fill = fill_for("0750654D")
    fill.lignes["depenses"][2]["montant"] = "douze euros"
    write_template(folder / "a.xlsx", shop.rules, fill)
    results, rules = run_batch(discover([folder]), shop.rules, jobs=1)
    if kind == "bilan":
        write_bilan(path, results, rules, Run([folder.name]))
    else:
        annotate(folder / "a.xlsx", path, results[0].anomalies, None)


CSV = "UAI;Nom;Dotation\n0750655E;Lycée professionnel Test;10 000,00\n"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# ------------------------------------------------------------------------- cases


def cases() -> list[Case]:
    """Every file of the corpus and what the user must see (nothing is written here)."""
    out: list[Case] = []
    uai = uais()

    def add(name: str, what: str, statut: str, make: Maker, *expect: Expect, **kw) -> None:
        out.append(Case(name, what, statut, make, tuple(expect), **kw))

    def readable(name, what, statut, fill, make, *expect, lus=BASE_LUS, codes=BASE_CODES, **kw):
        add(name, what, statut, make, *expect, lus=lus, uai=fill.etablissement.get("uai"),
            codes=codes, **kw)  # fmt: skip

    valid = fill_for("0750655E")  # the bytes of unreadable files never reach the bilan

    # -- The file itself: unreadable, one anomaly on the file, no sheet, no cell.
    add("vide.xlsx", "fichier vide", ILLISIBLE, write_bytes(b""), Expect("FIC-VIDE"))
    add("octets-au-hasard.xlsx", "64 Ko d'octets au hasard", ILLISIBLE,
        write_bytes(random.Random(7).randbytes(64 * 1024)), Expect("FIC-FORMAT"))  # fmt: skip
    add("zip-tronque.xlsx", "classeur tronqué (téléchargement interrompu)", ILLISIBLE,
        transformed(valid, truncated), Expect("FIC-CORROMPU"))  # fmt: skip
    add("export-csv.xlsx", "CSV renommé en .xlsx", ILLISIBLE, write_bytes(CSV.encode()),
        Expect("FIC-FORMAT", fragment="texte ou CSV"))  # fmt: skip
    add("chiffre.xlsx", "classeur protégé par un mot de passe (msoffcrypto-tool)", ILLISIBLE,
        transformed(valid, encrypted), Expect("FIC-CHIFFRE"))  # fmt: skip
    add("ancien-abime.xls", "en-tête .xls suivi d'octets au hasard", ILLISIBLE,
        write_bytes(OLE_MAGIC + random.Random(8).randbytes(8192)),
        Expect("FIC-CORROMPU"))  # fmt: skip
    add("archive-zip.xlsx", "archive zip qui ne contient pas de classeur", ILLISIBLE,
        zip_not_a_workbook, Expect("FIC-FORMAT"))  # fmt: skip
    add("membre-abime.xlsx", "données compressées de la feuille Dépenses abîmées", ILLISIBLE,
        transformed(valid, damaged_member), Expect("FIC-CORROMPU"))  # fmt: skip
    add("trop-gros.xlsx", "fichier de 31 Mo", ILLISIBLE, too_big, Expect("FIC-TAILLE"))

    # -- Bombs: refused before parsing; the message names the member at fault.
    add("bombe-1-gio.xlsx", "bombe zip : la feuille Dépenses fait 1 Gio une fois "
        "décompressée (1 Mo compressé)", ILLISIBLE, transformed(valid, gigabyte_bomb),
        Expect("FIC-COMPRESSION", fragment="xl/worksheets/sheet7.xml"))  # fmt: skip
    add("bombe-entete.xlsx", "en-têtes zip qui annoncent un membre de 4 Gio", ILLISIBLE,
        transformed(valid, declared_bomb),
        Expect("FIC-COMPRESSION", fragment="xl/media/image1.png"))  # fmt: skip
    add("entites-xml.xlsx", "expansion d'entités XML (« billion laughs ») dans "
        "sharedStrings.xml", ILLISIBLE, transformed(valid, billion_laughs),
        Expect("FIC-CORROMPU"))  # fmt: skip
    add("entite-externe.xlsx", "entité XML externe (XXE) vers un fichier local", ILLISIBLE,
        external_entity, Expect("FIC-CORROMPU"))  # fmt: skip

    # -- Sheets too big for the reader: refused by name, the rest of the workbook is read.
    fill = fill_for(next(uai))
    readable("million-lignes.xlsx", "feuille Dépenses remplie jusqu'à la ligne 1 048 576",
             A_CORRIGER, fill, transformed(fill, million_rows_xlsx),
             Expect("FIC-LIGNES", "Dépenses"), lus=0)  # fmt: skip
    fill = fill_for(next(uai))
    # An .ods is parsed whole when opened: one sheet too big and the file is refused.
    add("million-lignes.ods", ".ods dont la feuille Dépenses a 1 048 576 lignes "
        "différentes", ILLISIBLE, million_rows_ods(fill),
        Expect("FIC-LIGNES", "Dépenses"))  # fmt: skip
    fill = fill_for(next(uai))
    readable("grille-geante.xlsx", "une cellule en XFD40000 : une grille de 655 millions "
             "de cellules", A_CORRIGER, fill,
             from_workbook(fill, lambda wb: wb["Dépenses"].__setitem__("XFD40000", "x")),
             Expect("FIC-LIGNES", "Dépenses"), lus=0)  # fmt: skip

    # Written as no application writes them: not measured, the isolation answers (its
    # allocation fails in the child process that parses).
    for name, tag in (
        ("r-double", '<c r="A9000" r="XFD1048576"'),
        ("r-apostrophes", "<c r='XFD1048576'"),
        ("r-espaces", '<c r = "XFD1048576"'),
        ("r-prefixe", '<x:c xmlns:x="urn:x" r="XFD1048576"'),
    ):
        fill = fill_for(next(uai))
        add(f"grille-geante-{name}.xlsx", f"une cellule en XFD1048576 écrite {tag}",
            ILLISIBLE, transformed(fill, far_cell(tag)),
            Expect("FIC-RESSOURCES", fragment="de mémoire"))  # fmt: skip

    # -- Contained (issue 12 §3): each costs its own file, never the command or the batch.
    repeated = {
        "apostrophes": f"<table:table-row table:number-rows-repeated='3000000'>{ODS_VALUE}"
        "</table:table-row>",
        "espaces": f'<table:table-row table:number-rows-repeated = "3000000" >{ODS_VALUE}'
        "</table:table-row>",
        "lignes-vides-puis-valeur": '<table:table-row table:number-rows-repeated="1000000">'
        f"<table:table-cell/></table:table-row><table:table-row>{ODS_VALUE}</table:table-row>",
        "colonnes": '<table:table-row table:number-rows-repeated="1000"><table:table-cell '
        'table:number-columns-repeated="100000" office:value-type="string"><text:p>x'
        "</text:p></table:table-cell></table:table-row>",
    }
    for name, rows in repeated.items():
        add(f"ods-repetition-{name}.ods", f".ods, répétition de lignes ou de cellules : {name}",
            ILLISIBLE, ods_with(fill_for(next(uai)), rows),
            Expect("FIC-LIGNES", "Dépenses"))  # fmt: skip
    spaces = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>a'
        '<text:s text:c="1000000000"/>b</text:p></table:table-cell></table:table-row>'
    )
    add("ods-espaces-repetes.ods", ".ods, une cellule de 1 000 000 000 espaces (text:s)",
        ILLISIBLE, ods_with(fill_for(next(uai)), spaces),
        Expect("FEU-ILLISIBLE", "Dépenses", fragment="espaces"))  # fmt: skip
    add("textes-partages-annonces.xlsx", "sharedStrings.xml annonce 99 999 999 999 textes",
        ILLISIBLE, transformed(fill_for(next(uai)), shared_strings_claim),
        Expect("FIC-CORROMPU", fragment="sharedStrings.xml annonce"))  # fmt: skip
    add("date-hors-mesure.xlsx", "une date de -1E+300 jours (calamine panique)", ILLISIBLE,
        from_workbook(fill_for(next(uai)), date_out_of_range),
        Expect("FIC-CORROMPU", "Dépenses"))  # fmt: skip
    add("ancien-format-panique.xls", ".xls dont l'enregistrement CODEPAGE est tronqué "
        "(calamine panique)", ILLISIBLE, xls_records(fill_for(next(uai)), short_codepage),
        Expect("FIC-CORROMPU"), soffice=True)  # fmt: skip
    add("ancien-format-grille-geante.xls", ".xls dont une cellule est en ligne et colonne "
        "65 536", ILLISIBLE, xls_records(fill_for(next(uai)), far_xls_cell),
        Expect("FIC-RESSOURCES", fragment="de mémoire"), soffice=True)  # fmt: skip
    fill = fill_for(next(uai))
    readable("montant-sauts-de-ligne.xlsx", "un montant de 40 000 sauts de ligne entre 1 et 2",
             A_CORRIGER, fill, transformed(fill, newlines_amount),
             Expect("VAL-MONTANT", "Dépenses", "E3"), lus=1_280 + 12_345)  # fmt: skip
    fill = fill_for(next(uai))
    readable("entete-repete.xlsx", "« Montant prévu (€) » répété sur 2 000 colonnes",
             VALIDE, fill, from_sheets(fill, header_flood),
             Expect("COL-DOUBLON", "Budget prévisionnel", "D2"),
             Expect("FEU-ANOMALIES", "Budget prévisionnel",
                    fragment="1\u202f950 autres anomalies COL-DOUBLON"))  # fmt: skip

    # -- Sheets, rubriques and columns missing in turn.
    for sheet in (ETABLISSEMENT, *TABLES):
        if not sheet.required:
            continue
        fill = fill_for(next(uai))
        readable(f"feuille-manquante-{slug(sheet.name)}.xlsx", f"feuille « {sheet.name} » "
                 "absente", A_CORRIGER, fill,
                 from_sheets(fill, lambda s, name=sheet.name: s.pop(name)),
                 Expect("FEU-MANQUANTE", sheet.name),
                 lus=0 if sheet.key == "depenses" else BASE_LUS)  # fmt: skip
        if sheet is ETABLISSEMENT:
            out[-1].uai = None
    for column in ETABLISSEMENT.columns:
        if not column.required:
            continue

        def drop_rubrique(sheets: dict, header: str = column.header) -> None:
            rows = sheets["Établissement"]
            rows[:] = [row for row in rows if row[0] != header]

        fill = fill_for(next(uai))
        readable(
            f"rubrique-manquante-{slug(column.header)[:30]}.xlsx",
            f"rubrique « {column.header} » absente",
            A_CORRIGER,
            fill,
            from_sheets(fill, drop_rubrique),
            Expect("RUB-MANQUANTE", "Établissement"),
        )
        if column.key == "uai":
            out[-1].uai = None
    for sheet in TABLES:
        for i, column in enumerate(sheet.columns):
            if not column.required:
                continue

            def drop_column(sheets: dict, name: str = sheet.name, i: int = i) -> None:
                for row in sheets[name][1:]:
                    del row[i]

            fill = fill_for(next(uai))
            no_amount = (sheet.key, column.key) == ("depenses", "montant")
            readable(f"colonne-manquante-{slug(sheet.name)}-{slug(column.header)}.xlsx",
                     f"colonne « {column.header} » absente de {sheet.name}", A_CORRIGER, fill,
                     from_sheets(fill, drop_column), Expect("COL-MANQUANTE", sheet.name, "A2"),
                     lus=0 if no_amount else BASE_LUS)  # fmt: skip

    def renamed(sheets: dict) -> None:
        sheets["Établissement"][1] = ["RUBRIQUE", "valeur"]
        sheets["DEPENSES"] = sheets.pop("Dépenses")
        sheets["DEPENSES"][1] = [
            "n° de PIECE", " DATE ", "categorie", "LIBELLE", "montant  (€)", "Paye a",
            "justificatif", "SERVICE FAIT VERIFIE", "code  mentor", "mode de transport",
            "KILOMETRES", "puissance fiscale (cv)", "autre financement PUBLIC",
        ]  # fmt: skip
        sheets["eleves"] = sheets.pop("Élèves")
        sheets["eleves"][1] = [h.upper() for h in sheets["eleves"][1]]

    fill = fill_for(next(uai))
    readable("entetes-renommes.xlsx", "feuilles et en-têtes renommés (casse, accents, espaces, "
             "unité)", VALIDE, fill, from_sheets(fill, renamed))  # fmt: skip

    def doubled(sheets: dict) -> None:
        sheets["Dépenses"][1].append("LIBELLÉ")  # column N: a second Libellé
        for row in sheets["Dépenses"][2:]:
            row.append("autre texte")
        sheets["Mentors"][1][3] = "code mentor"  # Structure (D) headed like column A

    fill = fill_for(next(uai))
    readable("entetes-doubles.xlsx", "en-têtes en double", VALIDE, fill,
             from_sheets(fill, doubled), Expect("COL-DOUBLON", "Dépenses", "N2"),
             Expect("COL-DOUBLON", "Mentors", "D2"))  # fmt: skip

    # -- Cells.
    fill = fill_for(next(uai))
    readable("cellules-fusionnees.xlsx", "« Payé à » fusionnée sur deux lignes", VALIDE, fill,
             from_workbook(fill, lambda wb: wb["Dépenses"].merge_cells("F3:F4")),
             Expect("VAL-FUSION", "Dépenses", "F3"))  # fmt: skip

    def formulas(sheets: dict) -> None:
        sheets["Dépenses"][4][4] = "=100+23.45"  # E5, required
        sheets["Dépenses"][3][1] = "=DATE(2024,11,5)"  # B4, required
        sheets["Établissement"][8][1] = "=2000+500"  # B9, the report: optional

    fill = fill_for(next(uai))
    readable("formules-sans-valeur.xlsx", "formules écrites par openpyxl, jamais calculées",
             A_CORRIGER, fill, from_sheets(fill, formulas),
             Expect("VAL-FORMULE", "Dépenses", "E5"), Expect("VAL-FORMULE", "Dépenses", "B4"),
             Expect("*", "Établissement", "B9"), lus=150_000 + 1_280,
             report=250_000)  # fmt: skip

    def errors(sheets: dict) -> None:
        sheets["Dépenses"][4][4] = "#DIV/0!"  # E5, required
        sheets["Dépenses"][2][1] = "#N/A"  # B3, required
        sheets["Établissement"][8][1] = "#VALUE!"  # B9, the report: optional

    fill = fill_for(next(uai))
    readable("cellules-en-erreur.xlsx", "cellules en erreur (#DIV/0!, #N/A, #VALUE!)",
             A_CORRIGER, fill, from_sheets(fill, errors),
             Expect("VAL-ERREUR", "Dépenses", "E5", "#DIV/0!"),
             Expect("VAL-ERREUR", "Dépenses", "B3", "#N/A"),
             Expect("*", "Établissement", "B9"), lus=150_000 + 1_280)  # fmt: skip

    fill = fill_for(next(uai))
    texts = ["15/10/2024", "2024-11-05", "20.01.2025", "3 février 2025", "07/03/25"]
    fill.lignes["depenses"] += [
        {"piece": f"T{i}", "categorie": "Communication", "montant": 1_000, "justificatif": True}
        for i in (4, 5, 6)
    ]
    for line, text in zip(fill.lignes["depenses"], [*texts, "03/15/2025"], strict=True):
        line["date"] = text
    readable("dates-en-texte.xlsx", "dates saisies en texte, cinq formats (et une date à "
             "l'américaine)", A_CORRIGER, fill, from_sheets(fill),
             Expect("VAL-DATE", "Dépenses", "B8"), lus=BASE_LUS + 3_000)  # fmt: skip

    spaces = {
        "U+0020": " ", "U+00A0": "\u00a0", "U+202F": "\u202f", "U+2009": "\u2009",
        "U+2007": "\u2007", "U+2008": "\u2008", "U+200A": "\u200a", "tabulation": "\t",
    }  # fmt: skip
    fill = fill_for(next(uai))
    fill.lignes["depenses"][2:] = [
        {"piece": f"S{i}", "date": "12/03/2025", "categorie": "Communication",
         "libelle": f"séparateur {label}", "montant": f"1{sep}234,56{sep}€",
         "justificatif": True}
        for i, (label, sep) in enumerate(spaces.items())
    ]  # fmt: skip
    readable("espaces-dans-les-nombres.xlsx", "montants en texte avec chaque espace de "
             "groupement", VALIDE, fill, from_sheets(fill),
             lus=150_000 + 1_280 + len(spaces) * 123_456)  # fmt: skip

    absurd = [
        (-5_000, "VAL-AVOIR"),  # -50,00 € typed as a number: a credit note
        ("-12,50 €", "VAL-AVOIR"),
        (1e15, "VAL-MONTANT"),  # a million billion euros
        (1e308, "VAL-MONTANT"),
        ("9,99E+307", "VAL-MONTANT"),
        (0.001, "VAL-POSITIF"),  # a tenth of a cent: 0,00 €
        ("999 999 999,99", None),  # absurd but readable: counted, to the cent
    ]
    fill = fill_for(next(uai))
    fill.etablissement["dotation"] = -100_000
    fill.lignes["depenses"] += [
        {"piece": f"N{i}", "date": "12/03/2025", "categorie": "Communication", "montant": m,
         "justificatif": True}
        for i, (m, _) in enumerate(absurd)
    ]  # fmt: skip
    readable("montants-absurdes.xlsx", "montants négatifs, gigantesques, infimes", A_CORRIGER,
             fill, from_sheets(fill), Expect("VAL-NEGATIF", "Établissement", "B7"),
             *(Expect(code, "Dépenses", f"E{6 + i}") for i, (_, code) in enumerate(absurd)
               if code),
             lus=BASE_LUS + 99_999_999_999)  # fmt: skip

    fill = fill_for(next(uai))
    # (codes with a leading zero: never mistaken for a cell reference such as M99)
    fill.lignes["eleves"][0]["mentor"] = "M099"
    fill.lignes["mentors"][0]["partenaire"] = "P099"
    fill.lignes["budget"][1]["partenaire"] = "P098"
    fill.lignes["depenses"][1]["mentor"] = "M098"
    fill.lignes["rencontres"][0]["mentor"] = "M097"
    fill.lignes["rencontres"][1]["eleves"] = "E001; E0999"
    readable("codes-orphelins.xlsx", "codes qui ne renvoient à rien", A_CORRIGER, fill,
             from_template(fill), Expect("VAL-REFERENCE", "Élèves", "E3"),
             Expect("VAL-REFERENCE", "Mentors", "E3"),
             Expect("VAL-REFERENCE", "Budget prévisionnel", "A4"),
             Expect("VAL-REFERENCE", "Dépenses", "I4"),
             Expect("VAL-REFERENCE", "Rencontres", "B3"),
             Expect("VAL-REFERENCE", "Rencontres", "C4"),
             codes=BASE_CODES | {"M099", "M098", "M097", "E0999"})  # fmt: skip

    fill = fill_for(next(uai))
    fill.etablissement["nom"] = '=HYPERLINK("https://corpus.invalid/nom","Lycée")'
    # (no receipt: the line is rejected, so its libellé reaches the bilan)
    fill.lignes["depenses"][2].update(libelle=HYPERLINK_TEXT, paye_a=URL_TEXT, justificatif=False)
    fill.lignes["depenses"][1]["montant"] = FORMULA_TEXT
    fill.lignes["mentors"][0]["structure"] = DDE_TEXT
    readable("texte-formule.xlsx", "texte qui ressemble à une formule, un lien, un appel DDE",
             A_CORRIGER, fill, from_template(fill), Expect("VAL-MONTANT", "Dépenses", "E4"),
             lus=150_000 + 12_345)  # fmt: skip

    fill = fill_for(next(uai))
    fill.etablissement["eleves_prevus"] = "vingt"
    fill.lignes["mentors"][0]["heures"] = "douze"
    fill.lignes["depenses"][1]["km"] = "quarante"
    fill.lignes["rencontres"][0]["duree"] = "1 h 30"
    readable("texte-dans-les-nombres.xlsx", "texte dans des colonnes de nombres", A_CORRIGER,
             fill, from_template(fill), Expect("VAL-ENTIER", "Établissement", "B8"),
             Expect("VAL-NOMBRE", "Mentors", "J3"), Expect("VAL-NOMBRE", "Dépenses", "K4"),
             Expect("VAL-NOMBRE", "Rencontres", "G3"))  # fmt: skip

    fill = fill_for(next(uai))
    fill.etablissement["nom"] = "Lycée « Émile-Zola » — Saint-Étienne-du-Rouvray\u00a0"
    fill.lignes["depenses"][0]["libelle"] = "Versement \u202e\U0001f4b6\u200b \x7f fin"
    fill.lignes["depenses"][2]["libelle"] = ("Très long libellé " * 2000)[:32_000]
    readable("textes-extremes.xlsx", "libellé de 32 000 caractères, émoji, caractères de "
             "contrôle", VALIDE, fill, from_template(fill))  # fmt: skip

    fill = fill_for("0750655A")  # wrong key letter: no UAI, named like the case below
    readable("uai-invalide.xlsx", "UAI dont la lettre clé est fausse", A_CORRIGER, fill,
             from_template(fill), Expect("VAL-UAI", "Établissement", "B3"))  # fmt: skip
    out[-1].uai = None

    # -- Formats: .xls and .ods saved by LibreOffice, .xlsm, a wrong extension.
    fill = fill_for(next(uai))
    fill.lignes["depenses"][2]["montant"] = "douze euros"
    readable("ancien-format.xls", "format Excel 97-2003, enregistré par LibreOffice",
             A_CORRIGER, fill, converted(fill, "xls"), Expect("VAL-MONTANT", "Dépenses", "E5"),
             lus=150_000 + 1_280, soffice=True)  # fmt: skip
    fill = fill_for(next(uai))
    fill.lignes["depenses"][0]["date"] = "31/02/2025"
    readable("libreoffice.ods", "format OpenDocument, enregistré par LibreOffice", A_CORRIGER,
             fill, converted(fill, "ods"), Expect("VAL-DATE", "Dépenses", "B3"),
             soffice=True)  # fmt: skip
    fill = fill_for(next(uai))
    readable("macros.xlsm", "classeur avec macros (.xlsm)", VALIDE, fill,
             transformed(fill, with_vba))  # fmt: skip
    fill = fill_for(next(uai))
    readable("mauvaise-extension.xls", "classeur .xlsx renommé en .xls", VALIDE, fill,
             from_template(fill))  # fmt: skip

    # -- Found by the fuzzer (tests/fuzz): a reproducer per class, in tests/corpus/fuzzed.py.
    from tests.corpus import fuzzed

    fuzzed.cases(add, readable, uai)

    # -- The batch: a valid witness, the same UAI twice, our own outputs.
    fill = fill_for(next(uai))
    readable("reference-valide.xlsx", "classeur valide (témoin)", VALIDE, fill,
             from_template(fill))  # fmt: skip
    fill = fill_for(next(uai))
    readable("uai-en-double-1.xlsx", "premier classeur d'une UAI", VALIDE, fill,
             from_template(fill))  # fmt: skip
    second = copy.deepcopy(fill)
    second.etablissement["nom"] = "Lycée renvoyé deux fois"
    readable("uai-en-double-2.xlsx", "la même UAI dans un second classeur", VALIDE, second,
             from_template(second), bilan_statut=DOUBLON,
             bilan_expect=(Expect("ETA-DOUBLON", "Établissement", "B3"),))  # fmt: skip
    add("bilan-2024.xlsx", "notre propre bilan déposé dans le dossier", ILLISIBLE,
        lambda path, shop: own_outputs(path, shop, "bilan"),
        Expect("FIC-FORMAT", fragment="bilan, fiche ou notification écrit par "
               "mentorat-budget"), ours=True)  # fmt: skip
    add("copie-annotee.xlsx", "une de nos copies annotées déposée dans le dossier",
        A_CORRIGER, lambda path, shop: own_outputs(path, shop, "copie"),
        Expect("VAL-MONTANT", "Dépenses", "E5"), ours=True)  # fmt: skip
    return out


def build(folder: Path, soffice: list[str] | None = None) -> list[Case]:
    """Write the corpus into `folder` (created, must be empty); returns its cases.

    `soffice`: the LibreOffice command, with a throwaway profile (found on the PATH when
    not given). Without LibreOffice, the .xls and .ods cases it makes are left out.
    A secret file for the external-entity case is written beside the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    assert not any(folder.iterdir()), f"{folder} n'est pas vide"
    made = []
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        work = Path(tmp)
        shop = Workshop(work, soffice or soffice_command(work / "lo-profile"))
        for case in cases():
            if case.soffice and shop.soffice is None:
                continue
            case.make(folder / case.name, shop)
            made.append(case)
    assert sorted(p.name for p in folder.iterdir()) == sorted(c.name for c in made)
    return made


def main() -> None:
    import time

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    start = time.monotonic()
    made = build(target)
    for case in made:
        size = os.path.getsize(target / case.name)
        expected = ", ".join(map(str, case.expect)) or "—"
        print(f"{case.name:<56} {size:>10} o  {case.statut:<10}  {expected}")
    print(f"{len(made)} fichiers écrits dans {target} en {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
