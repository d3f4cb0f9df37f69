"""File -> raw sheets: format detection, limits checked before parsing, calamine.

Nothing here raises on bad input: a file that cannot be read gives `None` and a
file-level anomaly (the workbook is then `Illisible`); a sheet over the limits is
left out with an anomaly naming it.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .anomalies import Anomalies
from .schema import IGNORED_SHEETS, sheet_for_name
from .values import norm, thousands

MiB = 1024 * 1024
MAX_FILE_BYTES = 30 * MiB  # a filled workbook is well under 1 MiB
MAX_MEMBER_BYTES = 200 * MiB  # declared uncompressed size of one zip member
MAX_TOTAL_BYTES = 400 * MiB  # declared uncompressed size of all members
MAX_RATIO = 150  # uncompressed / compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 4 * MiB
MAX_ROWS = 50_000  # rows of one sheet
MAX_CELLS = 1_500_000  # rows × columns of one sheet, as calamine allocates them (> 50 000 × Z)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")
# What zipfile raises on damaged or unusual archives (RuntimeError: encrypted member,
# NotImplementedError: unknown compression method).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    RuntimeError,
    NotImplementedError,
)


@dataclass
class RawSheet:
    name: str  # as the user named it
    rows: list[list]  # cell values as calamine gives them; rows[0] is row 1
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    special: dict[str, tuple[str, str]] = field(default_factory=dict)  # see special_cells


@dataclass
class RawWorkbook:
    path: Path
    format: str
    sha256: str
    sheet_names: list[str]
    sheets: dict[str, RawSheet] = field(default_factory=dict)  # schema key -> sheet


def limits() -> str:
    """The limits of one sheet, as FIC-LIGNES states them."""
    return f"{thousands(MAX_ROWS)} lignes et {thousands(MAX_CELLS)} cellules"


def _human(size: int) -> str:
    return f"{size / MiB:.0f} Mo" if size >= MiB else f"{size / 1024:.0f} Ko"


# ----------------------------------------------------------------- zip checks


def _unescape(raw: bytes) -> str:
    """An attribute's text, its entities decoded (&amp;, &#233;…) as an XML reader does."""
    return html.unescape(raw.decode("utf-8", "replace"))


class Unsupported(zipfile.BadZipFile):
    """A member stored in a way calamine does not read: encrypted, or compressed other
    than by deflate (zipfile would inflate bzip2 and lzma without bound)."""


def _readable(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 1:
        raise Unsupported(f"{info.filename} : contenu chiffré")
    if info.compress_type not in _INFLATED:
        raise Unsupported(f"{info.filename} : méthode de compression non prise en charge")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The member's bytes, never more than its declared size (a lying header is refused)."""
    _readable(info)
    # the archive is read from bytes in memory (getvalue shares them, no copy)
    if isinstance(archive.fp, io.BytesIO):
        return _inflate(archive.fp.getvalue(), info)
    with archive.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise zipfile.BadZipFile("taille déclarée inexacte")
    return data


_INFLATED = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _inflate(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """_read_member straight from the archive's bytes: zipfile's checks (local header,
    name, size, CRC) at a third of its cost per member (a workbook has about 35)."""
    start = info.header_offset
    header = data[start : start + 30] if start >= 0 else b""
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("en-tête local manquant")
    name_len = int.from_bytes(header[26:28], "little")
    begin = start + 30 + name_len + int.from_bytes(header[28:30], "little")
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    if data[start + 30 : start + 30 + name_len] != info.orig_filename.encode(encoding):
        raise zipfile.BadZipFile("nom différent dans l'en-tête local")
    raw = memoryview(data)[begin : begin + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(raw[: info.file_size + 1])
    else:
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(raw, info.file_size + 1)
        if len(out) == info.file_size and not inflater.eof:
            raise zipfile.BadZipFile("flux compressé incomplet")
    if len(out) != info.file_size:
        raise zipfile.BadZipFile("taille déclarée inexacte")
    if zlib.crc32(out) != info.CRC:
        raise zipfile.BadZipFile("somme de contrôle inexacte")
    return out


_ID_RE = re.compile(r"[A-Za-z0-9_.-]+")  # as every spreadsheet writes them (rId1)


class Ambiguous(Exception):
    """A workbook whose sheets calamine might find otherwise than this module does."""


def _parse_xml(xml: bytes, error: type[Exception], start) -> None:
    """Parse with expat and this handler. A DOCTYPE (so no entity is ever expanded),
    malformed XML or an encoding Python cannot decode raise `error`, with a French reason."""
    from xml.parsers import expat

    parser = expat.ParserCreate()

    def no_doctype(*_args) -> None:
        raise error("déclaration de type de document (DOCTYPE)")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = no_doctype
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as failure:
        raise error(f"XML mal formé à la ligne {failure.lineno}") from None
    except (LookupError, ValueError):
        raise error("encodage du XML inconnu") from None


def _elements(xml: bytes, *locals_: str) -> dict[str, list[dict[str, str]]]:
    """Per local name, the attributes (qualified names as written, entities decoded) of
    every element of that name, as an XML parser sees them (comments and `>` in values
    included), in one parse."""
    found: dict[str, list[dict[str, str]]] = {name: [] for name in locals_}

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local in found:
            found[local].append(attrs)

    _parse_xml(xml, Ambiguous, start)
    return found


def _sheet_members(archive: zipfile.ZipFile) -> list[tuple[str, str | None]]:
    """(sheet name, zip member of its XML or None), in the workbook's order. Raises
    Ambiguous where calamine could read the structure otherwise: two sheets of one name,
    two relationship ids on a sheet, an entity in a target (calamine takes it raw)."""
    try:
        workbook = _read_member(archive, archive.getinfo("xl/workbook.xml"))
        rels = _read_member(archive, archive.getinfo("xl/_rels/workbook.xml.rels"))
    except KeyError:
        return []
    if b"&" in rels:
        raise Ambiguous("entité dans les relations du classeur")
    # calamine stops at the first end of these lists: a second one would be read by us only
    in_rels = _elements(rels, "Relationships", "Relationship")
    in_workbook = _elements(workbook, "sheets", "sheet")
    if len(in_rels["Relationships"]) != 1 or len(in_workbook["sheets"]) > 1:
        raise Ambiguous("liste de feuilles ou de relations en double")
    relations = in_rels["Relationship"]
    if any(not _ID_RE.fullmatch(a.get("Id", "")) for a in relations):
        raise Ambiguous("identifiant de relation inhabituel")
    targets = {a["Id"]: a.get("Target", "") for a in relations}
    by_name = {}
    for n in archive.namelist():
        by_name.setdefault(n.replace("\\", "/").lower(), []).append(n)
    members: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for attrs in in_workbook["sheet"]:
        ids = [v for k, v in attrs.items() if k in ("r:id", "relationships:id")]
        name = attrs.get("name")
        if name is None or len(ids) != 1 or not _ID_RE.fullmatch(ids[0]):
            raise Ambiguous(f"feuille « {name or 'sans nom'} » sans référence unique")
        if name in seen:
            raise Ambiguous(f"deux feuilles nommées « {name} »")
        seen.add(name)
        target = targets.get(ids[0], "").replace("\\", "/")
        path = target[1:] if target.startswith("/") else "xl/" + target
        found = by_name.get(path.lower(), [])
        members.append((name, found[0] if len(found) == 1 and target else None))
    return members


# calamine places each cell by its own `r` and allocates the whole rectangle up to the
# farthest cell: one cell at XFD1048576 and the process aborts (contained, isolation.py).
# The measure is for the message: a sheet that a spreadsheet application saved with
# cells far away is refused by name (FIC-LIGNES), and the rest of the workbook is read.
#
# The usual layout, as Excel, LibreOffice, openpyxl and XlsxWriter write it: no tag with a
# namespace prefix, and every cell tag written `<c r="A1"` with a reference within A1:Z9999,
# then only double-quoted attributes in lower case, none of them starting with r. Any
# other sheet is measured by the references written that way; the cells written otherwise
# (hostile files: no application writes them) are left to the isolation.
FAST_BOUND = (9_999, 26)
_PREFIXED_TAG_RE = re.compile(rb":(?:c|row)[\s>/]")
_UNUSUAL_CELL_RE = re.compile(
    rb'<c(?! r="[A-Z][0-9]{1,4}"(?: [a-qs-z][\w:]*+="[^"<]*+")*+/?>)[\s>/]'
)
_WIDE_RE = re.compile(rb'<c r="([A-Z]{2,3})[0-9]')  # beyond Z: rare
_NARROW_RE = re.compile(rb'<c r="([A-Z])[0-9]')
_LAST_ROW_RE = re.compile(rb'<(?:row|c) r="[A-Z]{0,3}([0-9]{1,9})"')


def sheet_extent(xml: bytes) -> tuple[int, int]:
    """Rows and columns of a worksheet's XML, as its references say.

    The usual layout is proved with two searches and bounded by A1:Z9999 (FAST_BOUND);
    any other sheet is measured by its references (`by_references`)."""
    rows, cols = FAST_BOUND
    within = rows <= MAX_ROWS and rows * cols <= MAX_CELLS  # a bound of use (MAX_* may vary)
    if within and not _PREFIXED_TAG_RE.search(xml) and not _UNUSUAL_CELL_RE.search(xml):
        return FAST_BOUND
    return by_references(xml)


def by_references(xml: bytes) -> tuple[int, int]:
    """The last row and the farthest column that `<row r="N"` and `<c r="XN"` name, as
    applications write them (rows in order): a search from the end, then C-level searches
    of the columns."""
    rows = 0
    for tag in (b'<row r="', b'<c r="'):
        m = _LAST_ROW_RE.match(xml, max(xml.rfind(tag), 0))
        rows = max(rows, int(m[1]) if m else 0)
    letters = set(_WIDE_RE.findall(xml)) or set(_NARROW_RE.findall(xml))
    widest = max(letters, key=lambda b: (len(b), b), default=b"")
    return rows, _col_number(widest.decode())


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


# An .ods is parsed whole by calamine, which expands repeated rows and cells: a row
# repeated with a value in it, empty rows or cells repeated before a value (LibreOffice
# stores a million empty rows as one), a space repeated (`<text:s text:c="…"/>`). The
# repeats are read here with any quoting and spacing (cells and spaces: 100 or more).
_ODS_TABLE_RE = re.compile(
    rb"<table:table\s[^>]{0,4096}?table:name\s*=\s*(?:\"([^\"]*)\"|'([^']*)')"
)
_ODS_CONTENT = (b"office:value-type", b"<text:p", b"table:formula")
_ODS_ROWS_RE = re.compile(rb"number-rows-repeated\s*=\s*[\"']([^\"'<>]{1,32})")
_ODS_CELLS_RE = re.compile(rb"number-columns-repeated\s*=\s*[\"']([^\"'<>]{3,32})")
_ODS_SPACES_RE = re.compile(rb"<text:s\b[^>]{0,256}?text:c\s*=\s*[\"']([^\"'<>]{3,32})")
_LITERALS = {
    _ODS_ROWS_RE: b"number-rows-repeated",
    _ODS_CELLS_RE: b"number-columns-repeated",
    _ODS_SPACES_RE: b"<text:s",
}
MAX_TEXT = 32_767  # characters of one cell, as Excel and LibreOffice keep them
MAX_COLUMNS = 16_384  # XFD: calamine keeps no more


def _repeat(raw: bytes) -> int:
    """A repeat count as calamine reads it (entities decoded), or 1 when it cannot."""
    text = _unescape(raw)
    return int(text) if text.isascii() and text.isdigit() else 1


def _search(pattern: re.Pattern, content: bytes, start: int, end: int) -> Iterable[re.Match]:
    """pattern.finditer from the first occurrence of the text it starts with (found by a
    fast search: the regular expression engine scans a large content.xml slowly)."""
    first = content.find(_LITERALS[pattern], start, end)
    return pattern.finditer(content, first, end) if first >= 0 else ()


def _ods_refusals(content: bytes) -> list[tuple[str, str, str]]:
    """(sheet, anomaly code, detail) of the sheets of an .ods that calamine must not
    expand: more rows or cells than the limits, counted with their repeats up to the last
    value of the sheet, or a space repeated more than a cell holds."""
    found = []
    tables = [(m.start(), _unescape(m[1] or m[2] or b"")) for m in _ODS_TABLE_RE.finditer(content)]
    for i, (start, name) in enumerate(tables):
        end = tables[i + 1][0] if i + 1 < len(tables) else len(content)
        last = max(content.rfind(marker, start, end) for marker in _ODS_CONTENT)
        if last < 0:
            continue  # no value: nothing is expanded
        rows = content.count(b"<table:table-row", start, last) + sum(
            _repeat(m[1]) - 1 for m in _search(_ODS_ROWS_RE, content, start, last)
        )
        width: dict[int, int] = {}  # per row (where it ends): columns its repeats add
        for m in _search(_ODS_CELLS_RE, content, start, last):
            cell = content.rfind(b"<", start, m.start())
            if not content.startswith((b"<table:table-cell", b"<table:covered-table-cell"), cell):
                continue  # a column's style, repeated: no cell
            row_end = content.find(b"</table:table-row", m.end(), end)
            if row_end < 0 or any(content.find(c, cell, row_end) > 0 for c in _ODS_CONTENT):
                width[row_end] = width.get(row_end, 0) + _repeat(m[1]) - 1
        cols = min(1 + max(width.values(), default=0), MAX_COLUMNS)
        spaces = _search(_ODS_SPACES_RE, content, start, end)
        longest = max((_repeat(m[1]) for m in spaces), default=0)
        if rows > MAX_ROWS or rows * cols > MAX_CELLS:
            size = _count(rows, "ligne") + (f" × {_count(cols, 'colonne')}" if cols > 1 else "")
            found.append((name, "FIC-LIGNES", size))
        elif longest > MAX_TEXT:
            found.append((name, "FEU-ILLISIBLE", f"une cellule de {_count(longest, 'espace')}"))
    return found


# Cells that calamine reads as empty but are not: a formula never calculated (openpyxl
# writes formulas without their value) and an error (#DIV/0!), in an OOXML sheet. Both
# searches start from what is rare (a formula, an error type) and look back for its cell.
_FORMULA_NO_VALUE_RE = re.compile(
    rb"<f\b[^<>]*+(?:/>|>[^<]*+</f>)\s*+(?:<v\s*+/>|<v>\s*+</v>)?+\s*+</c>"
)
_ERROR_RE = re.compile(
    rb'\bt="e"[^<>]{0,256}>(?:<f\b[^<>]{0,256}/>|<f\b[^<>]{0,256}>[^<]*+</f>)?<v>([^<]*+)</v>'
)
_CELL_TAG_MAX = 1024  # bytes of a cell's opening tag, at most, looked back for
_CELL_OPEN_RE = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*>\s*')


def _cell_before(xml: bytes, pos: int, adjacent: bool) -> str | None:
    """The reference of the cell whose opening tag holds `pos` (or, `adjacent`, ends right
    before it)."""
    start = xml.rfind(b"<c ", max(0, pos - _CELL_TAG_MAX), pos)  # never back to the start
    m = _CELL_OPEN_RE.match(xml, start) if start >= 0 else None
    if m is None or (m.end() != pos if adjacent else m.end() <= pos):
        return None
    return m[1].decode()


def special_cells(xml: bytes) -> dict[str, tuple[str, str]]:
    """Cell -> (anomaly code, value) for formulas without value and error cells."""
    found: dict[str, tuple[str, str]] = {}
    for m in _FORMULA_NO_VALUE_RE.finditer(xml):
        ref = _cell_before(xml, m.start(), adjacent=True)
        if ref:
            found[ref] = ("VAL-FORMULE", "")
    if b't="e"' in xml:
        for m in _ERROR_RE.finditer(xml):
            ref = _cell_before(xml, m.start(), adjacent=False)
            if ref:
                found[ref] = ("VAL-ERREUR", _unescape(m[1]))
    return found


def _one_archive(data: bytes, infos: list[zipfile.ZipInfo]) -> bool:
    """The file is one zip archive from its first byte to its last: the end record (and
    its comment) closes the file, and the first entry opens it."""
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 + int.from_bytes(data[end + 20 : end + 22], "little") != len(data):
        return False
    return not infos or min(i.header_offset for i in infos) == 0


def _count(n: int, noun: str) -> str:
    return f"{thousands(n)} {noun}{'s' if n > 1 else ''}"


def _oversize(xml: bytes) -> str:
    """Why calamine must not parse this worksheet (the FIC-LIGNES detail), or ""."""
    rows, cols = sheet_extent(xml)
    if rows > MAX_ROWS or rows * cols > MAX_CELLS:
        return f"{_count(rows, 'ligne')} × {_count(cols, 'colonne')}"
    return ""


_SST_COUNT_RE = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*?\buniqueCount\s*=\s*[\"']([^\"'<>]{1,32})")


def _shared_strings_claim(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str:
    """The shared strings a workbook declares, when more than its part could hold
    (calamine reserves room for each before reading one: 24 bytes apiece)."""
    for info in infos:
        if info.filename.replace("\\", "/").lower() != "xl/sharedstrings.xml":
            continue
        with archive.open(info) as f:
            m = _SST_COUNT_RE.search(f.read(4096))
        if m and _repeat(m[1]) > info.file_size // 4:  # `<si/>` takes 5 bytes
            return (
                f"{info.filename} annonce {thousands(_repeat(m[1]))} textes pour "
                f"{_human(info.file_size)}"
            )
    return ""


@dataclass
class ZipFindings:
    format: str
    sheet_names: list[str] = field(default_factory=list)  # in the workbook's order
    measured: set[str] = field(default_factory=set)  # sheets whose XML was measured
    too_big: set[str] = field(default_factory=set)  # sheets over the limits
    special: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # per sheet
    output: str = ""  # what our_output says of it, read from the archive already open


def _check_zip(
    data: bytes, anomalies: Anomalies, key_of: Callable[[str], str | None], skip_ours: bool
) -> ZipFindings | None:
    """What a zip workbook is and holds, checked before parsing; None if refused.
    Raises OurOutput for a file this tool wrote, with `skip_ours`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except ZIP_ERRORS:
        anomalies.add("FIC-CORROMPU", detail="archive zip endommagée ou tronquée")
        return None
    if not _one_archive(data, infos):  # Python and calamine could each read another one
        anomalies.add("FIC-CORROMPU", detail="archive zip précédée ou suivie d'autres données")
        return None
    output = _custom_output(archive)
    if skip_ours and output:
        raise OurOutput(output)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_MEMBER_BYTES or (
            info.file_size > RATIO_FLOOR and ratio > MAX_RATIO
        ):
            anomalies.add(
                "FIC-COMPRESSION",
                detail=f"{info.filename} : {_human(info.file_size)} une fois décompressé, "
                f"rapport {ratio:.0f}",
            )
            return None
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        anomalies.add(
            "FIC-COMPRESSION", detail=f"l'archive entière : {_human(total)} une fois décompressée"
        )
        return None
    names = {i.filename for i in infos}
    ods = "mimetype" in names and "content.xml" in names
    if ods and "[Content_Types].xml" in names:  # calamine would take it for an .xlsx
        anomalies.add("FIC-FORMAT", detail="archive à la fois OpenDocument et Excel")
        return None
    if ods:
        try:
            if _ods_encrypted(archive):
                anomalies.add("FIC-CHIFFRE")
                return None
            content = _read_member(archive, archive.getinfo("content.xml"))
        except ZIP_ERRORS as error:
            anomalies.add("FIC-CORROMPU", detail=_damaged(error))
            return None
        refusals = _ods_refusals(content)
        for name, code, detail in refusals:
            extra = {"limite": limits()} if code == "FIC-LIGNES" else {}
            anomalies.add(code, name, "", detail=detail, **extra)
        return ZipFindings("ods", too_big={name for name, _, _ in refusals})
    if "[Content_Types].xml" not in names:
        anomalies.add("FIC-FORMAT", detail="archive zip sans classeur")
        return None
    found = ZipFindings("xlsm" if any(n.endswith("vbaProject.bin") for n in names) else "xlsx")
    found.output = output
    try:
        for info in infos:  # as zipfile would inflate bzip2 and lzma: without bound
            _readable(info)
        claim = _shared_strings_claim(archive, infos)
        if claim:
            anomalies.add("FIC-CORROMPU", detail=claim)
            return None
        sheets = _sheet_members(archive)
        found.sheet_names = [name for name, _ in sheets]
        for name, member in sheets:  # calamine parses a sheet only when asked for it
            if member is None or key_of(name) is None:
                continue
            xml = _read_member(archive, archive.getinfo(member))
            found.measured.add(name)
            if oversize := _oversize(xml):
                found.too_big.add(name)
                anomalies.add("FIC-LIGNES", name, "", detail=oversize, limite=limits())
            else:
                found.special[name] = special_cells(xml)
    except Ambiguous as error:
        anomalies.add("FIC-CORROMPU", detail=f"structure du classeur ambiguë : {error}")
        return None
    except ZIP_ERRORS as error:
        anomalies.add("FIC-CORROMPU", detail=_damaged(error))
        return None
    return found


def _ods_encrypted(archive: zipfile.ZipFile) -> bool:
    """An .ods saved with a password: its manifest describes how each part is encrypted."""
    try:
        info = archive.getinfo("META-INF/manifest.xml")
    except KeyError:
        return False
    return info.file_size < MiB and b"encryption-data" in _read_member(archive, info)


def _damaged(error: Exception) -> str:
    return str(error) if isinstance(error, Unsupported) else "contenu compressé endommagé"


# ---------------------------------------------------------------------- reading


def _detect(data: bytes, path: Path, anomalies: Anomalies) -> str | None:
    if not data:
        anomalies.add("FIC-VIDE")
        return None
    if len(data) > MAX_FILE_BYTES:
        anomalies.add("FIC-TAILLE", detail=_human(len(data)), limite=_human(MAX_FILE_BYTES))
        return None
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data or _xls_filepass(data):
            anomalies.add("FIC-CHIFFRE")
            return None
        return "xls"
    kind = "texte ou CSV" if _looks_like_text(data) else "format inconnu"
    anomalies.add("FIC-FORMAT", detail=f"{kind}, extension {path.suffix or 'absente'}")
    return None


_BOFS, _FILEPASS = (0x0809, 0x0409, 0x0209, 0x0009), 0x002F  # BIFF record types


def _xls_filepass(data: bytes) -> bool:
    """An .xls saved with a password: the record that follows the BOF of its Workbook
    stream is FILEPASS (python-calamine reports it, but not when it reads from memory: it
    then says the format is unknown). The stream is found by its directory entry; its
    first sector holds both records."""
    shift = int.from_bytes(data[30:32], "little")
    if not 7 <= shift <= 16:
        return False
    for stream in ("Workbook", "Book"):  # BIFF8, BIFF5
        name = (stream + "\0").encode("utf-16-le")
        at = data.find(name)
        while at >= 0:
            entry = data[at : at + 128]
            if (
                at % 128 == 0  # directory entries fill whole sectors
                and len(entry) == 128
                and entry[64:66] == len(name).to_bytes(2, "little")
                and entry[66] == 2
            ):
                start = (int.from_bytes(entry[116:120], "little") + 1) << shift
                head = data[start : start + 24]
                if len(head) == 24 and int.from_bytes(head[:2], "little") in _BOFS:
                    after = 4 + int.from_bytes(head[2:4], "little")
                    kind = data[start + after : start + after + 2]
                    return kind == _FILEPASS.to_bytes(2, "little")
            at = data.find(name, at + 1)
    return False


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return b"\x00" not in head
    return True


def schema_key(name: str) -> str | None:
    """The schema sheet a user's sheet name stands for, or None (ignored sheets too)."""
    sheet = sheet_for_name(name)
    return sheet.key if sheet is not None and norm(name) not in IGNORED_SHEETS else None


class OurOutput(Exception):
    """A file this tool wrote (bilan, fiche, notification, annotated copy), when asked
    to skip them."""


def read_workbook(path: Path, anomalies: Anomalies, skip_ours: bool = False) -> RawWorkbook | None:
    """Read the sheets the schema knows; None when the file cannot be read at all.
    With `skip_ours`, raises OurOutput for a file this tool wrote, before parsing it."""
    return _read(Path(path), anomalies, schema_key, establishment=True, skip_ours=skip_ours)


def read_any(path: Path, anomalies: Anomalies) -> RawWorkbook | None:
    """Read every sheet, keyed by its own name (for lists, notifications and last year's
    bilan), in a child process under the limits of isolation.py."""
    from . import isolation

    try:
        raw, found = isolation.call(_read_any, Path(path), anomalies.fichier)
    except isolation.Contained as contained:
        report_failure(anomalies, contained.failure)
        return None
    anomalies.extend(found)
    return raw


def _read_any(path: Path, fichier: str) -> tuple[RawWorkbook | None, Anomalies]:
    found = Anomalies(fichier)
    return _read(path, found, lambda name: name), found


def _read(
    path: Path,
    anomalies: Anomalies,
    key_of: Callable[[str], str | None],
    establishment: bool = False,
    skip_ours: bool = False,
):
    import python_calamine

    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before reading a byte
            ours = our_output(path) if skip_ours else ""  # the bilan of a very large folder
            if ours:
                raise OurOutput(ours)
            anomalies.add("FIC-TAILLE", detail=_human(size), limite=_human(MAX_FILE_BYTES))
            return None
        data = path.read_bytes()
    except OSError as e:
        anomalies.add("FIC-CORROMPU", detail=f"lecture impossible : {e.strerror}")
        return None
    fmt = _detect(data, path, anomalies)
    if fmt is None:
        return None
    checked = ZipFindings(fmt)
    if fmt == "zip":
        checked = _check_zip(data, anomalies, key_of, skip_ours)
        if checked is None:
            return None
        fmt = checked.format
        if fmt == "ods" and checked.too_big:  # calamine parses every sheet of an .ods at once
            return None
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
    except python_calamine.PasswordError:
        anomalies.add("FIC-CHIFFRE")
        return None
    except BaseException as e:  # calamine raises several unrelated types on broken files
        if not _damage(e):
            raise
        anomalies.add("FIC-CORROMPU", detail=_reason(e))
        return None
    if fmt in ("xlsx", "xlsm") and names != checked.sheet_names:
        anomalies.add(
            "FIC-CORROMPU",
            detail="structure du classeur ambiguë : la liste des feuilles ne se lit pas "
            "de la même façon selon le lecteur",
        )
        return None
    if establishment and checked.output == "sortie":
        anomalies.add(
            "FIC-FORMAT",
            detail="bilan, fiche ou notification écrit par "
            "mentorat-budget, pas un classeur d'établissement",
        )
        return None
    raw = RawWorkbook(path, fmt, hashlib.sha256(data).hexdigest(), names)
    for name in names:
        key = key_of(name)
        if key is None or key in raw.sheets:
            continue
        if name in checked.too_big:
            raw.sheets[key] = RawSheet(name, [])
            continue
        if fmt in ("xlsx", "xlsm") and name not in checked.measured:  # its XML was not found
            anomalies.add("FEU-ILLISIBLE", name, detail="introuvable dans l'archive")
            raw.sheets[key] = RawSheet(name, [])
            continue
        try:
            sheet = book.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
        except BaseException as e:
            if not _damage(e):
                raise
            anomalies.add("FIC-CORROMPU", name, detail=_reason(e))
            return None
        width = max(map(len, rows), default=0)  # .xls: measured here, once parsed
        if len(rows) > MAX_ROWS or len(rows) * width > MAX_CELLS:
            detail = f"{_count(len(rows), 'ligne')} × {_count(width, 'colonne')}"
            anomalies.add("FIC-LIGNES", name, "", detail=detail, limite=limits())
            rows = []
        raw.sheets[key] = RawSheet(name, rows, merged, checked.special.get(name, {}))
    return raw


def _damage(error: BaseException) -> bool:
    """A library's answer to a damaged file: an Exception, or python-calamine's
    PanicException (a BaseException: a Rust panic, say on a date out of range). Not a
    MemoryError: the process that reads must then be replaced (isolation.py)."""
    if isinstance(error, MemoryError):
        return False
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def report_failure(anomalies: Anomalies, failure) -> None:
    """The anomaly of a file whose reading did not return (an isolation.Failure): its
    worker ran out of memory, overran or died (FIC-RESSOURCES), or the reader raised (a
    bug: FIC-CORROMPU, « erreur interne »)."""
    from . import isolation

    details = {
        isolation.MEMOIRE: f"il demande plus de {failure.limit // MiB:.0f} Mo de mémoire ; une "
        "feuille s'étend sans doute bien au-delà de ses données (des cellules remplies ou "
        "mises en forme très loin en bas ou à droite) : supprimez ces lignes et colonnes, "
        "enregistrez le classeur depuis Excel ou LibreOffice, puis renvoyez-le",
        isolation.DUREE: f"sa lecture dépasse {failure.limit:g} secondes ; enregistrez le "
        "classeur à nouveau depuis Excel ou LibreOffice en retirant les feuilles et les "
        "lignes inutiles, puis renvoyez-le",
        isolation.ARRET: "le programme de lecture s'est arrêté sur ce fichier (contenu "
        "endommagé ou inhabituel) ; ouvrez-le dans Excel ou LibreOffice, enregistrez-le à "
        "nouveau, puis renvoyez-le",
    }
    if failure.reason in details:
        anomalies.add("FIC-RESSOURCES", detail=details[failure.reason])
    else:
        anomalies.add("FIC-CORROMPU", detail=f"erreur interne {failure.detail}")


def _reason(error: BaseException) -> str:
    """What went wrong, in French (the libraries' own messages are English)."""
    import python_calamine

    if isinstance(error, python_calamine.XmlError):
        return "XML illisible"
    if isinstance(error, python_calamine.ZipError):
        return "archive zip endommagée"
    if _damage(error) and not isinstance(error, Exception):  # a panic
        return "une valeur que le lecteur ne sait pas lire, par exemple une date hors de mesure"
    return "contenu endommagé ou format non reconnu"


def our_output(path: Path) -> str:
    """What this tool wrote, by its document property: "sortie" (a bilan, fiche or
    notification), "copie" (an annotated copy), or "" for any other file. Reads only the
    zip's directory and its small custom-properties part."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _custom_output(archive)
    except ZIP_ERRORS:
        return ""


def _custom_output(archive: zipfile.ZipFile) -> str:
    """our_output, of an archive already open."""
    from .write.xlsx import ANNOTATED_PROPERTY, OUTPUT_PROPERTY

    try:
        info = archive.getinfo("docProps/custom.xml")
        custom = _read_member(archive, info) if info.file_size < 1_000_000 else b""
    except ZIP_ERRORS:
        return ""
    if OUTPUT_PROPERTY.encode() in custom:
        return "sortie"
    return "copie" if ANNOTATED_PROPERTY.encode() in custom else ""
