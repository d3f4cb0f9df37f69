"""The analyst's bilan over folders of workbooks, as a finance officer would open it."""

from __future__ import annotations

import copy
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorat_budget.cli import main
from mentorat_budget.write.bilan import ETAB_COLUMNS, SHEETS

from .conftest import base_fill, lo_convert
from .test_template import RECALC

ROOT = Path(__file__).resolve().parents[1]
EXEMPLES = ROOT / "workbooks" / "exemples"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def sheet_rows(path: Path, name: str) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def synthese(path: Path) -> dict:
    return {r[0]: r[1] for r in sheet_rows(path, "Synthèse")[3:] if r and r[0]}


def table(path: Path, name: str, header_row: int = 0) -> list[dict]:
    rows = sheet_rows(path, name)
    headers = rows[header_row]
    return [dict(zip(headers, r, strict=True)) for r in rows[header_row + 1 :] if any(r)]


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "classeurs"
    shutil.copytree(EXEMPLES, target)
    return target


def test_bilan_of_the_samples_has_the_nine_sheets_and_reconciles(folder, tmp_path):
    out = tmp_path / "bilan.xlsx"
    result = run("bilan", folder, "-o", out, "--jobs", 1)
    assert result.exit_code == 0, result.output
    assert "6 classeurs lus" in result.output
    assert f"Bilan écrit : {out}" in result.output
    assert openpyxl.load_workbook(out).sheetnames == list(SHEETS)
    etab = table(out, "Établissements")
    assert list(etab[0])[: len(ETAB_COLUMNS)] == [c.header for c in ETAB_COLUMNS]
    assert "Déplacements des mentors (€)" in etab[0]
    assert "Rémunération des mentors (€)" not in etab[0]
    rows, total = etab[:-1], etab[-1]
    assert total["UAI"] == "Total (hors doublons)"
    assert len(rows) == 6
    for key in (
        "Dotation notifiée (€)",
        "Dépenses éligibles (€)",
        "Dépenses inéligibles (€)",
        "Reliquat reporté (€)",
        "À reverser à la DJEPVA (€)",
    ):
        assert total[key] == pytest.approx(sum(r[key] or 0 for r in rows), abs=0.001), key
    for r in rows:  # per establishment: disponibles = dotation + report; reliquat split
        assert r["Crédits disponibles (€)"] == pytest.approx(
            r["Dotation notifiée (€)"] + r["Report N-1 (€)"]
        )
        assert r["Reliquat reporté (€)"] + r["À reverser à la DJEPVA (€)"] == pytest.approx(
            r["Reliquat (€)"]
        )
    s = synthese(out)
    assert s["Classeurs lus"] == 6
    assert s["Dépenses éligibles (€)"] == pytest.approx(total["Dépenses éligibles (€)"])
    assert s["Date limite de reversement"].isoformat() == "2025-12-31"
    controles = {r[0]: r[1] for r in sheet_rows(out, "Contrôles") if r and r[0]}
    assert controles["Résultat"] == "Conforme"
    assert controles["Écart : lus − éligibles − inéligibles listées (€)"] == 0
    assert controles["Montants lus (€)"] == pytest.approx(
        controles["Dépenses éligibles (€)"]
        + controles["Parts inéligibles listées, une par motif (€)"]
    )
    rejets = table(out, "Dépenses inéligibles")
    assert rejets[-1]["Part inéligible (€)"] == pytest.approx(s["Dépenses inéligibles (€)"])


def _money_cells_are_numbers(path: Path) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Établissements"]
    headers = [c.value for c in ws[1]]
    col = headers.index("Dotation notifiée (€)") + 1
    cell = ws.cell(2, col)
    assert isinstance(cell.value, float | int)
    assert "€" in cell.number_format
    rate = ws.cell(2, headers.index("Taux de consommation") + 1)
    assert "%" in rate.number_format


def test_money_is_numbers_in_euro_format(folder, tmp_path):
    out = tmp_path / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    _money_cells_are_numbers(out)


def test_two_runs_same_bytes_whatever_the_jobs(folder, tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", a, "--jobs", 1).exit_code == 0
    assert run("bilan", folder, "-o", b, "--jobs", 2).exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_bilan_left_in_the_input_folder_is_not_read_back(folder):
    out = folder / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    again = run("bilan", folder, "-o", out)
    assert again.exit_code == 0
    assert "6 classeurs lus" in again.output
    assert synthese(out)["Classeurs lus"] == 6
    copy_elsewhere = folder / "sous-dossier" / "ancien-bilan.xlsx"
    copy_elsewhere.parent.mkdir()
    shutil.copy(out, copy_elsewhere)
    third = run("bilan", folder, "-o", folder / "nouveau.xlsx")
    assert "6 classeurs lus" in third.output
    assert "sous-dossier/ancien-bilan.xlsx" in {
        r[0] for r in sheet_rows(folder / "nouveau.xlsx", "Contrôles") if r
    }


def test_formula_like_text_comes_out_as_text(tmp_path, write_fill):
    fill = copy.deepcopy(base_fill())
    line = fill.lignes["depenses"][2]
    line.update(
        libelle='=HYPERLINK("http://x","y")', justificatif=False, paye_a="https://exemple.fr"
    )
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(write_fill(fill), folder / "a.xlsx")
    out = tmp_path / "bilan.xlsx"
    assert run("bilan", folder, "-o", out, "--fiches", tmp_path / "fiches").exit_code == 0
    rejets = table(out, "Dépenses inéligibles")
    assert rejets[0]["Libellé"] == '=HYPERLINK("http://x","y")'
    for produced in [out, *(tmp_path / "fiches").glob("*.xlsx")]:
        with zipfile.ZipFile(produced) as z:
            for name in z.namelist():
                xml = z.read(name).decode("utf-8", "replace")
                assert "HYPERLINK" not in re.sub(r"<t[^>]*>.*?</t>", "", xml, flags=re.S), name
                assert "hyperlink" not in name.lower()


def _two_establishments(tmp_path, write_fill) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    first = copy.deepcopy(base_fill())
    shutil.copy(write_fill(first, "x.xlsx"), folder / "a-premier.xlsx")
    second = copy.deepcopy(base_fill())
    second.etablissement.update(uai="0690026D", nom="Lycée Lyon", academie="Lyon")
    second.etablissement["poursuite"] = False
    shutil.copy(write_fill(second, "y.xlsx"), folder / "b-second.xlsx")
    return folder


def test_same_uai_twice_keeps_the_first_and_marks_a_doublon(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    shutil.copy(folder / "a-premier.xlsx", folder / "c-copie.xlsx")
    out = tmp_path / "bilan.xlsx"
    result = run("bilan", folder, "-o", out)
    assert result.exit_code == 0
    rows = {r["Fichier"]: r for r in table(out, "Établissements")}
    assert rows["c-copie.xlsx"]["Statut du classeur"] == "Doublon"
    assert rows["a-premier.xlsx"]["Statut du classeur"] == "Valide"
    total = (
        rows["Total (hors doublons)"]
        if "Total (hors doublons)" in rows
        else table(out, "Établissements")[-1]
    )
    dotation = rows["a-premier.xlsx"]["Dotation notifiée (€)"]
    assert total["Dotation notifiée (€)"] == pytest.approx(2 * dotation)  # not 3 ×
    s = synthese(out)
    assert s["Classeurs lus"] == 3
    assert s["Classeurs en double (hors totaux)"] == 1
    anomalies = table(out, "Anomalies")
    assert any(a["Code"] == "ETA-DOUBLON" and a["Fichier"] == "c-copie.xlsx" for a in anomalies)
    assert run("bilan", folder, "-o", out, "--strict").exit_code == 1


def test_poursuite_non_means_returned_to_djepva(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    out = tmp_path / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    rows = {r["Fichier"]: r for r in table(out, "Établissements")}
    lyon, paris = rows["b-second.xlsx"], rows["a-premier.xlsx"]
    assert lyon["Poursuite"] == "Non"
    assert lyon["Reliquat reporté (€)"] == 0
    assert lyon["Reliquat (€)"] > 0
    assert lyon["À reverser à la DJEPVA (€)"] == pytest.approx(lyon["Reliquat (€)"])
    assert paris["À reverser à la DJEPVA (€)"] == 0
    assert synthese(out)["À reverser à la DJEPVA (€)"] == pytest.approx(lyon["Reliquat (€)"])


def test_one_bad_file_never_stops_the_batch(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    (folder / "casse.xlsx").write_bytes(b"PK\x03\x04 pas un vrai zip")
    (folder / "~$a-premier.xlsx").write_bytes(b"verrou d'Excel")
    (folder / "notes.txt").write_text("pas un classeur")
    out = tmp_path / "bilan.xlsx"
    result = run("bilan", folder, "-o", out)
    assert result.exit_code == 0, result.output
    rows = {r["Fichier"]: r for r in table(out, "Établissements")}
    assert set(rows) - {""} == {"a-premier.xlsx", "b-second.xlsx", "casse.xlsx"}
    assert rows["casse.xlsx"]["Statut du classeur"] == "Illisible"
    assert synthese(out)["Classeurs illisibles"] == 1
    assert run("bilan", folder, "-o", out, "--strict").exit_code == 1


def test_bilan_holds_no_student_or_mentor_code(folder, tmp_path):
    out = tmp_path / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    book = python_calamine.CalamineWorkbook.from_path(str(out))
    cells = [str(c) for name in book.sheet_names for row in sheet_rows(out, name) for c in row]
    cell_ref = re.compile(r"(?:[^!]+!)?[A-Z]{1,3}\d+")  # Dépenses!E14, or E14 in « Cellule »
    found = [c for c in cells if re.search(r"\b[EM]\d{2,3}\b", c) and not cell_ref.fullmatch(c)]
    assert found == []
    # The inputs do hold such codes, and the rejected lines mention some of them.
    assert any("[code masqué]" in c for c in cells)


def test_fiches_hold_one_establishment_each(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    fiches = tmp_path / "fiches"
    assert run("bilan", folder, "-o", tmp_path / "b.xlsx", "--fiches", fiches).exit_code == 0
    produced = sorted(fiches.glob("*.xlsx"))
    assert [p.name for p in produced] == [
        "fiche-0690026D-lycee-lyon.xlsx",
        "fiche-0750655E-lycee-professionnel-test.xlsx",
    ]
    for path in produced:
        uai = path.name.split("-")[1]
        other = {"0690026D", "0750655E"} - {uai}
        content = "\n".join(
            str(c)
            for name in ("Synthèse", "Dépenses inéligibles", "Anomalies")
            for row in sheet_rows(path, name)
            for c in row
        )
        assert uai in content and other.pop() not in content


def test_annotated_copies_for_workbooks_with_anomalies(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    broken = copy.deepcopy(base_fill())
    broken.etablissement.update(uai="0750654D")
    broken.lignes["depenses"][0]["montant"] = "12,5,0"
    shutil.copy(write_fill(broken, "z.xlsx"), folder / "c-faux.xlsx")
    copies = tmp_path / "annotes"
    result = run("bilan", folder, "-o", tmp_path / "b.xlsx", "--annoter", copies)
    assert result.exit_code == 0
    annotated = copies / "c-faux-annote.xlsx"
    assert annotated.exists()
    assert "VAL-MONTANT" in openpyxl.load_workbook(annotated)["Dépenses"]["E3"].comment.text


def test_no_folder_or_no_workbook_exits_2(tmp_path):
    empty = tmp_path / "vide"
    empty.mkdir()
    result = run("bilan", empty, "-o", tmp_path / "b.xlsx")
    assert result.exit_code == 2
    assert "aucun classeur" in result.output
    result = run("bilan", tmp_path / "absent", "-o", tmp_path / "b.xlsx")
    assert result.exit_code == 2


def test_libreoffice_recalculation_gives_the_cached_totals(folder, tmp_path, soffice):
    (folder / "casse.xlsx").write_bytes(b"PK\x03\x04 tronque")  # an Illisible row too
    out = tmp_path / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    profile = tmp_path / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC)
    recalc = [soffice[0], f"-env:UserInstallation={profile.as_uri()}", "--headless"]
    converted = lo_convert(recalc, out, "xlsx", tmp_path / "lo")
    for name in (
        "Synthèse",
        "Établissements",
        "Académies",
        "Filières",
        "Contrôles",
        "Dépenses inéligibles",
    ):
        mine, theirs = sheet_rows(out, name), sheet_rows(converted, name)
        assert len(mine) == len(theirs), name
        for r, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            for c, (x, y) in enumerate(zip(a, b, strict=False)):
                if isinstance(x, float) or isinstance(y, float):
                    assert x == pytest.approx(y, abs=0.005), (name, r, c)
                elif x != "" or y != "":
                    assert x == y, (name, r, c)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4))
def test_batch_totals_reconcile_with_the_lines(tmp_path_factory, seed, n):
    """Whatever the workbooks (samples with their mistakes), the bilan's totals are the sums
    of the lines: read = eligible + ineligible to the cent, ineligible = Σ rejected parts,
    reliquat = reporté + à reverser."""
    from mentorat_budget.batch import discover, run_batch
    from mentorat_budget.examples import write_examples
    from mentorat_budget.figures import total
    from mentorat_budget.rules import for_campagne

    folder = tmp_path_factory.mktemp("lot")
    rules = for_campagne(2024)
    write_examples(folder, n, seed, rules)
    results, _ = run_batch(discover([folder]), rules, jobs=1)
    counted = [r for r in results if r.in_totals]
    t = total([r.figures for r in counted])
    assert t.lus == t.eligibles + t.ineligibles
    assert t.ineligibles == sum(x["cents"] for r in counted for x in r.rejets)
    assert t.reliquat == t.reliquat_reporte + t.a_reverser
    assert t.eligibles == sum(t.par_categorie.values())
    assert t.ineligibles == sum(t.par_motif.values())
    for r in counted:
        f = r.figures
        assert f.reliquat * f.depassement == 0
        assert f.disponibles - f.eligibles == f.reliquat - f.depassement


# ------------------------------------------------------------- regressions (review)


def test_duplicate_never_overwrites_the_kept_establishments_fiche(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    (folder / "sous").mkdir()
    shutil.copy(folder / "a-premier.xlsx", folder / "sous" / "copie.xlsx")
    fiches = tmp_path / "fiches"
    assert run("bilan", folder, "-o", tmp_path / "b.xlsx", "--fiches", fiches).exit_code == 0
    fiche = fiches / "fiche-0750655E-lycee-professionnel-test.xlsx"
    values = {r[0]: r[1] for r in sheet_rows(fiche, "Synthèse") if r and r[0]}
    assert (values["Fichier"], values["Statut du classeur"]) == ("a-premier.xlsx", "Valide")
    assert len(list(fiches.glob("*.xlsx"))) == 2


def test_numeric_codes_are_masked_without_touching_amounts(tmp_path, write_fill):
    fill = copy.deepcopy(base_fill())
    fill.etablissement["eleves_prevus"] = 2
    for i, eleve in enumerate(fill.lignes["eleves"], start=1):
        eleve["code"] = i  # student codes typed as numbers: 1, 2, 3
    fill.lignes["rencontres"] = []
    fill.lignes["eleves"].append(dict(fill.lignes["eleves"][0], code=1))  # VAL-DOUBLON « 1 »
    fill.lignes["depenses"][2].update(libelle="Visite du 12/03/2025, 2 élèves", justificatif=False)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(write_fill(fill), folder / "a.xlsx")
    out = tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    rejets = table(out, "Dépenses inéligibles")
    assert rejets[0]["Libellé"] == "Visite du 12/03/2025, 2 élèves"
    anomalies = table(out, "Anomalies")
    doublon = next(a for a in anomalies if a["Code"] == "VAL-DOUBLON")
    assert "« [code masqué] »" in doublon["Message"] and doublon["Valeur lue"] == "[code masqué]"
    # 10 000 € for 2 students planned: a warning whose « 2 » is a count, not student 2.
    warning = next(a for a in anomalies if a["Code"] == "ETA-DOTATION-PREVUS")
    assert warning["Message"] == (
        "dotation 10\u202f000,00 € supérieure au forfait de 500,00 € × 2 élèves prévus "
        "(1\u202f000,00 €) ; vérifiez la dotation notifiée"
    )


def test_rejected_cells_follow_the_users_columns(tmp_path, fill, check):
    """Columns in another order: « Cellule » names where the amount really is."""
    from .test_anomalies import plain_sheets, save_sheets

    fill.lignes["depenses"][2]["justificatif"] = False
    sheets = plain_sheets(fill)
    for row in sheets["Dépenses"][1:]:
        row.reverse()  # Montant (€), 5th of 13, becomes the 9th (I)
    path = save_sheets(tmp_path / "ordre.xlsx", sheets)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(path, folder / "a.xlsx")
    out = tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    classeur = check(path)
    letter = classeur.tables["depenses"].letters["montant"]
    assert letter == "I"
    assert table(out, "Dépenses inéligibles")[0]["Cellule"] == "Dépenses!I5"


def test_unknown_mentor_is_not_a_mentored_student(fill, write_fill, check, rules):
    from mentorat_budget.checks import mentored_mask

    fill.lignes["eleves"][0]["mentor"] = "MX"
    assert mentored_mask(check(write_fill(fill)).lot).tolist() == [False, True, False]


def test_unreadable_files_have_their_sha256_and_a_consistent_total(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    (folder / "casse.xlsx").write_bytes(b"PK\x03\x04 tronque")
    out = tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    import hashlib

    controls = {r[0]: r[1] for r in sheet_rows(out, "Contrôles") if r}
    assert controls["casse.xlsx"] == hashlib.sha256(b"PK\x03\x04 tronque").hexdigest()
    rows = table(out, "Établissements")
    assert rows[-1]["Anomalies bloquantes"] == sum(r["Anomalies bloquantes"] for r in rows[:-1])


def test_annotated_copies_left_in_the_folder_are_not_read_back(tmp_path, write_fill):
    folder = _two_establishments(tmp_path, write_fill)
    broken = copy.deepcopy(base_fill())
    broken.etablissement["uai"] = "0750654D"
    broken.lignes["depenses"][0]["montant"] = "12,5,0"
    shutil.copy(write_fill(broken, "z.xlsx"), folder / "c-faux.xlsx")
    shutil.copy(folder / "c-faux.xlsx", folder / "c-faux.ods")  # same stem, other format
    (folder / "c-faux.ods").write_bytes(b"not really an ods")
    copies = folder / "annotes"
    first = run("bilan", folder, "-o", tmp_path / "b.xlsx", "--annoter", copies)
    assert "4 classeurs lus" in first.output
    assert {p.name for p in copies.glob("*.xlsx")} >= {
        "c-faux-annote.xlsx",
        "c-faux-ods-annote.xlsx",
    }
    again = run("bilan", folder, "-o", tmp_path / "b.xlsx")
    assert "4 classeurs lus" in again.output, again.output


def test_the_uai_decides_the_academie(tmp_path, write_fill):
    fill = copy.deepcopy(base_fill())
    fill.etablissement.update(uai="0690026D", academie="Grenoble")
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(write_fill(fill), folder / "a.xlsx")
    out = tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    assert table(out, "Établissements")[0]["Académie"] == "Lyon"
    assert [r["Académie"] for r in table(out, "Académies")[:-1]] == ["Lyon"]


def test_ods_rows_repeated_with_a_value_are_refused_before_parsing(tmp_path, check):
    """47 KB of .ods that would expand to three million rows: FIC-LIGNES, at once."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        '<office:spreadsheet><table:table table:name="Dépenses">'
        '<table:table-row table:number-rows-repeated="3000000">'
        '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p>'
        "</table:table-cell></table:table-row></table:table></office:spreadsheet>"
        "</office:body></office:document-content>"
    )
    path = tmp_path / "bombe.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
    classeur = check(path)
    found = [(a.code, a.feuille) for a in classeur.anomalies if a.code == "FIC-LIGNES"]
    assert found == [("FIC-LIGNES", "Dépenses")]


def test_a_cell_placed_far_below_its_row_is_measured_by_its_own_reference(
    fill, write_fill, tmp_path, check
):
    """calamine places a cell by its reference: `<row r="3"><c r="A60000">` is 60 000 rows."""
    source = write_fill(fill)
    target = tmp_path / "loin.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet7.xml":  # Dépenses
                data = data.replace(b'<c r="A3"', b'<c r="A60000"', 1)
            zout.writestr(info, data)
    found = [(a.code, a.feuille) for a in check(target).anomalies if a.code == "FIC-LIGNES"]
    assert found == [("FIC-LIGNES", "Dépenses")]


def test_each_workbook_counts_the_same_alone_or_in_a_lot(tmp_path):
    """The lot is checked at once: every workbook's figures, rejected parts and anomalies
    must be what it gets alone (codes P01, M01… repeat across workbooks)."""
    from mentorat_budget.batch import discover, run_batch
    from mentorat_budget.rules import for_campagne

    rules = for_campagne(2024)
    folder, _ = _samples(tmp_path, 4, 31)
    (folder / "casse.xlsx").write_bytes(b"PK\x03\x04")  # an unreadable one in the middle
    together, _ = run_batch(discover([folder]), rules, jobs=1)
    for result in together:
        alone, _ = run_batch([(result.path, result.fichier)], rules, jobs=1)
        (one,) = alone
        assert one.figures == result.figures, result.fichier
        assert one.rejets == result.rejets, result.fichier
        assert [a.as_dict() for a in one.anomalies] == [a.as_dict() for a in result.anomalies]


def _comparable(results) -> list[tuple]:
    return [
        (r.fichier, r.statut, r.figures, r.rejets, [a.as_dict() for a in r.anomalies])
        for r in results
    ]


def _samples(tmp_path: Path, nombre: int, graine: int) -> tuple[Path, list]:
    """A folder of sample workbooks of 2024, and the files of the batch in it."""
    from mentorat_budget.batch import discover
    from mentorat_budget.examples import write_examples
    from mentorat_budget.rules import for_campagne

    folder = tmp_path / "lot"
    folder.mkdir()
    write_examples(folder, nombre, graine, for_campagne(2024))
    return folder, discover([folder])


@pytest.mark.parametrize("jobs", [1, 2])
def test_lots_of_any_size_give_the_same_results(tmp_path, monkeypatch, jobs):
    """The workbooks are checked CHUNK at a time while the workers read on."""
    from mentorat_budget import batch

    folder, _ = _samples(tmp_path, 5, 7)
    (folder / "casse.xlsx").write_bytes(b"PK\x03\x04")
    whole, _ = batch.run_batch(batch.discover([folder]), None, jobs=1)
    monkeypatch.setattr(batch, "CHUNK", 2)
    chunked, applied = batch.run_batch(batch.discover([folder]), None, jobs=jobs)
    assert applied.campagne == 2024
    assert _comparable(chunked) == _comparable(whole)
    assert [r.statut for r in chunked].count("Illisible") == 1


@pytest.mark.parametrize(("campagne", "sizes"), [(2024, [7, 2, 2, 2]), (None, [8, 2, 2, 1])])
def test_the_last_files_are_checked_in_smaller_lots(tmp_path, monkeypatch, campagne, sizes):
    """With --jobs 2, once fewer than CHUNK files are left to come back (our own bilan
    counts, though it is skipped) and the rules are chosen, the lots are of a quarter of
    CHUNK; the results are those of one lot."""
    from mentorat_budget import batch
    from mentorat_budget.rules import for_campagne
    from mentorat_budget.write.bilan import Run, write_bilan

    rules = for_campagne(campagne) if campagne else None
    folder, files = _samples(tmp_path, 13, 5)
    expected, applied = batch.run_batch(files, rules, jobs=1)
    write_bilan(folder / "bilan.xlsx", expected, applied, Run([str(folder)]))
    files = batch.discover([folder])
    assert len(files) == 14 and files[-1][1] == "bilan.xlsx"
    checked = []
    real = batch._checked

    def recording(parsed, rules):
        checked.append(len(parsed))
        return real(parsed, rules)

    monkeypatch.setattr(batch, "CHUNK", 8)
    monkeypatch.setattr(batch, "_checked", recording)
    results, applied = batch.run_batch(files, rules, jobs=2)
    assert checked == sizes and applied.campagne == 2024
    assert _comparable(results) == _comparable(expected)
    checked.clear()
    batch.run_batch(files, rules, jobs=1)  # one process: no core to fill
    assert checked == [8, 5]


def test_a_lot_that_trips_a_bug_is_checked_workbook_by_workbook(tmp_path, monkeypatch):
    """One workbook that trips a bug in the lot's checks costs only itself."""
    from mentorat_budget import batch
    from mentorat_budget.rules import for_campagne

    rules = for_campagne(2024)
    _, files = _samples(tmp_path, 3, 11)
    expected, _ = batch.run_batch(files, rules, jobs=1)
    victim = expected[1].fichier
    real = batch.results_of

    def buggy(lot):
        if any(p.fichier == victim for p in lot.parsed):
            raise ZeroDivisionError("bogue")
        return real(lot)

    monkeypatch.setattr(batch, "results_of", buggy)
    results, _ = batch.run_batch(files, rules, jobs=1)
    assert _comparable([results[0], results[2]]) == _comparable([expected[0], expected[2]])
    assert results[1].statut == "Illisible"
    assert [a.code for a in results[1].anomalies] == ["FIC-CORROMPU"]
    assert "erreur interne ZeroDivisionError" in results[1].anomalies[0].message


def test_a_file_that_kills_its_reader_costs_only_itself(tmp_path, monkeypatch):
    """With --jobs 2, a file that makes a library abort its process (calamine on a grid it
    cannot allocate) is reported on its own; the other files are read."""
    import os

    from mentorat_budget import batch
    from mentorat_budget.rules import for_campagne

    rules = for_campagne(2024)
    _, files = _samples(tmp_path, 5, 13)
    expected, _ = batch.run_batch(files, rules, jobs=1)
    victim = expected[2].fichier
    real = batch.parse_one

    def aborting(path, fichier, rules):
        if fichier == victim:
            os._exit(134)  # dies as an abort does (in a worker forked with this patch)
        return real(path, fichier, rules)

    monkeypatch.setattr(batch, "parse_one", aborting)
    results, _ = batch.run_batch(files, rules, jobs=2)
    others = [r for r in results if r.fichier != victim]
    assert _comparable(others) == _comparable([r for r in expected if r.fichier != victim])
    (dead,) = [r for r in results if r.fichier == victim]
    assert dead.statut == "Illisible" and dead.sha256 == expected[2].sha256
    assert [a.code for a in dead.anomalies] == ["FIC-RESSOURCES"]
    assert "le programme de lecture s'est arrêté sur ce fichier" in dead.anomalies[0].message


def test_a_folder_led_by_another_campaign_is_checked_with_the_majoritys_rules(
    tmp_path, monkeypatch
):
    """The first lot is checked with the campaign its workbooks declare (2024); most of the
    folder declares 2025: the batch is run again with the rules of 2025."""
    from mentorat_budget import batch
    from mentorat_budget.examples import write_examples
    from mentorat_budget.rules import for_campagne

    folder = tmp_path / "lot"
    (folder / "a-2024").mkdir(parents=True)
    (folder / "b-2025").mkdir()
    write_examples(folder / "a-2024", 1, 3, for_campagne(2024))
    write_examples(folder / "b-2025", 3, 4, for_campagne(2025))
    monkeypatch.setattr(batch, "CHUNK", 1)
    results, applied = batch.run_batch(batch.discover([folder]), None, jobs=1)
    assert applied.campagne == 2025
    expected, _ = batch.run_batch(batch.discover([folder]), for_campagne(2025), jobs=1)
    assert _comparable(results) == _comparable(expected)
    first = results[0]
    assert first.fichier.startswith("a-2024/") and first.campagne == 2025
    assert any(a.code == "ETA-CAMPAGNE" for a in first.anomalies)


def test_two_folders_with_the_same_name_stay_apart(tmp_path, write_fill):
    for parent in ("x", "y"):
        (tmp_path / parent / "lot").mkdir(parents=True)
        fill = copy.deepcopy(base_fill())
        fill.etablissement["uai"] = "0750655E" if parent == "x" else "0750654D"
        fill.lignes["depenses"][0]["montant"] = "12,5,0"
        shutil.copy(write_fill(fill, f"{parent}.xlsx"), tmp_path / parent / "lot" / "a.xlsx")
    out, copies = tmp_path / "b.xlsx", tmp_path / "copies"
    result = CliRunner().invoke(
        main,
        [
            "bilan",
            str(tmp_path / "x" / "lot"),
            str(tmp_path / "y" / "lot"),
            "-o",
            str(out),
            "--annoter",
            str(copies),
        ],
    )
    assert result.exit_code == 0, result.output
    names = {r["Fichier"] for r in table(out, "Établissements")} - {""}
    assert len(names) == 2 and all(n.endswith("/lot/a.xlsx") for n in names)
    assert len(list(copies.glob("*.xlsx"))) == 2


def test_codes_are_masked_however_they_are_typed():
    from mentorat_budget.write.bilan import MASK, Masker

    mask = Masker(["M01", "E002", "E 001", "M.02", "12"])
    assert mask.text("IK de M01-E002 et de M.02 pour E 001") == (
        f"IK de {MASK}-{MASK} et de {MASK} pour {MASK}"
    )
    assert mask.text("Flyers_E002 M01_nov") == f"Flyers_{MASK} {MASK}_nov"
    assert mask.text("NDF-M01") == f"NDF-{MASK}"
    assert mask.text("« 12 » figure déjà") == f"« {MASK} » figure déjà"
    assert mask.text("dotation 12 000,00 € pour 12 élèves") == "dotation 12 000,00 € pour 12 élèves"
    assert mask.value("12") == MASK


def test_annotated_copy_of_a_large_workbook_is_quick(tmp_path, write_fill):
    """One anomaly per line on 3 000 lines: the copy must not slow down with each one."""
    import time

    fill = copy.deepcopy(base_fill())
    line = fill.lignes["depenses"][2]
    fill.lignes["depenses"] = [
        dict(line, piece=f"F{i:05d}", justificatif=False) for i in range(3_000)
    ]
    source = write_fill(fill)
    start = time.monotonic()
    result = run("verifier", source, "--annoter", tmp_path / "copie.xlsx")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 30


# ------------------------------------------------------------- the work list (SPEC §7.1)


def test_every_anomaly_code_has_a_short_label():
    """The « Anomalies par code » table names each code: a code added to the catalogue
    without its label in LIBELLES fails here."""
    from mentorat_budget.anomalies import CATALOGUE, LIBELLES

    assert [c for c in CATALOGUE if not LIBELLES.get(c, "").strip()] == []
    assert [c for c in LIBELLES if c not in CATALOGUE] == []
    assert max(len(label) for label in LIBELLES.values()) <= 48  # the table's column


def _work_list_folder(tmp_path, write_fill) -> Path:
    """One workbook with a blocking amount, three warnings (two of which restate a
    rejected line) and two informations, and a later copy of it (a Doublon)."""
    fill = copy.deepcopy(base_fill())
    fill.lignes["depenses"][0]["montant"] = "12,5,0"  # VAL-MONTANT, Dépenses!E3
    fill.lignes["depenses"][1]["montant"] = 2_000  # DEP-IK E4: 40 km × 0,32 € = 12,80 €
    fill.lignes["depenses"][2]["justificatif"] = False  # DEP-JUSTIFICATIF G5 (123,45 €)
    fill.lignes["mentors"][1]["formation"] = False  # MEN-FORMATION, Mentors!I4
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(write_fill(fill), folder / "a.xlsx")
    shutil.copy(folder / "a.xlsx", folder / "c-copie.xlsx")
    return folder


def test_anomalies_sheet_is_the_work_list(tmp_path, write_fill):
    """Bloquant and Avertissement only; a warning that restates a line listed in Dépenses
    inéligibles (same line, same reason) is left out, another warning on that same line
    stays; the duplicate's lines are not listed, so its warnings all stay."""
    folder = _work_list_folder(tmp_path, write_fill)
    out = tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    listed = [
        (a["Fichier"], a["Feuille"], a["Cellule"], a["Gravité"], a["Code"])
        for a in table(out, "Anomalies")
    ]
    assert listed == [
        ("a.xlsx", "Dépenses", "E3", "Bloquant", "VAL-MONTANT"),
        ("a.xlsx", "Dépenses", "C5", "Avertissement", "DEP-BUDGET"),
        ("c-copie.xlsx", "Établissement", "B3", "Bloquant", "ETA-DOUBLON"),
        ("c-copie.xlsx", "Dépenses", "E3", "Bloquant", "VAL-MONTANT"),
        ("c-copie.xlsx", "Dépenses", "E4", "Avertissement", "DEP-IK"),
        ("c-copie.xlsx", "Dépenses", "C5", "Avertissement", "DEP-BUDGET"),
        ("c-copie.xlsx", "Dépenses", "G5", "Avertissement", "DEP-JUSTIFICATIF"),
    ]
    # What was left out is in Dépenses inéligibles: 7,20 € above the allowance on row 4,
    # 123,45 € without a receipt on row 5 (and the unreadable amount at 0 €, row 3).
    rejets = {
        (r["Cellule"], r["Code motif"]): r["Part inéligible (€)"]
        for r in table(out, "Dépenses inéligibles")[:-1]
    }
    assert rejets == {
        ("Dépenses!E3", "DEP-MONTANT"): 0,
        ("Dépenses!E4", "DEP-IK"): 7.2,
        ("Dépenses!E5", "DEP-JUSTIFICATIF"): 123.45,
    }
    etab = {r["Fichier"]: r for r in table(out, "Établissements")}
    counts = [
        (f, etab[f]["Anomalies bloquantes"], etab[f]["Avertissements"], etab[f]["Informations"])
        for f in ("a.xlsx", "c-copie.xlsx", "Total (hors doublons)")
        if f in etab
    ]
    assert counts == [("a.xlsx", 1, 3, 2), ("c-copie.xlsx", 2, 3, 2)]
    total = table(out, "Établissements")[-1]  # the duplicate is not counted
    assert (total["Anomalies bloquantes"], total["Avertissements"], total["Informations"]) == (
        1,
        3,
        2,
    )


def test_severity_counts_follow_the_spec_headers(folder, tmp_path):
    out = tmp_path / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    headers = sheet_rows(out, "Établissements")[0]
    at = headers.index("Anomalies bloquantes")
    assert headers[: at + 1] == [c.header for c in ETAB_COLUMNS]
    assert headers[at + 1 : at + 4] == [
        "Avertissements",
        "Informations",
        "Déplacements des mentors (€)",
    ]


def codes_table(path: Path) -> list[dict]:
    """The « Anomalies par code » table of the Synthèse, total row included."""
    rows = sheet_rows(path, "Synthèse")
    top = next(i for i, r in enumerate(rows) if r[0] == "Anomalies par code") + 1
    body = []
    for r in rows[top + 1 :]:
        if not any(r):
            break
        body.append(dict(zip(rows[top], r, strict=False)))
    return body


def test_anomalies_par_code_summarises_every_severity(tmp_path, write_fill):
    """Each code once per severity: establishments concerned (the copy has the same UAI:
    one establishment), occurrences, and how many the Anomalies sheet lists."""
    folder = _work_list_folder(tmp_path, write_fill)
    out = tmp_path / "b.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    found = [
        (
            r["Anomalie"],
            r["Code"],
            r["Gravité"],
            r["Établissements concernés"],
            r["Occurrences"],
            r["dont dans la feuille Anomalies"],
        )
        for r in codes_table(out)
    ]
    assert found == [
        ("Montant illisible", "VAL-MONTANT", "Bloquant", 1, 2, 2),
        ("UAI en double dans le lot", "ETA-DOUBLON", "Bloquant", 1, 1, 1),
        ("Catégorie absente du budget prévisionnel", "DEP-BUDGET", "Avertissement", 1, 2, 2),
        ("Indemnité kilométrique plafonnée au barème", "DEP-IK", "Avertissement", 1, 2, 1),
        ("Dépense sans justificatif", "DEP-JUSTIFICATIF", "Avertissement", 1, 2, 1),
        ("Dotation au-delà du forfait des élèves mentorés", "ETA-DOTATION-MENTORES",
         "Information", 1, 2, 0),
        ("Mentor sans formation suivie", "MEN-FORMATION", "Information", 1, 2, 0),
        ("Total", "", "", "", 13, 7),
    ]  # fmt: skip
    note = sheet_rows(out, "Synthèse")
    assert any("La feuille Anomalies en liste 7 à traiter" in str(r[0]) for r in note)
    # The Synthèse's indicators are still read as before (year N+1 reads its campaign).
    from mentorat_budget.precedent import read_previous

    assert read_previous(out).campagne == 2024


def test_fiche_and_annotated_copy_keep_every_anomaly(tmp_path, write_fill):
    """What the work list leaves out stays where the establishment reads it."""
    folder = _work_list_folder(tmp_path, write_fill)
    fiches, copies = tmp_path / "fiches", tmp_path / "annotes"
    args = ("bilan", folder, "-o", tmp_path / "b.xlsx", "--fiches", fiches, "--annoter", copies)
    assert run(*args).exit_code == 0
    (fiche,) = fiches.glob("*.xlsx")
    in_fiche = {(a["Feuille"], a["Cellule"], a["Code"]) for a in table(fiche, "Anomalies")}
    assert in_fiche == {
        ("Dépenses", "E3", "VAL-MONTANT"),
        ("Dépenses", "E4", "DEP-IK"),
        ("Dépenses", "G5", "DEP-JUSTIFICATIF"),
        ("Dépenses", "C5", "DEP-BUDGET"),
        ("Établissement", "B7", "ETA-DOTATION-MENTORES"),
        ("Mentors", "I4", "MEN-FORMATION"),
    }
    book = openpyxl.load_workbook(copies / "a-annote.xlsx")
    assert "DEP-IK" in book["Dépenses"]["E4"].comment.text
    assert "DEP-JUSTIFICATIF" in book["Dépenses"]["G5"].comment.text
    assert "MEN-FORMATION" in book["Mentors"]["I4"].comment.text


def test_benchmark_workbooks_carry_a_campaigns_mistakes(tmp_path):
    """`exemples --taille banc`: the benchmark's size (SPEC §8) and its habits, each found
    by the checks on a workbook (SPEC §8: about 90 anomalies and 55 rejected lines)."""
    from collections import Counter

    from mentorat_budget.batch import run_batch
    from mentorat_budget.examples import write_examples
    from mentorat_budget.rules import for_campagne

    rules = for_campagne(2025)
    paths = write_examples(tmp_path, 2, 2024, rules, bench=True)
    results, _ = run_batch([(p, p.name) for p in paths], rules, jobs=1)
    for r in results:
        f = r.figures
        assert (f.eleves_prevus, f.mentors, f.lignes, len(r.partenaires)) == (120, 40, 300, 6)
        codes = Counter(a.code for a in r.anomalies)
        for code in ("DEP-IK", "MEN-FORMATION", "MEN-FILIERE", "DEP-JUSTIFICATIF"):
            assert codes[code] > 0, (r.fichier, code, codes)
        assert 20 <= codes["DEP-IK"] <= 45
        assert 60 <= len(r.anomalies) <= 130
        assert 35 <= len({x["ligne"] for x in r.rejets}) <= 80
