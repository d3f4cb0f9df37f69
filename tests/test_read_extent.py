"""The sheet extent measured before calamine parses a sheet (read.sheet_extent).

calamine places a cell by its own `r`, however it is quoted, spaced or repeated, and
allocates the whole rectangle up to the farthest cell: a cell it places at XFD1048576
aborts the process. The end-to-end cases are in the hostile corpus (grille-geante-*)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mentorat_budget import read

EXEMPLES = sorted((Path(__file__).parents[1] / "workbooks" / "exemples").glob("*.xlsx"))
FAR = (1_048_576, 16_384)


def sheet(cells: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData><row r="1">{cells}</row></sheetData>'
        "</worksheet>"
    ).encode()


@pytest.mark.parametrize("path", EXEMPLES[:2], ids=lambda p: p.name)
def test_usual_sheets_take_the_fast_path_and_the_parser_agrees(path):
    with zipfile.ZipFile(path) as z:
        members = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        for member in members:
            xml = z.read(member)
            assert read.sheet_extent(xml) == read.FAST_BOUND, member
            rows, cols = read._sheet_extent_general(xml)
            assert 0 < rows <= read.FAST_BOUND[0] and 0 < cols <= read.FAST_BOUND[1]


@pytest.mark.parametrize(
    "cells",
    [
        "<c r='XFD1048576'><v>1</v></c>",
        '<c r = "XFD1048576"><v>1</v></c>',
        '<c s="1" r="XFD1048576"><v>1</v></c>',
        '<c\nr="XFD1048576"><v>1</v></c>',
        '<x:c xmlns:x="urn:x" r="XFD1048576"><v>1</v></x:c>',
    ],
)
def test_a_far_cell_written_unusually_is_measured(cells):
    assert read.sheet_extent(sheet('<c r="A1"><v>1</v></c>' + cells)) == FAR


@pytest.mark.parametrize(
    "cells",
    [
        '<c r="A1" r="XFD1048576"><v>1</v></c>',  # calamine takes the last r
        '<c r="A1" s="1"r="XFD1048576"><v>1</v></c>',  # not XML, yet calamine reads it
        '<c r="A1:B2"><v>1</v></c>',
    ],
)
def test_a_cell_that_cannot_be_placed_refuses_the_sheet(cells):
    with pytest.raises(read.UnreadableSheet):
        read.sheet_extent(sheet(cells))


def test_a_reference_written_with_an_entity_is_measured_as_decoded():
    assert read.sheet_extent(sheet('<c r="&#88;FD1"><v>1</v></c>')) == (1, 16_384)


def test_cells_without_reference_follow_each_other():
    rows, cols = read.sheet_extent(sheet('<c r="C1"><v>1</v></c>' + "<c><v>2</v></c>" * 30))
    assert cols == 33 and 1 <= rows <= 2  # a bound: the row's r and the rows that end


def test_the_fast_bound_gives_way_to_smaller_limits(monkeypatch):
    monkeypatch.setattr(read, "MAX_ROWS", 12)
    assert read.sheet_extent(sheet('<c r="A1"><v>1</v></c><c r="B1"><v>1</v></c>')) == (1, 2)


def test_rows_nested_in_rows_are_measured_as_calamine_places_them():
    """calamine moves to the next row when a row ends, not when one starts: rows opened
    inside rows put each cell without `r` one column further."""
    n = 60
    xml = (
        b"<worksheet><sheetData>"
        + b"".join(b'<row r="%d"><c><v>1</v></c>' % i for i in range(1, n + 1))
        + b"</row>" * n
        + b"</sheetData></worksheet>"
    )
    rows, cols = read.sheet_extent(xml)
    assert rows >= n and cols >= n


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
    from mentorat_budget.anomalies import Anomalies

    member = _depenses_member(EXEMPLES[0])

    def change(name: str, data: bytes) -> bytes:
        if name == member:  # and unusual, so that it is parsed
            data = data.replace(b'encoding="UTF-8"', b'encoding="bogus"')
            return data.replace(b"</sheetData>", b"<row><c><v>1</v></c></row></sheetData>")
        return data

    path = _rewritten(EXEMPLES[0], tmp_path / "encodage.xlsx", change)
    anomalies = Anomalies(str(path))
    raw = read.read_workbook(path, anomalies)
    assert raw is not None and raw.sheets["depenses"].rows == []
    assert [(a.code, a.feuille) for a in anomalies] == [("FEU-ILLISIBLE", "Dépenses")]
    assert "encodage du XML inconnu" in anomalies[0].message


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
