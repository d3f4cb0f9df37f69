"""Splitting an envelope (`repartir`), pre-filled templates, and the notification."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorat_budget.allocation import largest_remainders
from mentorat_budget.cli import main
from mentorat_budget.values import uai_key

from .test_anomalies import B, covers


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def uai(n: int, prefix: str = "075") -> str:
    digits = f"{prefix}{n:04d}"
    return digits + uai_key(digits)


def write_list(
    path: Path,
    rows: list[tuple],
    headers=("UAI", "Établissement", "Élèves prévus"),
    title: str | None = None,
) -> Path:
    """An analyst's list, as typed in a spreadsheet (optionally under a title row)."""
    wb = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
    ws = wb.add_worksheet("Liste 2025")
    top = 0
    if title:
        ws.write(0, 0, title)
        top = 2
    ws.write_row(top, 0, headers)
    for i, row in enumerate(rows, start=top + 1):
        ws.write_row(i, 0, row)
    wb.close()
    return path


def repartition(path: Path) -> list[dict]:
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path))
        .get_sheet_by_name("Répartition")
        .to_python()
    )
    headers = rows[0]
    end = next(i for i, r in enumerate(rows) if r[0] == "Total")
    return [dict(zip(headers, r, strict=True)) for r in rows[1 : end + 1]]


# ------------------------------------------------------------------- the algorithm


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(0, 400), min_size=1, max_size=40),
    envelope=st.integers(0, 10_000_000),
    seed=st.integers(0, 1000),
)
def test_largest_remainders_properties(counts, envelope, seed):
    caps = [500 * n for n in counts]
    keys = [uai(i) for i in range(len(caps))]
    shares = largest_remainders(envelope, caps, keys)
    assert sum(shares) == min(envelope, sum(caps))
    for share, cap in zip(shares, caps, strict=True):
        assert 0 <= share <= cap
        if envelope < sum(caps):
            exact = Fraction(envelope * cap, sum(caps))
            assert abs(share - exact) < 1
    # The result does not depend on row order.
    order = list(range(len(caps)))
    random.Random(seed).shuffle(order)
    shuffled = largest_remainders(envelope, [caps[i] for i in order], [keys[i] for i in order])
    assert {keys[i]: s for i, s in zip(order, shuffled, strict=True)} == dict(
        zip(keys, shares, strict=True)
    )


def test_short_envelope_hand_computed():
    # Plafonds 500 × (3, 3, 3) = 1 500 € each, 4 500 € in all; envelope 1 000 €.
    # Exact shares 333,33… each; floors 333 × 3 = 999; the 1 € left goes to the first UAI
    # (equal remainders: UAI order).
    assert largest_remainders(1_000, [1_500] * 3, ["0750001B", "0750002C", "0750003D"]) == [
        334,
        333,
        333,
    ]
    # Plafonds 1 000, 2 000, 7 000 € (10 000 €); envelope 9 999 €.
    # Exact: 999,9 ; 1 999,8 ; 6 999,3 → floors 999 + 1 999 + 6 999 = 9 997, 2 € left:
    # remainders 0,9 and 0,8 win, 0,3 does not → 1 000 ; 2 000 ; 6 999.
    assert largest_remainders(9_999, [1_000, 2_000, 7_000], ["c", "b", "a"]) == [
        1_000,
        2_000,
        6_999,
    ]


def test_envelope_above_every_plafond_gives_each_its_plafond():
    assert largest_remainders(100_000, [1_500, 0, 2_000], ["a", "b", "c"]) == [1_500, 0, 2_000]


# ------------------------------------------------------------------- the command


def test_repartir_short_envelope(tmp_path):
    liste = write_list(
        tmp_path / "liste.xlsx",
        [(uai(3), "Lycée C", 3), (uai(1), "Lycée A", 3), (uai(2), "Lycée B", 3)],
        title="Établissements retenus — académie de Paris",
    )
    out = tmp_path / "notification.xlsx"
    result = run("repartir", liste, "--enveloppe", "1000", "--campagne", 2025, "-o", out)
    assert result.exit_code == 0, result.output
    assert "enveloppe de 1\u202f000,00 € répartie entre 3 établissements" in result.output
    rows = repartition(out)
    assert list(rows[0]) == [
        "UAI",
        "Établissement",
        "Académie",
        "Élèves prévus",
        "Plafond (€)",
        "Dotation notifiée (€)",
    ]
    body, total = rows[:3], rows[3]
    assert [(r["UAI"], r["Dotation notifiée (€)"]) for r in body] == [
        (uai(1), 334),
        (uai(2), 333),
        (uai(3), 333),
    ]
    assert body[0]["Académie"] == "Paris" and body[0]["Plafond (€)"] == 1_500
    assert total["UAI"] == "Total" and total["Dotation notifiée (€)"] == 1_000
    cell = openpyxl.load_workbook(out)["Répartition"]["F2"]
    assert "€" in cell.number_format


def test_repartir_envelope_above_plafonds_shows_the_remainder(tmp_path):
    liste = write_list(tmp_path / "liste.xlsx", [(uai(1), "Lycée A", 10), (uai(2), "B", 4)])
    out = tmp_path / "notification.xlsx"
    result = run("repartir", liste, "--enveloppe", "250000", "--campagne", 2025, "-o", out)
    assert result.exit_code == 0
    assert "Non réparti : 243\u202f000,00 €" in result.output
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(out))
        .get_sheet_by_name("Répartition")
        .to_python()
    )
    labels = {r[0]: r[5] for r in rows if r and r[0]}
    assert labels["Total"] == 7_000 and labels["Enveloppe (€)"] == 250_000
    assert labels["Non réparti (€)"] == 243_000


@covers("REP-DOUBLON")
def test_repartir_bad_rows_get_nothing_and_are_listed(tmp_path):
    liste = write_list(
        tmp_path / "liste.xlsx",
        [
            (uai(1), "Lycée A", 4),
            ("0750002X", "Clé fausse", 4),
            (uai(3), "Lycée C", "beaucoup"),
            (uai(1), "Lycée A bis", 4),
            (uai(4), "Lycée D", 2),
        ],
    )
    out = tmp_path / "notification.xlsx"
    result = run("repartir", liste, "--enveloppe", "2000", "--campagne", 2025, "-o", out)
    assert result.exit_code == 1
    assert "Liste 2025!A3" in result.output and "VAL-UAI" in result.output
    assert "Liste 2025!C4" in result.output and "VAL-ENTIER" in result.output
    assert "Liste 2025!A5" in result.output and "REP-DOUBLON" in result.output
    assert f"UAI {uai(1)} déjà listée en ligne 2 : cette ligne ne reçoit rien" in result.output
    rows = repartition(out)
    # Only A (plafond 2 000) and D (1 000) share 2 000 €: 1 333,33 and 666,67.
    assert [(r["UAI"], r["Dotation notifiée (€)"]) for r in rows[:-1]] == [
        (uai(1), 1_333),
        (uai(4), 667),
    ]
    anomalies = (
        python_calamine.CalamineWorkbook.from_path(str(out))
        .get_sheet_by_name("Anomalies")
        .to_python()
    )
    codes = {(r[1], r[3], r[2]) for r in anomalies[1:]}
    assert ("A5", "REP-DOUBLON", str(B)) in codes
    assert ("A3", "VAL-UAI", str(B)) in codes


def test_repartir_refuses_a_broken_envelope(tmp_path):
    liste = write_list(tmp_path / "liste.xlsx", [(uai(1), "A", 4)])
    for bad in ("12,5,0", "1000,50", "-3"):
        result = run("repartir", liste, "--enveloppe", bad, "-o", tmp_path / "n.xlsx")
        assert result.exit_code == 2, bad
        assert "Erreur" in result.output


def test_repartir_writes_prefilled_templates(tmp_path, check):
    liste = write_list(
        tmp_path / "liste.xlsx",
        [(uai(1), "Lycée Jean Jaurès", 12), (uai(2, "069"), "Lycée Lumière", 8)],
    )
    out, models = tmp_path / "notification.xlsx", tmp_path / "modeles"
    result = run(
        "repartir", liste, "--enveloppe", "8000", "--campagne", 2025, "-o", out, "--modeles", models
    )
    assert result.exit_code == 0, result.output
    paths = sorted(models.glob("*.xlsx"))
    assert [p.name for p in paths] == [
        f"{uai(2, '069')}-lycee-lumiere.xlsx",
        f"{uai(1)}-lycee-jean-jaures.xlsx",
    ]
    classeur = check(paths[0])
    etab = classeur.etablissement
    # 10 000 € of plafonds for 8 000 €: 8 000 × 4 000 / 10 000 = 3 200 € exactly.
    assert (etab["uai"], etab["nom"], etab["academie"], etab["campagne"]) == (
        uai(2, "069"),
        "Lycée Lumière",
        "Lyon",
        2025,
    )
    assert (etab["dotation"], etab["eleves_prevus"]) == (320_000, 8)
    # The same templates again, from the notification.
    again = tmp_path / "depuis"
    result = run("modele", "--depuis", out, again)
    assert result.exit_code == 0, result.output
    assert "2 modèles pré-remplis (campagne 2025)" in result.output
    for a, b in zip(paths, sorted(again.glob("*.xlsx")), strict=True):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_modele_depuis_needs_a_folder(tmp_path):
    result = run("modele", "--depuis", Path(__file__))
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "headers",
    [
        ("uai", "Nom de l'établissement", "Nombre d'élèves prévus"),
        ("Code UAI", "ETABLISSEMENT", "élèves prévus"),
    ],
)
def test_headers_are_matched_loosely(tmp_path, headers):
    liste = write_list(tmp_path / "liste.xlsx", [(uai(1), "A", 2)], headers=headers)
    out = tmp_path / "n.xlsx"
    assert run("repartir", liste, "--enveloppe", "500", "-o", out).exit_code == 0
    assert repartition(out)[0]["Dotation notifiée (€)"] == 500


# ------------------------------------------------------------- regressions (review)


def test_modele_depuis_reads_the_notification_without_false_anomalies(tmp_path):
    liste = write_list(tmp_path / "liste.xlsx", [(uai(1), "A", 10), (uai(2), "B", 4)])
    for envelope in ("3000", "250000"):  # short, and above the plafonds (footer rows differ)
        out = tmp_path / f"n-{envelope}.xlsx"
        assert run("repartir", liste, "--enveloppe", envelope, "-o", out).exit_code == 0
        result = run("modele", "--depuis", out, tmp_path / f"m-{envelope}")
        assert result.exit_code == 0, result.output
        assert "VAL-" not in result.output and "Bloquant" not in result.output


def test_repartir_refuses_an_ambiguous_envelope_and_its_own_input(tmp_path):
    liste = write_list(tmp_path / "liste.xlsx", [(uai(1), "A", 4)])
    result = run("repartir", liste, "--enveloppe", "250.000", "-o", tmp_path / "n.xlsx")
    assert result.exit_code == 2 and "enveloppe ambiguë « 250.000 »" in result.output
    assert (
        run(
            "repartir",
            liste,
            "--enveloppe",
            "250 000",
            "-o",
            tmp_path / "n.xlsx",
        ).exit_code
        == 0
    )
    before = liste.read_bytes()
    result = run("repartir", liste, "--enveloppe", "1000", "-o", liste)
    assert result.exit_code == 2 and "est un fichier lu" in result.output
    assert liste.read_bytes() == before
    result = run("repartir", liste, "--enveloppe", "1000", "-o", tmp_path / "n.ods")
    assert result.exit_code == 2


def test_a_duplicate_is_reported_even_when_its_first_row_was_refused(tmp_path):
    liste = write_list(tmp_path / "liste.xlsx", [(uai(1), "A", "x"), (uai(1), "A bis", 10)])
    result = run("repartir", liste, "--enveloppe", "1000", "-o", tmp_path / "n.xlsx")
    assert "VAL-ENTIER" in result.output and "REP-DOUBLON" in result.output
    assert result.exit_code == 2  # nobody left to endow: nothing is written
    assert "aucun établissement à doter" in result.output


def test_a_list_without_headers_cannot_be_split(tmp_path):
    liste = write_list(tmp_path / "liste.xlsx", [("x", "y", "z")], headers=("a", "b", "c"))
    result = run("repartir", liste, "--enveloppe", "1000", "-o", tmp_path / "n.xlsx")
    assert result.exit_code == 2
    assert not (tmp_path / "n.xlsx").exists()


def test_a_total_row_typed_under_the_list_is_not_an_establishment(tmp_path):
    liste = write_list(
        tmp_path / "liste.xlsx", [(uai(1), "A", 10), (uai(2), "B", 4), ("TOTAL", "", 14)]
    )
    out = tmp_path / "n.xlsx"
    result = run("repartir", liste, "--enveloppe", "7000", "-o", out)
    assert result.exit_code == 0, result.output
    assert [r["UAI"] for r in repartition(out)[:-1]] == [uai(1), uai(2)]
