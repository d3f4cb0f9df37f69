"""The sheet extent measured before calamine parses a sheet (read.sheet_extent).

calamine places a cell by its own `r`, however it is quoted, spaced or repeated, and
allocates the whole rectangle up to the farthest cell: a cell it places at XFD1048576
aborts the process. The end-to-end cases are in the hostile corpus (grille-geante-*)."""

from __future__ import annotations

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
    assert read.sheet_extent(sheet('<c r="C1"><v>1</v></c>' + "<c><v>2</v></c>" * 30)) == (1, 33)


def test_the_fast_bound_gives_way_to_smaller_limits(monkeypatch):
    monkeypatch.setattr(read, "MAX_ROWS", 12)
    assert read.sheet_extent(sheet('<c r="A1"><v>1</v></c><c r="B1"><v>1</v></c>')) == (1, 2)
