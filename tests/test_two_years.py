"""Two campaigns end to end: the 2024 bilan, the 2025 split and pre-filled templates, the
2025 workbooks, and the 2025 bilan checked against the 2024 one (`--precedent`)."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from click.testing import CliRunner

from mentorat_budget.cli import main

from .conftest import base_fill
from .test_anomalies import covers

# The base establishment spends 1 500,00 (partner) + 12,80 (mileage) + 123,45 = 1 636,25 €
# of a 10 000,00 € dotation: reliquat 8 363,75 €.
RELIQUAT = 836_375
A, B, C = "0750655E", "0690026D", "0750654D"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def rows_of(path: Path, sheet: str) -> list[dict]:
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def by_uai(path: Path) -> dict[str, dict]:
    return {r["UAI"]: r for r in rows_of(path, "Établissements") if r["UAI"]}


def fill_2025(template: Path, report_euros: float, poursuite: str) -> None:
    """What a gestionnaire types into the pre-filled 2025 template."""
    wb = openpyxl.load_workbook(template)
    etab = wb["Établissement"]
    etab["B9"], etab["B10"] = report_euros, poursuite  # Report N-1, Poursuite
    depenses = wb["Dépenses"]
    for col, value in zip(
        "ABCDEFG",
        ("F2025-1", dt.date(2025, 3, 1), "Communication", "Affiches", 250.0, "Imprimerie", "Oui"),
        strict=True,
    ):
        depenses[f"{col}3"] = value
    wb.save(template)


@pytest.fixture
def year_2024(tmp_path, write_fill) -> Path:
    folder = tmp_path / "2024"
    folder.mkdir()
    for uai, poursuite in ((A, True), (B, False), (C, True)):
        fill = copy.deepcopy(base_fill())
        fill.etablissement.update(uai=uai, nom=f"Lycée {uai}", academie=None, poursuite=poursuite)
        shutil.copy(write_fill(fill, f"{uai}.xlsx"), folder / f"{uai}.xlsx")
    out = tmp_path / "bilan-2024.xlsx"
    result = run("bilan", folder, "-o", out)
    assert result.exit_code == 0, result.output
    return out


@covers("PRE-REPORT", "PRE-REVERSE")
def test_two_campaigns_end_to_end(tmp_path, year_2024, check):
    bilan_2024 = by_uai(year_2024)
    assert bilan_2024[A]["Reliquat reporté (€)"] == RELIQUAT / 100
    assert bilan_2024[B]["Reliquat reporté (€)"] == 0
    assert bilan_2024[B]["À reverser à la DJEPVA (€)"] == RELIQUAT / 100

    # 2025: the analyst splits the new envelope and sends pre-filled templates.
    liste = tmp_path / "liste-2025.xlsx"
    wb = xlsxwriter.Workbook(liste)
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ("UAI", "Établissement", "Élèves prévus"))
    for i, uai in enumerate((A, B, C), start=1):
        ws.write_row(i, 0, (uai, f"Lycée {uai}", 20))
    wb.close()
    models = tmp_path / "modeles-2025"
    result = run(
        "repartir",
        liste,
        "--enveloppe",
        24_000,
        "--campagne",
        2025,
        "-o",
        tmp_path / "notification-2025.xlsx",
        "--modeles",
        models,
    )
    assert result.exit_code == 0, result.output
    templates = {p.name[:8]: p for p in models.glob("*.xlsx")}
    assert set(templates) == {A, B, C}
    # 24 000 € for 3 × 10 000 € of plafonds: 8 000 € each.
    assert check(templates[A]).etablissement["dotation"] == 800_000

    # The gestionnaires fill them: A right, B declares a report it had to return, C wrong.
    fill_2025(templates[A], RELIQUAT / 100, "Oui")
    fill_2025(templates[B], 500, "Oui")
    fill_2025(templates[C], 8_000, "Oui")
    folder = tmp_path / "2025"
    shutil.copytree(models, folder)

    out = tmp_path / "bilan-2025.xlsx"
    result = run("bilan", folder, "-o", out, "--precedent", year_2024)
    assert result.exit_code == 0, result.output
    assert "Campagne 2025 : 3 classeurs lus (1 valide, 2 à corriger)" in result.output
    etab = by_uai(out)
    headers = list(next(iter(etab.values())))
    at = headers.index("Report N-1 (€)")
    assert headers[at + 1 : at + 3] == ["Report attendu, bilan N-1 (€)", "Écart de report (€)"]
    side = {
        u: (
            r["Report N-1 (€)"],
            r["Report attendu, bilan N-1 (€)"],
            r["Écart de report (€)"],
            r["Statut du classeur"],
        )
        for u, r in etab.items()
        if u in (A, B, C)
    }
    assert side == {
        A: (8_363.75, 8_363.75, 0, "Valide"),
        B: (500, 0, 500, "À corriger"),
        C: (8_000, 8_363.75, -363.75, "À corriger"),
    }
    # Crédits disponibles use the declared report: 8 000 + 8 363,75.
    assert etab[A]["Crédits disponibles (€)"] == 16_363.75
    anomalies = {
        (a["UAI"], a["Feuille"], a["Cellule"], a["Code"], a["Gravité"]): a["Message"]
        for a in rows_of(out, "Anomalies")
        if a["Code"].startswith("PRE-")
    }
    assert set(anomalies) == {
        (B, "Établissement", "B9", "PRE-REVERSE", "Bloquant"),
        (C, "Établissement", "B9", "PRE-REPORT", "Bloquant"),
    }
    assert anomalies[(C, "Établissement", "B9", "PRE-REPORT", "Bloquant")] == (
        "report déclaré 8\u202f000,00 € différent du reliquat reporté au bilan 2024 "
        "(8\u202f363,75 €) ; corrigez le report de l'exercice précédent"
    )
    assert (
        "prévoyait le reversement de 8\u202f363,75 € à la DJEPVA"
        in anomalies[(B, "Établissement", "B9", "PRE-REVERSE", "Bloquant")]
    )
    synthese = {
        r[0]: r[1]
        for r in python_calamine.CalamineWorkbook.from_path(str(out))
        .get_sheet_by_name("Synthèse")
        .to_python()
        if r
    }
    assert synthese["Reports N-1 (€)"] == pytest.approx(8_363.75 + 500 + 8_000)
    assert synthese["Reports attendus, bilan N-1 (€)"] == pytest.approx(2 * 8_363.75)
    assert synthese["Date limite de reversement"].isoformat() == "2026-12-31"
    assert run("bilan", folder, "-o", out, "--precedent", year_2024, "--strict").exit_code == 1
    # The annotated copies carry the anomalies found against last year's bilan.
    copies = tmp_path / "a-corriger"
    assert (
        run(
            "bilan",
            folder,
            "-o",
            out,
            "--precedent",
            year_2024,
            "--annoter",
            copies,
        ).exit_code
        == 0
    )
    copy = next(copies.glob(f"{C}-*-annote.xlsx"))
    assert "PRE-REPORT" in openpyxl.load_workbook(copy)["Établissement"]["B9"].comment.text


def test_precedent_must_be_last_years_bilan(tmp_path, year_2024, write_fill):
    folder = tmp_path / "encore-2024"
    folder.mkdir()
    shutil.copy(write_fill(copy.deepcopy(base_fill())), folder / "a.xlsx")
    result = run(
        "bilan", folder, "-o", tmp_path / "b.xlsx", "--campagne", 2024, "--precedent", year_2024
    )
    assert result.exit_code == 2
    assert "est celui de la campagne 2024, pas 2023" in result.output
    not_a_bilan = tmp_path / "pas-un-bilan.xlsx"
    shutil.copy(folder / "a.xlsx", not_a_bilan)
    result = run("bilan", folder, "-o", tmp_path / "b.xlsx", "--precedent", not_a_bilan)
    assert result.exit_code == 2
    assert "pas de feuille Établissements" in result.output


@covers("PRE-ABSENT")
def test_report_of_an_establishment_absent_last_year_is_a_warning(tmp_path, year_2024, rules):
    from mentorat_budget.rules import for_campagne
    from mentorat_budget.write.template import Remplissage, write_template

    folder = tmp_path / "2025"
    folder.mkdir()
    fill = Remplissage(
        etablissement={
            "uai": "0750658H",
            "nom": "Lycée nouveau",
            "campagne": 2025,
            "dotation": 500_000,
            "eleves_prevus": 10,
            "report": 120_000,
            "poursuite": True,
        }
    )
    write_template(folder / "nouveau.xlsx", for_campagne(2025), fill)
    out = tmp_path / "bilan-2025.xlsx"
    assert run("bilan", folder, "-o", out, "--precedent", year_2024).exit_code == 0
    found = [a for a in rows_of(out, "Anomalies") if a["Code"] == "PRE-ABSENT"]
    assert [(a["Cellule"], a["Gravité"]) for a in found] == [("B9", "Avertissement")]
    assert found[0]["Message"] == (
        "report déclaré 1\u202f200,00 €, mais l'établissement est "
        "absent du bilan 2024 : report à justifier auprès du rectorat"
    )
    assert by_uai(out)["0750658H"]["Report attendu, bilan N-1 (€)"] == ""
