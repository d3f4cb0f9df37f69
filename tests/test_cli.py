"""The gestionnaire's commands, as they would type them: verifier, --json, --annoter, exemples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from mentorat_budget.cli import main

from .conftest import lo_convert


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_valid_workbook_exits_0(write_fill, fill):
    result = run("verifier", write_fill(fill))
    assert result.exit_code == 0, result.output
    assert "Statut : Valide" in result.output


def test_blocking_anomaly_exits_1_and_names_the_cell(write_fill, fill):
    fill.lignes["depenses"][2]["montant"] = "12,5,0"
    result = run("verifier", write_fill(fill))
    assert result.exit_code == 1
    assert "Statut : À corriger" in result.output
    assert "Dépenses!E5" in result.output
    assert "montant illisible « 12,5,0 » ; saisissez un nombre, par exemple 12,50" in result.output


def test_unreadable_file_exits_1_not_2(tmp_path):
    bad = tmp_path / "vide.xlsx"
    bad.write_bytes(b"")
    result = run("verifier", bad)
    assert result.exit_code == 1
    assert "Statut : Illisible" in result.output
    assert "le fichier est vide" in result.output


def test_missing_file_or_unwritable_copy_exits_2(tmp_path, write_fill, fill):
    result = run("verifier", tmp_path / "absent.xlsx")
    assert result.exit_code == 2
    assert "fichier introuvable" in result.output
    path = write_fill(fill)
    result = run("verifier", path, "--annoter", tmp_path / "pas-de-dossier" / "copie.xlsx")
    assert result.exit_code == 2
    assert "n'existe pas" in result.output
    result = run("verifier", path, "--annoter", path)
    assert result.exit_code == 2
    assert "est un fichier lu ; choisissez un autre nom" in result.output


def test_json_lists_the_same_anomalies(write_fill, fill):
    fill.lignes["depenses"][2]["montant"] = "12,5,0"
    fill.lignes["mentors"][0]["statut"] = "Étudiant"
    result = run("verifier", write_fill(fill), "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["statut"] == "À corriger"
    assert data["uai"] == "0750655E"
    assert data["bloquantes"] == 2
    found = {(a["feuille"], a["cellule"], a["code"], a["gravite"]) for a in data["anomalies"]}
    assert ("Dépenses", "E5", "VAL-MONTANT", "Bloquant") in found
    assert ("Mentors", "B3", "MEN-ETUDIANT", "Bloquant") in found
    montant = next(a for a in data["anomalies"] if a["code"] == "VAL-MONTANT")
    assert montant["valeur"] == "12,5,0"
    assert montant["fichier"].endswith("classeur.xlsx")


def test_annotated_copy_fills_and_comments_faulty_cells(tmp_path, write_fill, fill):
    fill.lignes["depenses"][2]["montant"] = "12,5,0"
    fill.lignes["mentors"][0]["formation"] = False
    source = write_fill(fill)
    before = sha(source)
    copy = tmp_path / "copie.xlsx"
    result = run("verifier", source, "--annoter", copy)
    assert result.exit_code == 1
    assert f"Copie annotée écrite : {copy}" in result.output
    assert sha(source) == before  # the input is never modified
    wb = openpyxl.load_workbook(copy)
    cell = wb["Dépenses"]["E5"]
    assert "VAL-MONTANT" in cell.comment.text
    assert "12,5,0" in cell.comment.text
    assert cell.fill.start_color.rgb.endswith("FFC7CE")  # red: Bloquant
    info = wb["Mentors"]["I3"]
    assert "MEN-FORMATION" in info.comment.text
    assert info.fill.start_color.rgb.endswith("DDEBF7")  # blue: Information
    summary = wb.worksheets[0]
    assert summary.title == "Anomalies à corriger"
    assert "corrigez les cellules signalées dans votre classeur d'origine" in summary["A1"].value
    rows = [[c.value for c in row] for row in summary.iter_rows(min_row=3)]
    assert ["Dépenses", "E5", "Bloquant", "VAL-MONTANT"] in [r[:4] for r in rows]
    assert summary["B3"].hyperlink is not None
    # The copy is still a workbook the tool reads the same way.
    again = run("verifier", copy, "--json")
    codes = {(a["cellule"], a["code"]) for a in json.loads(again.output)["anomalies"]}
    assert ("E5", "VAL-MONTANT") in codes


def test_annotated_copy_of_an_ods_is_rebuilt_from_values(tmp_path, write_fill, fill, soffice):
    fill.lignes["depenses"][2]["montant"] = "12,5,0"
    ods = lo_convert(soffice, write_fill(fill), "ods", tmp_path / "ods")
    before = sha(ods)
    copy = tmp_path / "copie.xlsx"
    result = run("verifier", ods, "--annoter", copy)
    assert result.exit_code == 1, result.output
    assert sha(ods) == before
    wb = openpyxl.load_workbook(copy)
    assert "VAL-MONTANT" in wb["Dépenses"]["E5"].comment.text
    assert wb["Dépenses"]["E5"].value == "12,5,0"
    assert wb["Dépenses"]["A3"].value == "F001"


def test_exemples_are_deterministic_and_varied(tmp_path):
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        assert run("exemples", tmp_path / name, "--nombre", 3, "--graine", seed).exit_code == 0
    a, b, c = (sorted((tmp_path / n).glob("*.xlsx")) for n in "abc")
    assert len(a) == 3
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.name for p in a] != [p.name for p in c]


def test_exemples_have_mistakes_to_find(tmp_path):
    assert run("exemples", tmp_path, "--nombre", 6).exit_code == 0
    statuses = []
    for path in sorted(tmp_path.glob("*.xlsx")):
        data = json.loads(run("verifier", path, "--json").output)
        statuses.append(data["statut"])
    assert "Valide" in statuses and "À corriger" in statuses


def test_annotated_copy_keeps_formula_like_text_as_text(tmp_path, write_fill, fill):
    fill.lignes["depenses"][2]["montant"] = "=1+2"
    copy = tmp_path / "copie.xlsx"
    assert run("verifier", write_fill(fill), "--annoter", copy).exit_code == 1
    summary = openpyxl.load_workbook(copy).worksheets[0]
    values = [c for row in summary.iter_rows(min_row=3) for c in row if c.value == "=1+2"]
    assert values and all(c.data_type == "s" for c in values)


def test_annotated_copy_must_be_xlsx(tmp_path, write_fill, fill):
    result = run("verifier", write_fill(fill), "--annoter", tmp_path / "copie.ods")
    assert result.exit_code == 2
    assert "s'écrit au format .xlsx" in result.output
