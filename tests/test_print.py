"""What people print: the annotated copy's corrections list and the fiche, exported to PDF
by LibreOffice as a user prints them (A4), and read back with pdftotext.

A page is told by its footer (its last line): « Anomalies à corriger » for the corrections
list, « Fiche UAI — campagne N » for the fiche's first sheet, the sheet's name for the
others. Text is matched word by word, in order, within the page: a message cut at the
page edge or by a row too short loses words and fails.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from mentorat_budget.cli import main
from mentorat_budget.write.template import write_template

from .conftest import base_fill, lo_convert

ROOT = Path(__file__).resolve().parents[1]
EXEMPLES = ROOT / "workbooks" / "exemples"
SUMMARY = "Anomalies à corriger"
SUMMARY_HEADERS = ["Feuille", "Cellule", "Gravité", "Code", "Message", "Valeur lue"]
REJET_HEADERS = [
    "Cellule",
    "N° de pièce",
    "Date",
    "Catégorie",
    "Libellé",
    "Payé à",
    "Montant de la ligne (€)",
    "Part inéligible (€)",
    "Motif",
]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ PDF helpers


@pytest.fixture(scope="module")
def to_pdf(soffice, tmp_path_factory):
    """Convert workbooks to PDF in one LibreOffice run; returns their pages as text.

    The row heights are computed for Calibri's metrics: LibreOffice must have Carlito,
    its metric-compatible substitute (Debian: fonts-crosextra-carlito), or the text it
    lays out in another font is wider than the rows written for it.
    """
    import os

    needs = os.environ.get("MENTORAT_EXIGER_SOFFICE")
    if shutil.which("pdftotext") is None:
        (pytest.fail if needs else pytest.skip)("pdftotext (poppler-utils) absent")
    match = subprocess.run(["fc-match", "Calibri"], capture_output=True, text=True)
    if "Carlito" not in match.stdout:
        (pytest.fail if needs else pytest.skip)(
            "police Carlito absente (paquet fonts-crosextra-carlito)"
        )
    outdir = tmp_path_factory.mktemp("pdf")

    def convert(sources: list[Path]) -> dict[str, list[str]]:
        subprocess.run(
            [*soffice, "--convert-to", "pdf", "--outdir", str(outdir), *map(str, sources)],
            check=True,
            capture_output=True,
            timeout=600,
        )
        pages = {}
        for source in sources:
            pdf = outdir / (source.stem + ".pdf")
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            pages[source.name] = [p for p in text.split("\f") if p.strip()]
        return pages

    return convert


def footer(page: str) -> str:
    return [line for line in page.splitlines() if line.strip()][-1].strip()


def pages_of(pages: list[str], footer_start: str) -> list[str]:
    return [p for p in pages if footer(p).startswith(footer_start)]


def shows(text: str, page: str) -> bool:
    """Every word of `text`, in order, close together on `page` (other columns' words may
    come between the lines of a wrapped cell)."""
    want, words = str(text).split(), page.split()
    for start, word in enumerate(words):
        if word != want[0]:
            continue
        i, at = 1, start + 1
        while i < len(want) and at < len(words) and at - start <= 2 * len(want) + 12:
            if words[at] == want[i]:
                i += 1
            at += 1
        if i == len(want):
            return True
    return False


def headers_shown(headers: list[str], page: str) -> list[str]:
    """The headers missing from the page (a header may wrap over two lines)."""
    return [h for h in headers if not shows(h, page)]


# ------------------------------------------------------------------ the samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory, to_pdf):
    """`bilan --fiches --annoter` on the sample workbooks, every output as PDF pages."""
    root = tmp_path_factory.mktemp("exemples")
    folder = root / "classeurs"
    shutil.copytree(EXEMPLES, folder)
    result = run(
        "bilan", folder, "-o", root / "bilan.xlsx", "--fiches", root / "fiches",
        "--annoter", root / "annotes", "--jobs", 1,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    copies = sorted((root / "annotes").glob("*.xlsx"))
    fiches = sorted((root / "fiches").glob("*.xlsx"))
    assert len(copies) == 6 and len(fiches) == 6  # the valid one has warnings
    reports = {}
    for path in sorted(folder.glob("*.xlsx")):
        reports[path.stem] = json.loads(run("verifier", path, "--json").output)
    return root, reports, to_pdf(copies + fiches)


def _longest(report: dict) -> str:
    return max((a["message"] for a in report["anomalies"]), key=len)


def test_corrections_list_prints_one_page_wide_with_every_message_whole(samples):
    root, reports, pdf = samples
    for path in sorted((root / "annotes").glob("*.xlsx")):
        report = reports[path.stem.removesuffix("-annote")]
        pages = pages_of(pdf[path.name], SUMMARY)
        # A handful of anomalies: one landscape page, no column pushed onto another page.
        assert len(pages) == 1, (path.name, [footer(p) for p in pdf[path.name]])
        assert headers_shown(SUMMARY_HEADERS, pages[0]) == [], path.name
        assert "corrigez les cellules signalées dans votre classeur d'origine" in pages[0]
        for a in report["anomalies"]:
            assert shows(a["message"], pages[0]), (path.name, a["message"])
            assert shows(a["code"], pages[0])


def test_fiche_first_sheet_is_one_signed_page(samples):
    root, _, pdf = samples
    for path in sorted((root / "fiches").glob("*.xlsx")):
        uai = path.stem.split("-")[1]
        source = next((root / "classeurs").glob(f"{uai}-*.xlsx"))
        pages = pages_of(pdf[path.name], f"Fiche {uai} — campagne 2024")
        assert len(pages) == 1, (path.name, [footer(p) for p in pdf[path.name]])
        page = pages[0]
        for text in (
            "Fiche financière — Plan mentorat au lycée professionnel",
            "Crédits", "Dotation notifiée (€)", "Report N-1 (€)", "Crédits disponibles (€)",
            "Dépenses", "Dépenses éligibles (€)", "Déplacements des mentors (€)",
            "dont reversements aux partenaires (€)", "Dépenses inéligibles (€)",
            "Solde", "Reliquat (€)", "Reliquat reporté (€)", "À reverser à la DJEPVA (€)",
            "Activité", "Élèves mentorés", "Bénévolat valorisé (€)",
            "Certifié exact.", "Le gestionnaire", "L'ordonnateur (chef d'établissement)",
            "Nom, date, signature et cachet :", source.name, "mentorat-budget 0.1.0",
            "selon les règles de la campagne 2024",
        ):  # fmt: skip
            assert shows(text, page), (path.name, text)
        assert sha(source) in page.replace("\n", "")  # the file's SHA-256, whole


def test_fiche_lists_rejected_lines_and_anomalies_under_their_headers(samples):
    root, reports, pdf = samples
    for path in sorted((root / "fiches").glob("*.xlsx")):
        uai = path.stem.split("-")[1]
        report = next(r for name, r in reports.items() if name.startswith(uai))
        rejets = pages_of(pdf[path.name], "Dépenses inéligibles")
        anomalies = pages_of(pdf[path.name], "Anomalies")
        assert len(rejets) == 1 and len(anomalies) == 1, [footer(p) for p in pdf[path.name]]
        assert headers_shown(REJET_HEADERS, rejets[0]) == [], path.name
        assert headers_shown(SUMMARY_HEADERS, anomalies[0]) == [], path.name
        if report["anomalies"]:
            assert shows(_longest(report), anomalies[0]), (path.name, _longest(report))


# ------------------------------------------------------------------ long lists, .ods


def _many_anomalies(tmp_path: Path, rules) -> Path:
    """60 expense lines: 30 unreadable amounts, 10 without receipt, a long message."""
    fill = copy.deepcopy(base_fill())
    line = fill.lignes["depenses"][2]
    fill.lignes["depenses"] = [
        dict(line, piece=f"F{i:03d}", montant="12,5,0" if i % 2 else 100_000,
             justificatif=i % 3 != 0)
        for i in range(60)
    ]  # fmt: skip
    return write_template(tmp_path / "beaucoup.xlsx", rules, fill)


@pytest.fixture(scope="module")
def long_lists(tmp_path_factory, to_pdf, soffice):
    from mentorat_budget import rules as rules_mod

    root = tmp_path_factory.mktemp("longues")
    source = _many_anomalies(root, rules_mod.for_campagne(2024))
    ods = lo_convert(soffice, source, "ods", root / "ods")
    copies = []
    for path, name in ((source, "copie-xlsx.xlsx"), (ods, "copie-ods.xlsx")):
        assert run("verifier", path, "--annoter", root / name).exit_code == 1
        copies.append(root / name)
    report = json.loads(run("verifier", source, "--json").output)
    return copies, report, to_pdf(copies)


def test_long_corrections_list_repeats_its_header_on_every_page(long_lists):
    """Both copies: the openpyxl one of an .xlsx and the one rebuilt from an .ods."""
    copies, report, pdf = long_lists
    assert len(report["anomalies"]) >= 40
    for path in copies:
        pages = pages_of(pdf[path.name], SUMMARY)
        assert len(pages) >= 2, (path.name, [footer(p) for p in pdf[path.name]])
        for page in pages:
            assert headers_shown(SUMMARY_HEADERS, page) == [], path.name
        text = "\n".join(pages)
        for a in report["anomalies"]:  # each message whole, on one page
            assert any(shows(a["message"], p) for p in pages), (path.name, a["message"])
        assert text.count("VAL-MONTANT") == 30


def test_comments_print_at_the_end_of_their_sheet(long_lists):
    """The page setup says so to Excel (`cellComments="atEnd"`) on every sheet that holds
    comments, in both copies. LibreOffice reads only `asDisplayed` as "print the
    comments" (see write/annotate.py): there, the corrections list is what prints."""
    copies, _, _ = long_lists
    for path in copies:
        wb = openpyxl.load_workbook(path)
        commented = {
            ws.title
            for ws in wb.worksheets
            if any(c.comment for row in ws.iter_rows() for c in row)
        }
        assert "Dépenses" in commented
        for name in commented:
            assert wb[name].page_setup.cellComments == "atEnd", (path.name, name)
        summary = wb[SUMMARY]
        assert summary.page_setup.orientation == "landscape"
        setup = summary.page_setup  # fitToWidth="1" is the default, XlsxWriter omits it
        assert (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0), path.name
        assert summary.print_title_rows.replace("$", "") == "2:2", path.name


# ------------------------------------------------------------------ the fiche's figures


def fiche_values(path: Path) -> dict:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name("Synthèse").to_python(skip_empty_area=False)
    return {r[0]: r[1] for r in rows if r and r[0]}


def test_fiche_figures_read_back_by_label(tmp_path, rules):
    """The base establishment, with F003 (123,45 €) without receipt and no poursuite:
    dotation 10 000,00 €, no report; eligible F001 1 500,00 € (to the partner) and F002
    12,80 € (40 km × 0,32 €); reliquat 10 000,00 − 1 512,80 = 8 487,20 € to return."""
    fill = copy.deepcopy(base_fill())
    fill.lignes["depenses"][2]["justificatif"] = False
    fill.etablissement["poursuite"] = False
    folder = tmp_path / "in"
    folder.mkdir()
    write_template(folder / "lycee.xlsx", rules, fill)
    fiches = tmp_path / "fiches"
    assert run("bilan", folder, "-o", tmp_path / "b.xlsx", "--fiches", fiches).exit_code == 0
    [path] = fiches.glob("*.xlsx")
    values = fiche_values(path)
    assert values["UAI"] == "0750655E"
    assert values["Campagne"] == 2024
    assert values["Statut du classeur"] == "Valide"
    assert values["Fichier"] == "lycee.xlsx"
    assert values["Dotation notifiée (€)"] == 10_000.00
    assert values["Report N-1 (€)"] == 0
    assert values["Crédits disponibles (€)"] == 10_000.00
    assert values["Dépenses déclarées (€)"] == 1_636.25
    assert values["Dépenses éligibles (€)"] == 1_512.80
    assert values["Coordination et sourçage des mentors (€)"] == 1_500.00
    assert values["Déplacements des mentors (€)"] == 12.80
    assert values["Communication (€)"] == 0
    assert values["dont reversements aux partenaires (€)"] == 1_500.00
    assert values["Dépenses inéligibles (€)"] == 123.45
    assert values["Sans justificatif (€)"] == 123.45
    assert values["Reliquat (€)"] == 8_487.20
    assert values["Reliquat reporté (€)"] == 0
    assert values["À reverser à la DJEPVA (€)"] == 8_487.20
    assert str(values["Date limite de reversement"])[:10] == "2025-12-31"
    assert values["Poursuite du mentorat l'année scolaire suivante"] == "Non"
    assert values["Élèves mentorés"] == 2
    assert values["Rencontres"] == 2


def test_fiche_is_byte_identical_for_identical_inputs(tmp_path, write_fill, fill):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(write_fill(fill), folder / "lycee.xlsx")
    written = []
    for name in ("a", "b"):
        assert run("bilan", folder, "-o", tmp_path / f"{name}.xlsx", "--fiches",
                   tmp_path / name).exit_code == 0  # fmt: skip
        written.append([p.read_bytes() for p in sorted((tmp_path / name).glob("*.xlsx"))])
    assert written[0] == written[1] and len(written[0]) == 1
