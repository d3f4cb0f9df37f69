"""A template filled as a user would (openpyxl), read back field by field, and the same
workbook after a LibreOffice round trip to .xlsx and to .ods, read identically."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mentorat_budget.schema import ETABLISSEMENT, TABLES, Kind
from mentorat_budget.write.template import FIRST_ROW

from .conftest import base_fill, lo_convert

TEMPLATE = Path(__file__).resolve().parents[1] / "workbooks" / "modele-etablissement-2024.xlsx"


def _typed(column, value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if column.kind is Kind.MONEY:
        return value / 100
    return value


def fill_template(target: Path) -> Path:
    """Type the base establishment into the blank template, cell by cell, with openpyxl."""
    fill = base_fill()
    wb = openpyxl.load_workbook(TEMPLATE)
    ws = wb[ETABLISSEMENT.name]
    for i, column in enumerate(ETABLISSEMENT.columns):
        ws.cell(FIRST_ROW + 1 + i, 2, _typed(column, fill.etablissement.get(column.key)))
    for sheet in TABLES:
        ws = wb[sheet.name]
        for r, row in enumerate(fill.lignes.get(sheet.key, [])):
            for c, column in enumerate(sheet.columns):
                value = _typed(column, row.get(column.key))
                if value is not None:
                    ws.cell(FIRST_ROW + 1 + r, c + 1, value)
    wb.save(target)
    return target


def _expected(column, value):
    if column.kind is Kind.DATE and value is not None:
        return pd.Timestamp(value)
    if column.kind is Kind.LIST and column.choices == "categories" and value:
        return {"Coordination et sourçage des mentors": "COORDINATION",
                "Déplacements des mentors": "DEPLACEMENT_MENTOR",
                "Communication": "COMMUNICATION"}[value]  # fmt: skip
    if column.kind is Kind.NUMBER and value is not None:
        return float(value)
    if column.key == "statut" and value is None and "En cours" in str(column.default):
        return "En cours"
    return value


def assert_reads_as_base(classeur):
    fill = base_fill()
    assert classeur.lisible
    assert classeur.anomalies.bloquantes == 0, [a.message for a in classeur.anomalies]
    for column in ETABLISSEMENT.columns:
        expected = fill.etablissement.get(column.key)
        if column.key == "report" and expected is None:
            expected = 0
        assert classeur.etablissement[column.key] == expected, column.key
    for sheet in TABLES:
        frame = classeur.tables[sheet.key].frame
        rows = fill.lignes.get(sheet.key, [])
        assert len(frame) == len(rows), sheet.name
        for i, row in enumerate(rows):
            for column in sheet.columns:
                got = frame[column.key].iloc[i]
                want = _expected(column, row.get(column.key))
                if want is None:
                    assert pd.isna(got) or got == column.default, (sheet.name, column.key, got)
                else:
                    assert got == want, (sheet.name, i, column.key, got, want)
        assert list(frame["ligne"]) == list(range(3, 3 + len(rows)))


def test_template_filled_with_openpyxl_reads_back_field_by_field(tmp_path, check):
    classeur = check(fill_template(tmp_path / "rempli.xlsx"))
    assert_reads_as_base(classeur)
    assert classeur.tables["depenses"].frame["montant"].tolist() == [150_000, 1_280, 12_345]


@pytest.mark.parametrize("fmt", ["xlsx", "ods", "xls"])
def test_libreoffice_round_trip_reads_identically(tmp_path, check, soffice, fmt):
    original = fill_template(tmp_path / "rempli.xlsx")
    target = {"xls": "xls:MS Excel 97"}.get(fmt, fmt)
    converted = lo_convert(soffice, original, target, tmp_path / "lo")
    first, second = check(original), check(converted)
    assert second.format == fmt
    assert_reads_as_base(second)
    assert second.etablissement == first.etablissement
    for key, table in first.tables.items():
        pd.testing.assert_frame_equal(table.frame, second.tables[key].frame, check_dtype=True)
    assert sorted((a.code, a.lieu) for a in first.anomalies) == sorted(
        (a.code, a.lieu) for a in second.anomalies
    )


def test_libreoffice_saved_template_keeps_its_drop_downs(tmp_path, soffice):
    """Drop-downs point at defined names, which survive a LibreOffice save and openpyxl."""
    converted = lo_convert(soffice, fill_template(tmp_path / "rempli.xlsx"), "xlsx",
                           tmp_path / "lo")  # fmt: skip
    wb = openpyxl.load_workbook(converted)
    formulas = {dv.formula1 for dv in wb["Dépenses"].data_validations.dataValidation}
    assert "Liste_categories" in formulas
    assert "Liste_categories" in wb.defined_names
