"""Issue 12 §1: edits people make to a valid workbook that used to give a wrong figure in
silence (SPEC §4, §4.6, §5.3). Each case edits the valid `fill` of conftest.py as a
gestionnaire would, writes a real workbook (openpyxl, the template writer, or LibreOffice
where the case comes from LibreOffice) and checks what the user sees: the code, the cell,
the message, and the figures, computed by hand in the test.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from mentorat_budget import rules as rules_mod
from mentorat_budget.cli import main
from mentorat_budget.verify import A_CORRIGER, VALIDE, check_workbook, statut
from mentorat_budget.write.template import write_template

from .conftest import base_fill, codes_at, lo_convert
from .test_anomalies import (
    INFO,
    A,
    B,
    baseline,
    change,
    covers,
    expect,
    expect_file_level,
    listing,
    plain_sheets,
    save_sheets,
)
from .test_bilan import sheet_rows, table

D = dt.date
BASE_CENTS = [150_000, 1_280, 12_345]  # the valid fill's three expenses
BASE_TOTAL = 1_636.25  # their sum, in euros


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def amounts(classeur) -> list[int | None]:
    """The Dépenses amounts read, in cents (None: unreadable)."""
    return [None if x is pd.NA else int(x) for x in classeur.tables["depenses"].frame["montant"]]


def bilan(folder: Path, out: Path, *options: object) -> dict[str, dict]:
    """The bilan of a folder: its Établissements rows by file, and its Contrôles."""
    result = run("bilan", folder, "-o", out, *options)
    assert result.exit_code == 0, result.output
    rows = {r["Fichier"]: r for r in table(out, "Établissements")[:-1]}
    rows["Contrôles"] = {r[0]: r[1] for r in sheet_rows(out, "Contrôles") if r and r[0]}
    return rows


def anomalies_of(out: Path, fichier: str) -> set[tuple[str, str]]:
    """(code, Sheet!Cell) of a file's rows in the bilan's Anomalies sheet."""
    rows = table(out, "Anomalies")
    return {
        (r["Code"], f"{r['Feuille']}!{r['Cellule']}" if r["Cellule"] else r["Feuille"])
        for r in rows
        if r.get("Fichier") == fichier
    }


# ------------------------------------------------------- header below blank rows


@pytest.mark.parametrize("blank", [11, 40])
def test_header_below_blank_rows_and_columns_is_found(fill, tmp_path, check, blank):
    """Blank rows, and blank columns on the left, are not title rows (SPEC §4): the tables
    are read, the cells named where the user sees them."""
    change(fill, "depenses", 2, montant="douze euros")
    sheets = plain_sheets(fill)
    for name in ("Établissement", "Élèves", "Dépenses"):
        sheets[name][0:0] = [[] for _ in range(blank)]
    sheets["Dépenses"] = [[None, None, *row] if row else row for row in sheets["Dépenses"]]
    classeur = check(save_sheets(tmp_path / "blanches.xlsx", sheets))
    shift = blank
    assert codes_at(classeur) == {
        ("ETA-DOTATION-MENTORES", f"Établissement!B{7 + shift}"),
        ("VAL-MONTANT", f"Dépenses!G{5 + shift}"),  # E5, two columns right, rows down
        ("DEP-BUDGET", f"Dépenses!E{5 + shift}"),
    }, listing(classeur.anomalies)
    assert amounts(classeur) == [*BASE_CENTS[:2], None]
    assert list(classeur.tables["eleves"].frame["code"]) == ["E001", "E002", "E003"]
    assert classeur.parsed.etablissement["dotation"] == 1_000_000


@covers("FEU-ENTETE")
def test_sheet_with_content_but_no_header_is_one_anomaly(fill, tmp_path, check):
    """Twelve filled title rows push the header past the 11 filled rows searched: the sheet
    is not read, and says so once, on the sheet (never an empty table read in silence)."""
    sheets = plain_sheets(fill)
    sheets["Dépenses"][1:1] = [[f"Note {i} du gestionnaire"] for i in range(11)]
    classeur = check(save_sheets(tmp_path / "notes.xlsx", sheets))
    expect(
        classeur,
        "FEU-ENTETE",
        "Dépenses!A1",
        B,
        "feuille « Dépenses » : ligne d'en-tête introuvable (aucun des titres de colonne "
        "attendus, comme « N° de pièce », « Date », « Catégorie », « Montant (€) », "
        "« Justificatif », dans les 11 premières lignes remplies) : aucune de ses lignes "
        "n'est lue",
        allow={"DEP-BUDGET"},  # no expense read: no category outside the budget either
    )
    assert statut(classeur) == A_CORRIGER


def test_sheet_whose_only_content_is_far_below_is_not_an_empty_table(fill, tmp_path, check):
    """Without a header, content anywhere in the sheet is reported (it used to be looked
    for in the first 11 rows only)."""
    sheets = plain_sheets(fill)
    sheets["Élèves"] = [*([] for _ in range(30)), *sheets["Élèves"][2:]]  # no title, no header
    classeur = check(save_sheets(tmp_path / "sans-entete.xlsx", sheets))
    anomaly = expect(
        classeur,
        "FEU-ENTETE",
        "Élèves!A31",
        B,
        "feuille « Élèves » : ligne d'en-tête introuvable",
        allow={"ETA-DOTATION-MENTORES", "VAL-REFERENCE", "MEN-FILIERE"},
    )
    assert anomaly.valeur == ""
    assert statut(classeur) == A_CORRIGER


def test_etablissement_without_any_rubrique_is_one_anomaly(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    sheets["Établissement"] = [["School"], ["Field", "Value"], ["Code", "0750655E"]]
    classeur = check(save_sheets(tmp_path / "anglais.xlsx", sheets))
    found = [a for a in classeur.anomalies if a.feuille == "Établissement"]
    assert [(a.code, a.lieu) for a in found] == [("FEU-ENTETE", "Établissement!A1")], listing(
        classeur.anomalies
    )
    assert "ni « Rubrique » et « Valeur », ni aucune rubrique" in found[0].message


# ------------------------------------------------------------------- « Payé à »

ELAN_SIRET = "55208131766522"  # a valid SIRET (Luhn), for the partner without convention


def _with_elan(fill):
    """P01 Passerelles Pro (signed convention, 3 000 €) and P02 Élan Jeunesse (none)."""
    fill.lignes["partenaires"].append(
        {"code": "P02", "raison_sociale": "Élan Jeunesse", "type": "Association",
         "siret": ELAN_SIRET, "convention": False}
    )  # fmt: skip
    coordination = "Coordination et sourçage des mentors"
    fill.lignes["depenses"] += [
        {"piece": f"F00{n}", "date": D(2024, 11, 20), "categorie": coordination,
         "montant": cents, "paye_a": paye_a, "justificatif": True, "service_fait": True}
        for n, (paye_a, cents) in enumerate(
            [
                ("élan  JEUNESSE", 40_000),  # row 6: its name, any case and spacing
                ("p 02", 10_000),  # row 7: its code, any case and spacing
                (" 552 081 317 66522 ", 7_000),  # row 8: its SIRET, spaced
                ("Passerelles-Pro", 5_000),  # row 9: P01's name, punctuated
                ("P3 Imprimerie", 2_000),  # row 10: a supplier whose name starts like a code
                ("P1234", 1_000),  # row 11: too many digits for a code like P01
            ],
            start=4,
        )
    ]  # fmt: skip
    return fill


def test_paye_a_holding_the_partners_name_code_or_siret_is_a_payment_to_it(fill, write_fill, check):
    classeur = check(write_fill(_with_elan(fill)))
    lines = classeur.eligibilite.lines.set_index("piece")
    partners = lines.loc[["F004", "F005", "F006", "F007", "F008", "F009"], "partenaire"]
    assert partners.fillna("—").tolist() == ["P02", "P02", "P02", "P01", "—", "—"]
    # P02 has no signed convention: 400 + 100 + 70 € ineligible; P01's 50 € eligible.
    assert lines.loc[["F004", "F005", "F006"], "motif"].tolist() == ["DEP-CONVENTION"] * 3
    assert lines.loc[["F004", "F005", "F006"], "ineligible"].sum() == 57_000
    assert (lines.at["F007", "eligible"], lines.at["F007", "ineligible"]) == (5_000, 0)
    # The suppliers stay suppliers: eligible, no partner, no anomaly on their cells.
    assert lines.loc[["F008", "F009"], "eligible"].tolist() == [2_000, 1_000]
    places = {a.lieu for a in classeur.anomalies}
    assert {"Dépenses!F10", "Dépenses!F11"}.isdisjoint(places), listing(classeur.anomalies)
    convention = [a for a in classeur.anomalies if a.code == "DEP-CONVENTION"]
    assert sorted(a.lieu for a in convention) == ["Dépenses!F6", "Dépenses!F7", "Dépenses!F8"]
    assert "le partenaire « élan  JEUNESSE » n'a pas de convention signée" in (
        convention[0].message
    )
    assert statut(classeur) == VALIDE  # warnings only: the money says it all


@covers("DEP-PARTENAIRE-INCONNU")
@pytest.mark.parametrize("typed", ["P03", "p 03", "P3", "P003"])
def test_undeclared_partner_code_is_blocking(fill, write_fill, check, typed):
    fill.lignes["partenaires"].append(
        {"code": "P02", "raison_sociale": "Élan Jeunesse", "type": "Association",
         "convention": False}
    )  # fmt: skip
    change(fill, "depenses", 2, paye_a=typed)
    anomaly = expect(
        check(write_fill(fill)),
        "DEP-PARTENAIRE-INCONNU",
        "Dépenses!F5",
        B,
        f"« Payé à » : « {typed} » a la forme d'un code partenaire (comme P01, P02) mais ne "
        "figure pas dans la feuille Partenaires ; déclarez ce partenaire",
    )
    assert anomaly.valeur == typed


@pytest.mark.parametrize(
    "typed", ["P3 Imprimerie", "Q03", "P1234", "PP03", "Imprimerie P03", "SNCF", "P"]
)
def test_values_not_shaped_like_a_partner_code_are_suppliers(fill, write_fill, check, typed):
    change(fill, "depenses", 2, paye_a=typed)
    classeur = check(write_fill(fill))
    assert codes_at(classeur) == baseline(), listing(classeur.anomalies)
    assert classeur.eligibilite.lines.set_index("piece").at["F003", "eligible"] == 12_345


def test_partner_codes_without_digits_make_no_shape(fill, write_fill, check):
    change(fill, "partenaires", 0, code="ELAN")
    change(fill, "mentors", 0, partenaire="ELAN")
    change(fill, "budget", 0, partenaire="ELAN")
    change(fill, "depenses", 0, paye_a="elan")
    change(fill, "depenses", 2, paye_a="ELAN2")
    classeur = check(write_fill(fill))
    assert codes_at(classeur) == baseline(), listing(classeur.anomalies)
    lines = classeur.eligibilite.lines.set_index("piece")
    assert lines.at["F001", "partenaire"] == "ELAN"
    assert lines.at["F001", "eligible"] == 150_000


# ------------------------------------------------------------------- total rows


def _total_row(width: int, cells: dict[int, object]) -> list:
    return [cells.get(i) for i in range(width)]


@covers("LIG-TOTAL")
def test_typed_total_rows_are_skipped_with_an_information(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    depenses, budget = sheets["Dépenses"], sheets["Budget prévisionnel"]
    depenses.append(_total_row(13, {0: "TOTAL", 4: BASE_TOTAL, 10: 40}))  # row 6
    budget.append(_total_row(3, {1: "Sous-total", 2: 3_500}))  # row 5
    budget.append(["Totaux", None, 3_500])  # row 6
    depenses.append(_total_row(13, {4: BASE_TOTAL}))  # row 7: a sum alone, typed
    classeur = check(save_sheets(tmp_path / "totaux.xlsx", sheets))
    assert amounts(classeur) == BASE_CENTS
    assert list(classeur.tables["budget"].frame["montant"]) == [300_000, 50_000]
    assert codes_at(classeur) == baseline() | {
        ("LIG-TOTAL", "Dépenses!A6"),
        ("LIG-TOTAL", "Dépenses!E7"),
        ("LIG-TOTAL", "Budget prévisionnel!B5"),
        ("LIG-TOTAL", "Budget prévisionnel!A6"),
    }, listing(classeur.anomalies)
    messages = {a.lieu: a for a in classeur.anomalies if a.code == "LIG-TOTAL"}
    assert messages["Dépenses!A6"].gravite is INFO
    assert messages["Dépenses!A6"].message == (
        "ligne 6 lue comme une ligne de total (« TOTAL ») : elle est ignorée, ses montants ne "
        "sont pas comptés une seconde fois"
    )
    assert messages["Dépenses!E7"].message.startswith(
        "ligne 7 lue comme une ligne de total (somme des lignes au-dessus : 1\u202f636,25 €)"
    )
    assert statut(classeur) == VALIDE


def test_libreoffice_somme_total_is_skipped_and_the_bilan_reconciles(fill, tmp_path, soffice):
    """`=SOMME(E3:E5)` under the expenses, saved by LibreOffice (its value cached), in .xlsx
    and .ods: one Information, no « fill in N° de pièce, Date, Catégorie », 1 636,25 € read
    once, and Contrôles right."""
    sheets = plain_sheets(fill)
    sheets["Dépenses"].append(_total_row(13, {4: "=SUM(E3:E5)", 10: "=SUM(K3:K5)"}))
    source = save_sheets(tmp_path / "somme.xlsx", sheets)
    for fmt in ("xlsx", "ods"):
        converted = lo_convert(soffice, source, fmt, tmp_path / fmt)
        classeur, _ = check_workbook(converted, rules_mod.for_campagne(2024))
        assert amounts(classeur) == BASE_CENTS
        total = [a for a in classeur.anomalies if a.code == "LIG-TOTAL"]
        assert [(a.lieu, a.gravite) for a in total] == [("Dépenses!E6", INFO)]
        assert "somme des lignes au-dessus : 1\u202f636,25 €, 40" in total[0].message
        assert not [a for a in classeur.anomalies if a.code == "VAL-OBLIGATOIRE"]
    rows = bilan(tmp_path / "ods", tmp_path / "bilan.xlsx")
    assert rows["somme.ods"]["Statut du classeur"] == VALIDE
    assert rows["Contrôles"]["Montants lus (€)"] == pytest.approx(BASE_TOTAL)
    assert rows["Contrôles"]["Résultat"] == "Conforme"


def test_lines_that_only_look_like_totals_are_read(fill, tmp_path, check):
    """A libellé « Total Énergies » on a real line, a lone amount that sums nothing: read
    as lines (the lone amount, with what it lacks)."""
    change(fill, "depenses", 2, libelle="Total Énergies, carburant")
    sheets = plain_sheets(fill)
    sheets["Dépenses"].append(_total_row(13, {4: 99.0}))  # row 6: not a sum
    sheets["Dépenses"].append(_total_row(13, {4: 12.80}))  # row 7: one line's amount only
    classeur = check(save_sheets(tmp_path / "pas-des-totaux.xlsx", sheets))
    assert amounts(classeur) == [*BASE_CENTS, 9_900, 1_280]
    assert ("VAL-OBLIGATOIRE", "Dépenses!A6") in codes_at(classeur)
    assert not [a for a in classeur.anomalies if a.code == "LIG-TOTAL"]


# -------------------------------------------------------------- wrong campaign


def _dated(fill, year: int):
    """Every date of the workbook moved into `year` (expenses, convention, students)."""
    for line in fill.lignes["depenses"]:
        line["date"] = line["date"].replace(year=year)
    partner = fill.lignes["partenaires"][0]
    partner["debut"], partner["fin"] = D(year, 1, 1), D(year, 12, 31)
    return fill


@covers("ETA-CAMPAGNE-DATES")
def test_workbook_of_the_wrong_campaign_is_blocked_on_its_campagne_cell(fill, tmp_path):
    """Declared 2024, expenses of 2026 (outside 2024's period, inside 2025's): one blocking
    anomaly on Établissement!B6 in `verifier`, no period warning per line."""
    path = write_template(tmp_path / "2026.xlsx", rules_mod.for_campagne(2024), _dated(fill, 2026))
    result = run("verifier", path)
    assert result.exit_code == 1, result.output
    classeur, applied = check_workbook(path)
    assert applied.campagne == 2024
    anomaly = expect(
        classeur,
        "ETA-CAMPAGNE-DATES",
        "Établissement!B6",
        B,
        "campagne 2024 : 3 des 3 dépenses datées sont hors de sa période (du 01/01/2024 au "
        "31/12/2025) mais dans celle de la campagne 2025 ; utilisez le modèle de la campagne "
        "2025",
    )
    assert anomaly.valeur == "2024"
    assert not [a for a in classeur.anomalies if a.code == "DEP-PERIODE"]
    # The money is still the rules': every line out of the period is ineligible.
    lines = classeur.eligibilite.lines
    assert set(lines["motif"]) == {"DEP-PERIODE"}
    assert int(lines["ineligible"].sum()) == sum(BASE_CENTS)


def test_verifier_and_bilan_agree_on_the_wrong_campaign(fill, tmp_path):
    """The same workbook in a bilan of 2024 workbooks (the same anomaly as `verifier`), and in
    a bilan of 2025 workbooks (ETA-CAMPAGNE): blocked on the same cell either way."""
    r2024, r2025 = rules_mod.for_campagne(2024), rules_mod.for_campagne(2025)
    wrong = _dated(fill, 2026)
    for name, folder in (("a2024", tmp_path / "l2024"), ("a2025", tmp_path / "l2025")):
        folder.mkdir()
        write_template(folder / "a-mauvaise.xlsx", r2024, wrong)
        for n, uai in enumerate(("0750654D", "0750658H")):
            other = _dated(base_fill(), 2024 if name == "a2024" else 2025)
            other.etablissement.update(uai=uai, campagne=2024 if name == "a2024" else 2025)
            write_template(folder / f"b{n}.xlsx", r2024 if name == "a2024" else r2025, other)
    out = tmp_path / "bilan-2024.xlsx"
    rows = bilan(tmp_path / "l2024", out)
    assert rows["a-mauvaise.xlsx"]["Statut du classeur"] == A_CORRIGER
    found = anomalies_of(out, "a-mauvaise.xlsx")
    assert ("ETA-CAMPAGNE-DATES", "Établissement!B6") in found
    assert not {c for c, _ in found} & {"DEP-PERIODE"}
    assert rows["b0.xlsx"]["Statut du classeur"] == VALIDE
    out = tmp_path / "bilan-2025.xlsx"
    rows = bilan(tmp_path / "l2025", out)
    assert rows["a-mauvaise.xlsx"]["Statut du classeur"] == A_CORRIGER
    assert ("ETA-CAMPAGNE", "Établissement!B6") in anomalies_of(out, "a-mauvaise.xlsx")


def test_a_few_lines_out_of_the_period_keep_their_own_warnings(fill, write_fill, check):
    change(fill, "depenses", 2, date=D(2026, 2, 1))  # one line of three
    classeur = check(write_fill(fill))
    assert not [a for a in classeur.anomalies if a.code == "ETA-CAMPAGNE-DATES"]
    assert [a.lieu for a in classeur.anomalies if a.code == "DEP-PERIODE"] == ["Dépenses!B5"]


# --------------------------------------------------- empty sheets, copied sheets


@covers("FEU-VIDE")
def test_empty_depenses_and_eleves_are_warned(fill, write_fill, check):
    fill.lignes["depenses"] = []
    classeur = check(write_fill(fill))
    anomaly = expect(
        classeur,
        "FEU-VIDE",
        "Dépenses!A3",
        A,
        "feuille « Dépenses » sans aucune ligne : aucune dépense saisie ;",
        allow={"DEP-BUDGET"},
    )
    assert statut(classeur) == VALIDE  # a warning: a workbook may have spent nothing yet
    assert anomaly.valeur == ""
    fill.lignes["eleves"] = []
    classeur = check(write_fill(fill, "sans-eleves.xlsx"))
    found = {a.lieu: a.message for a in classeur.anomalies if a.code == "FEU-VIDE"}
    assert found["Élèves!A3"].startswith("feuille « Élèves » sans aucune ligne : aucun élève")


def test_a_blank_depenses_sheet_without_header_is_warned(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    sheets["Dépenses"] = []
    classeur = check(save_sheets(tmp_path / "blanche.xlsx", sheets))
    assert ("FEU-VIDE", "Dépenses!A1") in codes_at(classeur), listing(classeur.anomalies)


@covers("FEU-COPIE")
@pytest.mark.parametrize("copy", ["Dépenses (2)", "Copie de Dépenses", "Dépenses_2"])
def test_a_pasted_copy_of_a_sheet_is_named_and_not_counted(fill, tmp_path, check, copy):
    sheets = plain_sheets(fill)
    sheets[copy] = [*sheets["Dépenses"], ["F004", "12/03/2025", "Communication", "", 99]]
    classeur = check(save_sheets(tmp_path / "copie.xlsx", sheets))
    anomaly = expect(
        classeur,
        "FEU-COPIE",
        copy,
        A,
        f"feuille « {copy} » : copie de la feuille « Dépenses », non lue (ses lignes ne sont "
        "pas comptées) ; reportez dans « Dépenses » celles qui manquent",
    )
    assert anomaly.cellule == ""
    assert amounts(classeur) == BASE_CENTS


def test_a_copy_without_its_original_says_to_rename_it(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    sheets["Dépenses (2)"] = sheets.pop("Dépenses")
    classeur = check(save_sheets(tmp_path / "seule-copie.xlsx", sheets))
    found = {a.code: a for a in classeur.anomalies}
    assert "renommez-la « Dépenses »" in found["FEU-COPIE"].message
    assert found["FEU-MANQUANTE"].feuille == "Dépenses"


# ------------------------------------------------------- password, not a template


def _uno_python() -> str | None:
    """A Python with LibreOffice's UNO bridge (Debian: python3-uno), or None."""
    for exe in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if exe and subprocess.run([exe, "-c", "import uno"], capture_output=True).returncode == 0:
            return exe
    return None


@pytest.mark.parametrize(("fmt", "filter_name"), [("xls", "MS Excel 97"), ("ods", "calc8")])
def test_password_protected_xls_and_ods_are_fic_chiffre(
    fill, write_fill, tmp_path, soffice, check, fmt, filter_name
):
    """Saved with a password by LibreOffice (UNO, tests/lo_password.py): « protégé par un
    mot de passe », not « endommagé » (whose advice, to save again, keeps the password)."""
    python = _uno_python()
    if python is None:
        if os.environ.get("MENTORAT_EXIGER_SOFFICE"):
            pytest.fail("le pont UNO de LibreOffice (python3-uno) est requis")
        pytest.skip("pont UNO de LibreOffice absent")
    target = tmp_path / f"protege.{fmt}"
    subprocess.run(
        [python, str(Path(__file__).with_name("lo_password.py")), str(write_fill(fill)),
         str(target), filter_name, (tmp_path / "lo-uno").as_uri(), soffice[0]],
        check=True, timeout=180, capture_output=True,
    )  # fmt: skip
    data = target.read_bytes()
    if fmt == "ods":
        with zipfile.ZipFile(target) as archive:
            assert b"encryption-data" in archive.read("META-INF/manifest.xml")
    else:
        assert data.startswith(b"\xd0\xcf\x11\xe0")
    expect_file_level(
        check(target),
        "FIC-CHIFFRE",
        "classeur protégé par un mot de passe ; enregistrez une copie sans mot de passe",
        "décochez « Enregistrer avec mot de passe »",
    )


@covers("FIC-MODELE")
def test_a_workbook_that_is_not_a_template_is_one_blocking_anomaly(tmp_path, check):
    path = tmp_path / "budget-perso.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Feuil1"
    wb.active.append(["Budget", "Montant"])
    wb.active.append(["Courses", 120])
    wb.create_sheet("Rencontres")  # an optional sheet of the template is not enough
    wb.save(path)
    classeur = check(path)
    expect_file_level(
        classeur,
        "FIC-MODELE",
        "ce fichier n'est pas un classeur d'établissement du plan mentorat : aucune des "
        "feuilles attendues (Établissement, Élèves, Mentors, Partenaires, Budget "
        "prévisionnel, Dépenses) n'y figure (feuilles lues : « Feuil1 », « Rencontres »)",
    )
    result = run("verifier", path)
    assert result.exit_code == 1
    assert "Statut : Illisible" in result.output
    assert "FEU-MANQUANTE" not in result.output


# --------------------------------------------------------------- credit notes


@covers("VAL-AVOIR")
def test_a_negative_amount_says_how_to_record_a_credit_note(fill, write_fill, check):
    change(fill, "depenses", 2, montant=-2_500)
    classeur = check(write_fill(fill))
    anomaly = expect(
        classeur,
        "VAL-AVOIR",
        "Dépenses!E5",
        B,
        "montant négatif (-25,00 €) : un avoir ne se saisit pas en négatif ; déduisez-le du "
        "montant de la facture qu'il corrige",
    )
    assert anomaly.valeur == "-25,00 €"
    # Counted for nothing, listed as rejected at 0 € (SPEC §5.2, DEP-MONTANT).
    line = classeur.eligibilite.lines.set_index("piece").loc["F003"]
    assert (line["eligible"], line["ineligible"], line["motif"]) == (0, 0, "DEP-MONTANT")


# ------------------------------------------------- --annoter on what openpyxl refuses

X14_VALIDATION = (
    b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB5D0}" '
    b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    b'<x14:dataValidations count="1" '
    b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    b'<x14:dataValidation type="list" allowBlank="1"><x14:formula1>'
    b"<xm:f>Listes!$A$2:$A$3</xm:f></x14:formula1><xm:sqref>G3:G302</xm:sqref>"
    b"</x14:dataValidation></x14:dataValidations></ext></extLst>"
)


def _rewritten(source: Path, target: Path, edit) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info, edit(info.filename, zin.read(info)))
    return target


def _excel_list_extension(name: str, data: bytes) -> bytes:
    """A drop-down that Excel stores in an x14 extension (a list typed as a range of another
    sheet): openpyxl warns that it drops it."""
    if name.startswith("xl/worksheets/sheet") and b"<sheetData" in data:
        return data.replace(b"</worksheet>", X14_VALIDATION + b"</worksheet>")
    return data


def _font_family_34(name: str, data: bytes) -> bytes:
    """A font family above 14, as some Excel add-ins and exporters write it: openpyxl
    refuses the whole stylesheet (« Max value is 14 »); calamine does not read styles."""
    if name == "xl/styles.xml":
        return re.sub(rb'<family val="[0-9]+"/>', b'<family val="34"/>', data)
    return data


@pytest.mark.parametrize("edit", [_excel_list_extension, _font_family_34])
def test_annoter_on_what_openpyxl_refuses_builds_the_copy_from_the_values(
    fill, write_fill, tmp_path, edit
):
    change(fill, "depenses", 2, montant="12,5,0")
    path = _rewritten(write_fill(fill), tmp_path / "excel.xlsx", edit)
    copy = tmp_path / "copie.xlsx"
    process = subprocess.run(
        [sys.executable, "-m", "mentorat_budget", "verifier", str(path), "--annoter", str(copy)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert process.returncode == 1, process.stderr  # the blocking anomaly, not « impossible »
    assert process.stderr == ""  # no English UserWarning, no error
    assert "Copie annotée écrite" in process.stdout
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames[0] == "Anomalies à corriger"
    cell = wb["Dépenses"]["E5"]
    assert cell.value == "12,5,0"
    assert "VAL-MONTANT" in cell.comment.text
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    summary = [c.value for c in wb["Anomalies à corriger"]["A"]]
    assert any("Copie reconstruite à partir des valeurs lues" in str(v) for v in summary)
