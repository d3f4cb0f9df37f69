"""The checks before parsing (read.py): sheet extents, .ods repeats, shared strings.

calamine places a cell by its own `r` and allocates the whole rectangle up to the
farthest cell; it expands an .ods's repeated rows, cells and spaces; it reserves room
for every shared string a workbook declares. The checks here give a precise anomaly for
what a spreadsheet application writes; anything else is contained by the isolation of
the parsing (tests/test_isolation.py; end to end: the hostile corpus)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mentorat_budget import read
from mentorat_budget.anomalies import Anomalies

EXEMPLES = sorted((Path(__file__).parents[1] / "workbooks" / "exemples").glob("*.xlsx"))
FAR = (1_048_576, 16_384)


def sheet(cells: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData><row r="1">{cells}</row></sheetData>'
        "</worksheet>"
    ).encode()


@pytest.mark.parametrize("path", EXEMPLES[:2], ids=lambda p: p.name)
def test_usual_sheets_take_the_fast_path_and_their_references_agree(path):
    with zipfile.ZipFile(path) as z:
        members = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        for member in members:
            xml = z.read(member)
            assert read.sheet_extent(xml) == read.FAST_BOUND, member
            rows, cols = read.by_references(xml)
            assert 0 < rows <= read.FAST_BOUND[0] and 0 < cols <= read.FAST_BOUND[1]


@pytest.mark.parametrize(
    ("cells", "extent"),
    [
        ('<c r="XFD1048576"><v>1</v></c>', FAR),
        ('<c r="AA1" s="3" t="s"><v>1</v></c>', (1, 27)),
        ('<c r="B60000"><v>1</v></c>', (60_000, 2)),
    ],
)
def test_a_cell_beyond_the_fast_bound_is_measured_by_its_reference(cells, extent):
    assert read.sheet_extent(sheet('<c r="A1"><v>1</v></c>' + cells)) == extent


def test_the_fast_bound_gives_way_to_smaller_limits(monkeypatch):
    monkeypatch.setattr(read, "MAX_ROWS", 12)
    assert read.sheet_extent(sheet('<c r="A1"><v>1</v></c><c r="B1"><v>1</v></c>')) == (1, 2)


# ------------------------------------------------------------------------ .ods

ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
    ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>"
)
VALUE = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'  # noqa: E501


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
    '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type='
    '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
)


def ods(tmp_path: Path, rows: str, name: str = "Dépenses") -> Path:
    """A one-sheet .ods whose table holds these rows (after a LibreOffice-like column)."""
    path = tmp_path / "classeur.ods"
    content = (
        f'{ODS_HEAD}<table:table table:name="{name}">'
        '<table:table-column table:number-columns-repeated="16371"/>'
        f"{rows}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", MANIFEST)
        z.writestr("content.xml", content)
    return path


def refused(path: Path) -> list[tuple[str, str, str]]:
    anomalies = Anomalies(path.name)
    assert read.read_workbook(path, anomalies) is None
    return [(a.code, a.feuille, a.message) for a in anomalies]


@pytest.mark.parametrize(
    "row",
    [
        f"<table:table-row table:number-rows-repeated='3000000'>{VALUE}</table:table-row>",
        f'<table:table-row table:number-rows-repeated = "3000000" >{VALUE}</table:table-row>',
        f'<table:table-row table:number-rows-repeated="&#51;000000">{VALUE}</table:table-row>',
        '<table:table-row table:number-rows-repeated="1000000"><table:table-cell/>'
        f"</table:table-row><table:table-row>{VALUE}</table:table-row>",
        '<table:table-row table:number-rows-repeated="40000"><table:table-cell '
        'table:number-columns-repeated="1000" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>",
        '<table:table-row table:number-rows-repeated="100"><table:table-cell '
        f'table:number-columns-repeated="200000000"/>{VALUE}</table:table-row>',
    ],
    ids=["apostrophes", "espaces", "entite", "vides-puis-valeur", "cellules", "colonnes"],
)
def test_ods_repeats_are_counted_however_they_are_written(tmp_path, row):
    ((code, feuille, message),) = refused(ods(tmp_path, row))
    assert (code, feuille) == ("FIC-LIGNES", "Dépenses")
    assert "la limite est de 50\u202f000 lignes et 1\u202f500\u202f000 cellules" in message


def test_ods_space_repeated_beyond_a_cell_is_refused(tmp_path):
    row = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>a'
        '<text:s text:c="1000000000"/>b</text:p></table:table-cell></table:table-row>'
    )
    ((code, feuille, message),) = refused(ods(tmp_path, row))
    assert (code, feuille) == ("FEU-ILLISIBLE", "Dépenses")
    assert "une cellule de 1\u202f000\u202f000\u202f000 espaces" in message


def test_ods_repeats_as_libreoffice_writes_them_are_read(tmp_path):
    """Empty cells repeated to the last column after the values, identical rows stored
    once, a million empty rows at the end: nothing is expanded beyond the values."""
    row = (
        f'<table:table-row table:number-rows-repeated="3">{VALUE}'
        '<table:table-cell table:number-columns-repeated="16380"/></table:table-row>'
    )
    rows = 10_000 * row + (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )
    anomalies = Anomalies("classeur.ods")
    raw = read.read_workbook(ods(tmp_path, rows), anomalies)
    assert list(anomalies) == []
    assert len(raw.sheets["depenses"].rows) == 30_000
    assert {len(r) for r in raw.sheets["depenses"].rows} == {1}


def test_a_grid_too_large_once_parsed_is_refused_by_name(tmp_path, monkeypatch):
    """What the checks before parsing do not measure (an .xls, an .ods's cells written one
    by one) is measured once parsed, against the same limits."""
    monkeypatch.setattr(read, "MAX_CELLS", 40)
    rows = 3 * f"<table:table-row>{20 * VALUE}</table:table-row>"
    anomalies = Anomalies("classeur.ods")
    raw = read.read_workbook(ods(tmp_path, rows), anomalies)
    assert raw.sheets["depenses"].rows == []
    ((code, feuille, message),) = [(a.code, a.feuille, a.message) for a in anomalies]
    assert (code, feuille) == ("FIC-LIGNES", "Dépenses")
    assert "feuille trop grande (3 lignes × 20 colonnes)" in message


def test_shared_strings_declared_beyond_what_the_part_holds_refuse_the_file(tmp_path):
    def change(name: str, data: bytes) -> bytes:
        if name != "xl/sharedStrings.xml":
            return data
        return data.replace(b"uniqueCount=", b"uniqueCount='99999999999' x=", 1)

    path = _rewritten(EXEMPLES[0], tmp_path / "textes.xlsx", change)
    ((code, feuille, message),) = refused(path)
    assert (code, feuille) == ("FIC-CORROMPU", "")
    assert "xl/sharedStrings.xml annonce 99\u202f999\u202f999\u202f999 textes" in message


def test_formula_search_does_not_look_back_to_the_start_of_the_sheet():
    import time

    xml = sheet('<c r="A1"><v>1</v></c>') + b"<f/></c>" * 40_000
    start = time.perf_counter()
    assert read.special_cells(xml) == {}
    assert time.perf_counter() - start < 1.0


def _rewritten(source: Path, target: Path, change) -> Path:
    """A copy of a workbook whose members are passed through change(name, bytes)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))
    return target


def _depenses_member(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return dict(read._sheet_members(z))["Dépenses"]


@pytest.mark.parametrize(
    "written",
    [
        b"name='D&#233;penses'",  # quoted and encoded as calamine still reads it
        b'name="D&#233;penses"',
    ],
)
def test_a_sheet_named_unusually_is_measured_before_calamine_reads_it(tmp_path, written):
    from mentorat_budget.anomalies import Anomalies

    member = _depenses_member(EXEMPLES[0])
    far = b'<row r="9000"><c r="XFD1048576"><v>1</v></c></row></sheetData>'

    def change(name: str, data: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return data.replace('name="Dépenses"'.encode(), written)
        return data.replace(b"</sheetData>", far) if name == member else data

    path = _rewritten(EXEMPLES[0], tmp_path / "nom.xlsx", change)
    anomalies = Anomalies(str(path))
    raw = read.read_workbook(path, anomalies)  # calamine would abort the process
    assert raw is not None and raw.sheets["depenses"].rows == []
    assert [(a.code, a.feuille) for a in anomalies] == [("FIC-LIGNES", "Dépenses")]


def test_a_merged_area_declared_to_the_last_cell_fills_only_the_cells_read(tmp_path):
    from mentorat_budget.verify import check_workbook

    member = _depenses_member(EXEMPLES[0])
    merge = b'</sheetData><mergeCells count="1"><mergeCell ref="C3:XFD1048576"/></mergeCells>'

    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"</sheetData>", merge) if name == member else data

    path = _rewritten(EXEMPLES[0], tmp_path / "fusion.xlsx", change)
    alone, _ = check_workbook(EXEMPLES[0])
    merged, _ = check_workbook(path)
    assert len(merged.table("depenses").frame) == len(alone.table("depenses").frame)
    assert any(a.code == "VAL-FUSION" for a in merged.anomalies)


def _twice(data: bytes) -> bytes:
    tag = data[data.index('<sheet name="Dépenses"'.encode()) :]
    return data.replace(b"</sheets>", tag[: tag.index(b"/>") + 2] + b"</sheets>")


@pytest.mark.parametrize(
    ("member", "change", "code"),
    [
        ("xl/workbook.xml", _twice, "FIC-CORROMPU"),  # calamine reads the first, a dict the last
        (
            "xl/workbook.xml",
            lambda d: d.replace(
                b' r:id="rId7"',
                b' r:id="rId7" relationships:id="rId1" '
                b'xmlns:relationships="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships"',
            ),
            "FIC-CORROMPU",
        ),
        (
            "xl/_rels/workbook.xml.rels",
            lambda d: d.replace(
                b'Target="worksheets/sheet7.xml"', b'Target="worksheets/&#115;heet7.xml"'
            ),
            "FIC-CORROMPU",
        ),
    ],
    ids=["deux-feuilles-du-meme-nom", "deux-references", "entite-dans-la-cible"],
)
def test_a_structure_calamine_could_read_otherwise_refuses_the_file(tmp_path, member, change, code):
    from mentorat_budget.anomalies import Anomalies

    path = _rewritten(
        EXEMPLES[0], tmp_path / "ambigu.xlsx", lambda n, d: change(d) if n == member else d
    )
    anomalies = Anomalies(str(path))
    assert read.read_workbook(path, anomalies) is None
    assert [(a.code, a.feuille) for a in anomalies] == [(code, "")]
    assert "structure du classeur ambiguë" in anomalies[0].message


def test_an_archive_both_opendocument_and_excel_is_refused(tmp_path):
    from mentorat_budget.anomalies import Anomalies

    path = tmp_path / "double.xlsx"
    path.write_bytes(EXEMPLES[0].read_bytes())
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    anomalies = Anomalies(str(path))
    assert read.read_workbook(path, anomalies) is None
    assert [a.code for a in anomalies] == ["FIC-FORMAT"]


def test_two_archives_in_one_file_are_refused(tmp_path):
    """Python's zip reader and calamine's could each read another archive."""
    from mentorat_budget.anomalies import Anomalies

    path = tmp_path / "deux.xlsx"
    path.write_bytes(EXEMPLES[0].read_bytes() + EXEMPLES[1].read_bytes())
    anomalies = Anomalies(str(path))
    assert read.read_workbook(path, anomalies) is None
    assert "archive zip précédée ou suivie d'autres données" in anomalies[0].message


def test_a_second_list_of_relationships_is_refused(tmp_path):
    """calamine stops at the end of the first list; an XML parser reads on."""
    from mentorat_budget.anomalies import Anomalies

    def change(name: str, data: bytes) -> bytes:
        if name != "xl/_rels/workbook.xml.rels":
            return data
        return data.replace(
            b"<Relationship ", b"<x:Relationships xmlns:x='urn:x'/><Relationship ", 1
        )

    path = _rewritten(EXEMPLES[0], tmp_path / "relations.xlsx", change)
    anomalies = Anomalies(str(path))
    assert read.read_workbook(path, anomalies) is None
    assert "liste de feuilles ou de relations en double" in anomalies[0].message


def test_an_unknown_encoding_is_an_anomaly_not_a_traceback(tmp_path):
    def change(name: str, data: bytes) -> bytes:
        if name != "xl/workbook.xml":
            return data
        return data.replace(b'encoding="UTF-8"', b'encoding="bogus"')

    path = _rewritten(EXEMPLES[0], tmp_path / "encodage.xlsx", change)
    ((code, feuille, message),) = refused(path)
    assert (code, feuille) == ("FIC-CORROMPU", "")
    assert "encodage du XML inconnu" in message


@pytest.mark.parametrize(
    "payload",
    [b'<c r="A1" t="s"><v>' + b't="e" ' * 40_000 + b"</v></c>", b"<f>1</f>" + b" " * 100_000],
    ids=["types-erreur", "espaces-apres-formule"],
)
def test_the_formula_and_error_searches_take_linear_time(payload):
    import time

    start = time.perf_counter()
    read.special_cells(sheet("") + payload)
    assert time.perf_counter() - start < 1.0


def _damaged(source: Path, target: Path, member: str, damage) -> Path:
    """A copy of a workbook whose bytes are changed by damage(data, local header offset of
    `member`), its central directory left as it was."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as z:
        damage(data, z.getinfo(member).header_offset)
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize(
    "damage",
    [
        lambda data, at: data.__setitem__(at + 200, ord("X")),  # the data, stored: CRC
        lambda data, at: data.__setitem__(at + 30, ord("X")),  # the member's name
        lambda data, at: data.__setitem__(slice(at, at + 4), b"PK\x09\x09"),  # signature
    ],
    ids=["crc", "nom", "signature"],
)
def test_a_member_damaged_after_the_directory_refuses_the_file(tmp_path, damage):
    """The members are read straight from the archive's bytes (read._inflate): zipfile's
    own checks still hold there (the central directory is left intact)."""
    from mentorat_budget.anomalies import Anomalies

    member = _depenses_member(EXEMPLES[0])
    with zipfile.ZipFile(EXEMPLES[0]) as z:
        expected = z.read(member)
        assert read._read_member(z, z.getinfo(member)) == expected  # from a file: zipfile
    with zipfile.ZipFile(io.BytesIO(EXEMPLES[0].read_bytes())) as z:
        assert read._read_member(z, z.getinfo(member)) == expected  # from bytes: _inflate
    stored = _rewritten(EXEMPLES[0], tmp_path / "stocke.xlsx", lambda name, data: data)
    assert read.read_workbook(stored, Anomalies("stocke.xlsx")) is not None
    path = _damaged(stored, tmp_path / "abime.xlsx", member, damage)
    anomalies = Anomalies("abime.xlsx")
    assert read.read_workbook(path, anomalies) is None
    assert [a.code for a in anomalies] == ["FIC-CORROMPU"]
    assert "contenu compressé endommagé" in anomalies[0].message


@pytest.mark.parametrize("member", ["docProps/app.xml", "docProps/custom.xml"])
def test_a_member_compressed_otherwise_than_by_deflate_is_refused_unread(tmp_path, member):
    """zipfile inflates bzip2 without bound (calamine does not read it at all): 4 KB of it
    can declare 10 bytes and give a gigabyte."""
    from mentorat_budget.anomalies import Anomalies

    path = tmp_path / "bzip2.xlsx"
    with zipfile.ZipFile(EXEMPLES[0]) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == member:
                zout.writestr(info.filename, data, compress_type=zipfile.ZIP_BZIP2)
            else:
                zout.writestr(info, data)
    anomalies = Anomalies("bzip2.xlsx")
    assert read.read_workbook(path, anomalies) is None
    assert [a.code for a in anomalies] == ["FIC-CORROMPU"]
    assert f"{member} : méthode de compression non prise en charge" in anomalies[0].message


def test_a_bilan_over_the_size_limit_is_still_skipped_in_a_folder(tmp_path, monkeypatch):
    from mentorat_budget.batch import parse_one
    from mentorat_budget.rules import latest
    from mentorat_budget.write.bilan import Run, write_bilan

    bilan = tmp_path / "bilan.xlsx"
    write_bilan(bilan, [], latest(), Run([str(tmp_path)]))
    monkeypatch.setattr(read, "MAX_FILE_BYTES", bilan.stat().st_size - 1)
    assert parse_one(bilan, "bilan.xlsx", None) is None
    workbook = parse_one(EXEMPLES[0], EXEMPLES[0].name, None)  # reported, not skipped
    assert [a.code for a in workbook.anomalies] == ["FIC-TAILLE"]
