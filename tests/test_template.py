"""The template as the gestionnaire gets it: structure, reproducibility, live Synthèse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from mentorat_budget.cli import main
from mentorat_budget.examples import write_examples
from mentorat_budget.schema import DEPENSES, TABLES

from .conftest import lo_convert

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "modele-etablissement-2024.xlsx"


@pytest.mark.parametrize("campagne", ["2024", "2025", None])
def test_modele_writes_the_committed_template_byte_for_byte(tmp_path, campagne):
    """Each campaign's template is committed; without --campagne, the latest is written."""
    out = tmp_path / "modele.xlsx"
    args = ["modele", "-o", str(out)] + (["--campagne", campagne] if campagne else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    year = campagne or "2025"
    assert f"Modèle de la campagne {year} écrit" in result.output
    committed = ROOT / "workbooks" / f"modele-etablissement-{year}.xlsx"
    assert out.read_bytes() == committed.read_bytes()


def test_committed_examples_are_what_the_seed_gives(tmp_path, rules):
    paths = write_examples(tmp_path, 6, 2024, rules)
    committed = sorted((ROOT / "workbooks" / "exemples").glob("*.xlsx"))
    assert [p.name for p in sorted(paths)] == [p.name for p in committed]
    for new, old in zip(sorted(paths), committed, strict=True):
        assert new.read_bytes() == old.read_bytes(), new.name


def test_sheets_tables_and_frozen_headers():
    wb = openpyxl.load_workbook(COMMITTED)
    assert wb.sheetnames == ["Notice", "Établissement", "Élèves", "Mentors", "Partenaires",
                             "Budget prévisionnel", "Dépenses", "Rencontres", "Synthèse",
                             "Listes"]  # fmt: skip
    assert wb["Listes"].sheet_state == "hidden"
    assert wb.active.title == "Notice"
    for sheet in TABLES:
        ws = wb[sheet.name]
        assert sheet.table in ws.tables, sheet.name
        headers = [c.value for c in ws[2]][: len(sheet.columns)]
        assert headers == [c.header for c in sheet.columns]
        assert ws.freeze_panes == "A3"


def test_drop_downs_point_at_defined_names():
    wb = openpyxl.load_workbook(COMMITTED)
    assert wb.defined_names["Liste_filieres"].attr_text == "Listes!$B$2:$B$4"
    ws = wb["Dépenses"]
    by_formula = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert by_formula["Liste_categories"].startswith("C3:C")
    assert by_formula["Liste_transports"].startswith("J3:J")
    assert by_formula["Codes_mentors"].startswith("I3:I")
    # Money: a positive decimal, with an input message in French.
    montant = next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref)[0] == "E")
    assert (montant.type, montant.operator, montant.formula1) == ("decimal", "greaterThan", "0")
    assert montant.promptTitle == "Montant (€)"
    assert "Obligatoire" in montant.prompt


def test_money_and_date_columns_have_their_formats():
    """The empty rows where the user types take the column's format."""
    wb = openpyxl.load_workbook(COMMITTED)
    columns = wb["Dépenses"].column_dimensions
    assert "€" in columns[_letter(DEPENSES, "montant")].number_format
    assert columns[_letter(DEPENSES, "date")].number_format == "dd/mm/yyyy"
    assert "€" in wb["Établissement"]["B7"].number_format  # Dotation notifiée


def _letter(sheet, key: str) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[[c.key for c in sheet.columns].index(key)]


def test_template_asks_for_no_names():
    for sheet in TABLES:
        for column in sheet.columns:
            assert "nom" not in column.header.lower(), column.header


def test_notice_states_the_rules_in_french():
    wb = openpyxl.load_workbook(COMMITTED)
    text = " ".join(str(c.value) for row in wb["Notice"].iter_rows() for c in row if c.value)
    assert "500 € par élève" in text
    assert "du 01/01/2024 au 31/12/2025" in text
    assert "0,41 €/km jusqu'à 2\u202f000 km" in text
    assert "reversé à la DJEPVA avant le 31/12/2025" in text
    for sheet in TABLES:
        assert f"Feuille « {sheet.name}" in text


def _synthese_values(path: Path) -> dict[str, object]:
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Synthèse")
    rows = sheet.to_python(skip_empty_area=False)
    return {str(r[0]): r[1:5] for r in rows if r and r[0]}


RECALC = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


@pytest.fixture
def soffice_recalc(soffice, tmp_path):
    """soffice with a profile that recalculates every formula on load."""
    profile = tmp_path / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC)
    return [soffice[0], f"-env:UserInstallation={profile.as_uri()}", "--headless"]


def test_synthese_cached_values_match_libreoffice_recalculation(tmp_path, rules, soffice_recalc):
    (tmp_path / "in").mkdir()
    [path] = write_examples(tmp_path / "in", 1, 7, rules)
    cached = _synthese_values(path)
    assert cached["Dépenses saisies (€)"][0] > 0
    recalculated = _synthese_values(lo_convert(soffice_recalc, path, "xlsx", tmp_path / "lo"))
    assert recalculated.keys() == cached.keys()
    for label, values in cached.items():
        for mine, theirs in zip(values, recalculated[label], strict=True):
            if isinstance(mine, float) or isinstance(theirs, float):
                assert mine == pytest.approx(theirs, abs=0.005), label
            else:
                assert mine == theirs, label


def test_help_is_french_and_fast():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "mentorat_budget",
                             "--help"], capture_output=True, text=True, check=True)  # fmt: skip
    assert "Utilisation : mentorat-budget" in result.stdout
    assert "Affiche cette aide et quitte." in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "pandas" not in imported and "openpyxl" not in imported
