"""The bilan on paper (issue 16): the samples' bilan printed to PDF by LibreOffice as a
finance officer would print it, then read back with pdftotext.

Each page names its sheet in the footer, so the pages of each sheet are counted; the words
of the pages, with their positions (`pdftotext -bbox`: a header wrapped on two or three
lines is read back line by line, cell by cell, which the -layout text cannot do reliably),
show that every column header is printed in full on each page that holds its column's
data, that the longest message of the Anomalies sheet is printed whole, and that no text
is printed below the readable scale.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import lo_convert
from .test_bilan import EXEMPLES, run, sheet_rows, table

FOOTER = re.compile(r"^Bilan du Plan mentorat — campagne 2024 (.+) page (\d+) / (\d+)$")
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)
A4 = (595, 842)


@dataclass(frozen=True)
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def _pages(pdf: Path) -> list[list[Word]]:
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append(
            [Word(*map(float, m.groups()[:4]), html.unescape(m[5])) for m in WORD.finditer(page)]
        )
    return pages


def _lines(words: list[Word]) -> list[str]:
    """The page's text line by line (words on the same baseline)."""
    rows: dict[int, list[Word]] = {}
    for w in words:
        rows.setdefault(round(w.y1), []).append(w)
    return [
        " ".join(w.text for w in sorted(r, key=lambda w: w.x0)) for _, r in sorted(rows.items())
    ]


def printed_in_full(words: list[Word], text: str) -> bool:
    """Whether `text` is printed as a cell prints it, wrapped or not: its first word, then
    each next word either just after the previous one on its line or at the start of the
    next line, left-aligned with the first (the cell's left edge)."""
    tokens = text.split()
    for first in (w for w in words if w.text == tokens[0]):
        prev, line_start, ok = first, first, True
        for token in tokens[1:]:
            after = [
                w
                for w in words
                if w.text == token
                and (
                    (abs(w.y1 - prev.y1) < 1 and 0 <= w.x0 - prev.x1 < 8)
                    or (0 < w.y1 - prev.y1 < 25 and abs(w.x0 - line_start.x0) < 1.5)
                )
            ]
            if not after:
                ok = False
                break
            prev = min(after, key=lambda w: (w.y1, w.x0))
            if abs(prev.x0 - line_start.x0) < 1.5:
                line_start = prev
        if ok:
            return True
    return False


@pytest.fixture(scope="module")
def printed(tmp_path_factory, soffice) -> tuple[Path, Path, list[list[Word]]]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) absent")
    tmp = tmp_path_factory.mktemp("impression")
    folder = tmp / "classeurs"
    shutil.copytree(EXEMPLES, folder)
    out = tmp / "bilan.xlsx"
    assert run("bilan", folder, "-o", out).exit_code == 0
    pdf = lo_convert(soffice, out, "pdf", tmp / "pdf")
    return out, pdf, _pages(pdf)


def _sheet_of_each_page(pages: list[list[Word]]) -> list[str]:
    names = []
    for number, words in enumerate(pages, start=1):
        footer = FOOTER.fullmatch(_lines(words)[-1])
        assert footer, _lines(words)[-1]
        assert (int(footer[2]), int(footer[3])) == (number, len(pages))
        names.append(footer[1])
    return names


# What each sheet of the samples' bilan prints, page after page: the columns of each page
# across (a table too wide for one page at 70 % is cut into groups, each page repeating the
# key columns on its left), times the pages down.
ETAB = ["UAI", "Établissement"]
LAYOUT = {
    "Synthèse": 2,  # indicators and charts; then « Anomalies par code »
    "Établissements": 4,
    "Académies": 3,
    "Filières": 1,
    "Partenaires": 2,
    "Dépenses inéligibles": 2,  # one page wide, two pages down (wrapped lines)
    "Anomalies": 1,
    "Contrôles": 1,
    "Paramètres": 1,
}


def test_each_sheet_prints_on_its_pages(printed):
    _, pdf, pages = printed
    names = _sheet_of_each_page(pages)
    counts = {name: names.count(name) for name in dict.fromkeys(names)}
    assert counts == LAYOUT
    assert list(counts) == [n for n in LAYOUT]  # in the bilan's order
    sizes = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(len(pages)), str(pdf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = [
        tuple(round(float(x)) for x in m)
        for m in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", sizes)
    ]
    portrait = {"Filières", "Paramètres"}
    assert found == [A4 if n in portrait else A4[::-1] for n in names]


def _columns_by_page(out: Path) -> dict[str, list[list[str]]]:
    """The headers each page across prints, by hand from the bilan's own headers: the
    groups of Établissements, Académies and Partenaires, each after the key columns."""
    etab = sheet_rows(out, "Établissements")[0]
    acad = sheet_rows(out, "Académies")[0]
    part = sheet_rows(out, "Partenaires")[0]

    def span(headers, first, last):
        return headers[headers.index(first) : headers.index(last) + 1]

    categories = etab[etab.index("Informations") + 1 :]
    return {
        "Établissements": [
            span(etab, "UAI", "Mentors"),
            ETAB + span(etab, "Dotation notifiée (€)", "Dépenses inéligibles (€)"),
            ETAB + span(etab, "Reliquat (€)", "Informations"),
            ETAB + categories,
        ],
        "Académies": [
            span(acad, "Académie", "Mentors"),
            ["Académie", *span(acad, "Dotations notifiées (€)", "Taux de consommation")],
            ["Académie", *span(acad, "Rencontres", "Bénévolat valorisé (€)")],
        ],
        "Partenaires": [
            span(part, "UAI", "Référence de la convention"),
            [*span(part, "UAI", "Raison sociale"), *span(part, "Début de la convention", part[-1])],
        ],
        "Filières": [sheet_rows(out, "Filières")[0]],
        "Dépenses inéligibles": [sheet_rows(out, "Dépenses inéligibles")[0]],
        "Anomalies": [sheet_rows(out, "Anomalies")[0]],
    }


def test_every_header_is_printed_in_full_where_its_data_is(printed):
    out, _, pages = printed
    names = _sheet_of_each_page(pages)
    groups = _columns_by_page(out)
    for sheet, across in groups.items():
        printed_headers = {h for g in across for h in g}
        assert printed_headers == set(sheet_rows(out, sheet)[0]), sheet
        mine = [words for name, words in zip(names, pages, strict=True) if name == sheet]
        assert len(mine) % len(across) == 0, sheet
        for i, words in enumerate(mine):  # over, then down
            headers = across[i % len(across)]
            missing = [h for h in headers if not printed_in_full(words, h)]
            assert missing == [], (sheet, i + 1, missing)
            others = {h for g in across for h in g} - set(headers)
            stray = [
                h
                for h in others
                if len(h.split()) > 1
                and not any(mine_h.startswith(h) for mine_h in headers)
                and printed_in_full(words, h)
            ]
            assert stray == [], (sheet, i + 1, stray)
    # The key columns carry each row's identity on every page across.
    for sheet in ("Établissements", "Partenaires"):
        uai = table(out, sheet)[0]["UAI"]
        for name, words in zip(names, pages, strict=True):
            if name == sheet:
                assert uai in {w.text for w in words}, (sheet, uai)


def test_the_longest_anomaly_message_prints_whole(printed):
    out, _, pages = printed
    names = _sheet_of_each_page(pages)
    longest = max((a["Message"] for a in table(out, "Anomalies")), key=len)
    assert len(longest) > 100  # wrapped over two lines at least
    words = [
        w for name, page in zip(names, pages, strict=True) if name == "Anomalies" for w in page
    ]
    assert printed_in_full(words, longest), longest


def test_nothing_is_printed_below_a_readable_scale(printed):
    """Calibri 11 prints 14.4 pt high (ascent and descent) at 100 %: every word of the
    bilan's sheets is at least 70 % of that; the footers (10 pt, scaled with the sheet by
    LibreOffice, not by Excel) at least 7 pt."""
    _, _, pages = printed
    body, footers = [], []
    for page in pages:
        bottom = max(w.y1 for w in page)
        for w in page:
            (footers if bottom - w.y1 < 1 else body).append((round(w.y1 - w.y0, 2), w.text))
    assert min(body) >= (0.70 * 14.37, ""), min(body)
    assert min(footers) >= (0.70 * 10 * 14.37 / 11, ""), min(footers)
