"""Eligibility of the expenses and the figures of one establishment (SPEC §5.2, §6).

Four small workbooks, computed by hand line by line, together use every reason code of
`eligibility.MOTIFS`; each is written as a real .xlsx through the template writer, read
back, and every line (eligible cents, ineligible cents, reasons) and every figure the
finance officer reads is checked to the cent. Then properties on random workbooks
(conservation, caps, balances) and on the mileage allowance, and the messages the
gestionnaire sees for each rejected euro.

All money is integer cents. Sheet rows: title row 1, header row 2, first line on row 3.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorat_budget import batch, eligibility
from mentorat_budget import rules as rules_mod
from mentorat_budget.anomalies import Gravite
from mentorat_budget.verify import A_CORRIGER, VALIDE, check_workbook, statut
from mentorat_budget.write.template import Remplissage, write_template

from .conftest import base_fill

D = dt.date
NNBSP = "\u202f"  # thousands separator of the amounts in messages
FIRST_ROW = 3  # the first expense line of the template
RULES = rules_mod.for_campagne(2024)

# Category labels as the gestionnaire picks them in the drop-down.
DEP_MENTOR = "Déplacements des mentors"
DEP_ELEVE = "Déplacements des élèves"
COMMUNICATION = "Communication"
COORDINATION = "Coordination et sourçage des mentors"
FORMATION = "Formation des mentors"
PETIT_MATERIEL = "Petit matériel et fournitures"
REMUNERATION = "Rémunération des mentors"
AUTRE = "Autre"
LABELS = (
    DEP_MENTOR,
    DEP_ELEVE,
    COMMUNICATION,
    COORDINATION,
    FORMATION,
    PETIT_MATERIEL,
    REMUNERATION,
    AUTRE,
)
# Eligible cents per category code: every code of the rules appears, 0 when nothing.
NO_CATEGORY = dict.fromkeys(
    (
        "DEPLACEMENT_MENTOR",
        "DEPLACEMENT_ELEVE",
        "COMMUNICATION",
        "COORDINATION",
        "FORMATION",
        "PETIT_MATERIEL",
        "REMUNERATION_MENTOR",
        "AUTRE",
    ),
    0,
)
VOITURE = "Véhicule personnel"


def dep(piece, date, categorie, montant, **other) -> dict:
    """One expense line, with a receipt unless told otherwise."""
    return {
        "piece": piece,
        "date": date,
        "categorie": categorie,
        "montant": montant,
        "justificatif": True,
        **other,
    }


def car(piece, date, montant, mentor, km, cv) -> dict:
    """A mentor's trip in their own car (mileage allowance claim)."""
    return dep(
        piece,
        date,
        DEP_MENTOR,
        montant,
        libelle="Indemnités kilométriques",
        paye_a=f"Mentor {mentor}",
        mentor=mentor,
        transport=VOITURE,
        km=km,
        cv=cv,
    )


def versement(piece, date, categorie, montant, partenaire, service_fait=True, **other) -> dict:
    """A payment to a partner under its convention."""
    return dep(
        piece, date, categorie, montant, paye_a=partenaire, service_fait=service_fait, **other
    )


# --------------------------------------------------------------------- helpers


def run(fill: Remplissage, write_fill, check, name: str):
    """Write the workbook, check it as `verifier` does and reduce it as `bilan` does."""
    path = write_fill(fill, name)
    classeur = check(path)
    resultat = batch.process(path, name, RULES, None)
    return classeur, resultat


def actual_lines(classeur, resultat) -> dict[int, tuple]:
    """Sheet row -> (N° de pièce, montant, eligible, ineligible, {reason: cents}).

    The reasons come from the rejections the bilan lists (`Resultat.rejets`)."""
    reasons: dict[int, dict[str, int]] = defaultdict(dict)
    for rejet in resultat.rejets:
        reasons[rejet["ligne"]][rejet["code"]] = rejet["cents"]
    lines = classeur.eligibilite.lines
    return {
        int(row.ligne): (
            row.piece,
            None if pd.isna(row.montant) else int(row.montant),
            int(row.eligible),
            int(row.ineligible),
            reasons.get(int(row.ligne), {}),
        )
        for row in lines.itertuples(index=False)
    }


def expected_lines(spec: list[tuple[dict, int, dict[str, int]]]) -> dict[int, tuple]:
    """The same shape, from the hand computation (line, eligible, {reason: cents})."""
    out = {}
    for i, (line, eligible, reasons) in enumerate(spec):
        amount = line["montant"] if isinstance(line["montant"], int) else None
        out[FIRST_ROW + i] = (line["piece"], amount, eligible, sum(reasons.values()), reasons)
    return out


FIGURE_FIELDS = (
    "disponibles",
    "lus",
    "eligibles",
    "reversements",
    "ineligibles",
    "reliquat",
    "depassement",
    "reliquat_reporte",
    "a_reverser",
    "par_categorie",
    "par_motif",
)


def figures_of(resultat) -> dict:
    fig = dataclasses.asdict(resultat.figures)
    return {k: fig[k] for k in FIGURE_FIELDS}


def rejection_anomalies(classeur) -> set[tuple[str, str, Gravite, str]]:
    """(code, Sheet!Cell, severity, message) of every anomaly named after a reason code."""
    return {
        (a.code, a.lieu, a.gravite, a.message)
        for a in classeur.anomalies
        if a.code in eligibility.MOTIFS
    }


# ===================================================== workbook 1: mileage (IK)
#
# Bands per mentor per calendar year (SPEC §5.2 rule 6), €/km:
#   5 CV and less 0,32 / 0,40 / 0,23 ; 6-7 CV 0,41 / 0,51 / 0,30 ; 8 CV+ 0,45 / 0,55 / 0,32
#   up to 2 000 km / 2 001-10 000 km / beyond.

IK_LINES = [
    # M01, 2024: 1 200 km at 6 CV, all in the first band: 1 200 × 0,41 = 492,00 € = the claim.
    (car("K01", D(2024, 3, 10), 49_200, "M01", 1200, 6), 49_200, {}),
    # M01, 2024, 1 200 km before: 700 × 0,41 = 287,00 € allowed; claim 250,00 € below it,
    # stays as claimed. M01 has now driven 1 900 km in 2024.
    (car("K02", D(2024, 5, 15), 25_000, "M01", 700, 7), 25_000, {}),
    # M01, 2024, 1 900 km before, 300 km crosses 2 000 km:
    # 100 × 0,41 + 200 × 0,51 = 41,00 + 102,00 = 143,00 € ; claim 160,00 → 17,00 € DEP-IK.
    (car("K03", D(2024, 9, 20), 16_000, "M01", 300, 6), 14_300, {"DEP-IK": 1_700}),
    # M01, first trip of 2025: bands start again at 0 km: 100 × 0,41 = 41,00 €
    # (51,00 € if 2024 still counted); claim 60,00 → 19,00 € DEP-IK.
    (car("K04", D(2025, 1, 8), 6_000, "M01", 100, 6), 4_100, {"DEP-IK": 1_900}),
    # M02, 2024, 0 km before (M01's kilometres are not M02's): 9 CV, 500 × 0,45 = 225,00 € ;
    # claim 250,00 → 25,00 € DEP-IK.
    (car("K05", D(2024, 6, 1), 25_000, "M02", 500, 9), 22_500, {"DEP-IK": 2_500}),
    # M02, 2024, 500 km before: 12,5 km × 0,41 = 5,125 € → 5,13 € (half up, not 5,12);
    # claim 6,00 → 0,87 € DEP-IK.
    (car("K06", D(2024, 7, 1), 600, "M02", 12.5, 6), 513, {"DEP-IK": 87}),
    # Personal car without kilometres: all 30,00 € DEP-IK-DONNEES.
    (car("K07", D(2024, 7, 2), 3_000, "M02", None, 5), 0, {"DEP-IK-DONNEES": 3_000}),
    # Personal car without horsepower: all 16,00 € DEP-IK-DONNEES.
    (car("K08", D(2024, 7, 3), 1_600, "M02", 50, None), 0, {"DEP-IK-DONNEES": 1_600}),
    # Train ticket: not a personal car, no allowance cap: 45,60 € eligible.
    (
        dep(
            "K09", D(2024, 10, 1), DEP_MENTOR, 4_560, mentor="M02", transport="Transport en commun"
        ),
        4_560,
        {},
    ),
]
# Σ eligible = 49 200 + 25 000 + 14 300 + 4 100 + 22 500 + 513 + 4 560 = 120 173
# Σ ineligible = 1 700 + 1 900 + 2 500 + 87 + 3 000 + 1 600 = 10 787
# Σ read = 130 960 = 120 173 + 10 787
# disponibles = 1 500,00 + 200,00 report = 170 000 ; reliquat = 170 000 − 120 173 = 49 827
# Poursuite = Oui → all of it reporté.
IK_FIGURES = {
    "disponibles": 170_000,
    "lus": 130_960,
    "eligibles": 120_173,
    "reversements": 0,
    "ineligibles": 10_787,
    "reliquat": 49_827,
    "depassement": 0,
    "reliquat_reporte": 49_827,
    "a_reverser": 0,
    "par_categorie": {**NO_CATEGORY, "DEPLACEMENT_MENTOR": 120_173},
    # DEP-IK: 1 700 + 1 900 + 2 500 + 87 = 6 187 ; DEP-IK-DONNEES: 3 000 + 1 600 = 4 600
    "par_motif": {"DEP-IK": 6_187, "DEP-IK-DONNEES": 4_600},
}


def fill_ik(fill: Remplissage) -> Remplissage:
    fill.etablissement.update(dotation=150_000, report=20_000, poursuite=True)
    fill.lignes["depenses"] = [line for line, _, _ in IK_LINES]
    return fill


# ============================================ workbook 2: partners, Poursuite = Non

PARTENAIRES = [
    # P01 (from the base fill): signed, 01/09/2024 – 31/08/2025, at most 3 000,00 €.
    base_fill().lignes["partenaires"][0],
    # P02: no signed convention.
    {
        "code": "P02",
        "raison_sociale": "Entreprendre Ensemble",
        "type": "Association",
        "convention": False,
        "autre_financement": False,
    },
    # P03: signed, 01/09/2024 – 30/06/2025, at most 1 000,00 €.
    {
        "code": "P03",
        "raison_sociale": "Industrie Avenir",
        "type": "Entreprise",
        "convention": True,
        "reference": "CONV-03",
        "date_signature": D(2024, 8, 25),
        "debut": D(2024, 9, 1),
        "fin": D(2025, 6, 30),
        "montant": 100_000,
        "autre_financement": False,
    },
]

CONVENTION_LINES = [
    # P01, 2 000,00 €: cumulated eligible 2 000,00 ≤ 3 000,00 → all eligible.
    (versement("V01", D(2024, 10, 15), COORDINATION, 200_000, "P01"), 200_000, {}),
    # P01, 1 500,00 €: cumulated 3 500,00 > 3 000,00 → 1 000,00 € eligible,
    # 500,00 € DEP-PLAFOND-CONVENTION.
    (
        versement("V02", D(2024, 12, 1), FORMATION, 150_000, "P01"),
        100_000,
        {"DEP-PLAFOND-CONVENTION": 50_000},
    ),
    # P01, 400,00 €: the cap is already reached → all 400,00 € DEP-PLAFOND-CONVENTION.
    (
        versement("V03", D(2025, 2, 1), COMMUNICATION, 40_000, "P01"),
        0,
        {"DEP-PLAFOND-CONVENTION": 40_000},
    ),
    # P01, 1 000,00 €, service not verified → all DEP-SERVICE-FAIT; being ineligible, it does
    # not count toward P01's cap (else V02 would be ineligible in full).
    (
        versement("V04", D(2024, 9, 20), COORDINATION, 100_000, "P01", service_fait=False),
        0,
        {"DEP-SERVICE-FAIT": 100_000},
    ),
    # P01, 15/08/2024, before the convention starts (01/09/2024) → all DEP-CONVENTION-PERIODE.
    (
        versement("V05", D(2024, 8, 15), COORDINATION, 50_000, "P01"),
        0,
        {"DEP-CONVENTION-PERIODE": 50_000},
    ),
    # P02 has no signed convention → all 800,00 € DEP-CONVENTION.
    (
        versement("V06", D(2024, 11, 10), COORDINATION, 80_000, "P02"),
        0,
        {"DEP-CONVENTION": 80_000},
    ),
    # P02 and no receipt: rule 2 (receipt) comes before rule 5 → DEP-JUSTIFICATIF.
    (
        versement("V07", D(2024, 11, 12), COORDINATION, 30_000, "P02", justificatif=False),
        0,
        {"DEP-JUSTIFICATIF": 30_000},
    ),
    # P03 has its own cap: 800,00 ≤ 1 000,00 → all eligible (P01's cap is not P03's).
    (versement("V08", D(2025, 3, 1), FORMATION, 80_000, "P03"), 80_000, {}),
    # P03, 01/07/2025, after its convention ends (30/06/2025) → DEP-CONVENTION-PERIODE.
    (
        versement("V09", D(2025, 7, 1), FORMATION, 30_000, "P03"),
        0,
        {"DEP-CONVENTION-PERIODE": 30_000},
    ),
    # A supplier, not a partner: « Service fait vérifié » not required → 120,00 € eligible.
    (
        dep("V10", D(2024, 11, 25), PETIT_MATERIEL, 12_000, paye_a="Bureau Vallée"),
        12_000,
        {},
    ),
]
# Σ eligible = 200 000 + 100 000 + 80 000 + 12 000 = 392 000
#   of which reversements (to partners) = 200 000 + 100 000 + 80 000 = 380 000
# Σ ineligible = 50 000 + 40 000 + 100 000 + 50 000 + 80 000 + 30 000 + 30 000 = 380 000
# Σ read = 772 000
# disponibles = 5 000,00 + 250,00 = 525 000 ; reliquat = 525 000 − 392 000 = 133 000
# Poursuite = Non → reporté 0, all 133 000 à reverser à la DJEPVA.
CONVENTION_FIGURES = {
    "disponibles": 525_000,
    "lus": 772_000,
    "eligibles": 392_000,
    "reversements": 380_000,
    "ineligibles": 380_000,
    "reliquat": 133_000,
    "depassement": 0,
    "reliquat_reporte": 0,
    "a_reverser": 133_000,
    "par_categorie": {
        **NO_CATEGORY,
        "COORDINATION": 200_000,
        "FORMATION": 180_000,  # 100 000 (V02) + 80 000 (V08)
        "PETIT_MATERIEL": 12_000,
    },
    "par_motif": {
        "DEP-PLAFOND-CONVENTION": 90_000,  # 50 000 + 40 000
        "DEP-SERVICE-FAIT": 100_000,
        "DEP-CONVENTION-PERIODE": 80_000,  # 50 000 + 30 000
        "DEP-CONVENTION": 80_000,
        "DEP-JUSTIFICATIF": 30_000,
    },
}


def fill_conventions(fill: Remplissage) -> Remplissage:
    fill.etablissement.update(dotation=500_000, report=25_000, poursuite=False)
    fill.lignes["partenaires"] = PARTENAIRES
    fill.lignes["depenses"] = [line for line, _, _ in CONVENTION_LINES]
    return fill


# ============================== workbook 3: simple rejections, overspending, arrêté

SIMPLE_LINES = [
    # 31/12/2023: before the period (1 Jan 2024 – 31 Dec 2025) → DEP-PERIODE.
    (dep("C01", D(2023, 12, 31), COMMUNICATION, 10_000), 0, {"DEP-PERIODE": 10_000}),
    # 01/01/2024, first day of the period → eligible.
    (dep("C02", D(2024, 1, 1), COMMUNICATION, 25_000), 25_000, {}),
    # Mentors' pay → DEP-CATEGORIE.
    (dep("C03", D(2024, 3, 1), REMUNERATION, 30_000), 0, {"DEP-CATEGORIE": 30_000}),
    # « Autre » → DEP-CATEGORIE.
    (dep("C04", D(2024, 3, 2), AUTRE, 4_550), 0, {"DEP-CATEGORIE": 4_550}),
    # Justificatif = Non → DEP-JUSTIFICATIF.
    (
        dep("C05", D(2024, 4, 1), PETIT_MATERIEL, 8_990, justificatif=False),
        0,
        {"DEP-JUSTIFICATIF": 8_990},
    ),
    # Justificatif left empty → DEP-JUSTIFICATIF.
    (
        dep("C06", D(2024, 4, 2), FORMATION, 20_000, justificatif=None),
        0,
        {"DEP-JUSTIFICATIF": 20_000},
    ),
    # Autre financement public = Oui → DEP-CUMUL.
    (
        dep("C07", D(2024, 5, 1), DEP_ELEVE, 35_000, transport="Autocar", autre_financement=True),
        0,
        {"DEP-CUMUL": 35_000},
    ),
    # Autre financement public = Non → eligible.
    (
        dep("C08", D(2024, 5, 2), DEP_ELEVE, 42_000, transport="Autocar", autre_financement=False),
        42_000,
        {},
    ),
    # 30/06/2025 = the date d'arrêté des comptes → still eligible.
    (dep("C09", D(2025, 6, 30), FORMATION, 12_345), 12_345, {}),
    # 01/07/2025: inside the campaign period but after the arrêté → DEP-PERIODE.
    (dep("C10", D(2025, 7, 1), COMMUNICATION, 9_999), 0, {"DEP-PERIODE": 9_999}),
    # « Autre », no receipt, out of period: the first rule that applies (1, category) wins.
    (
        dep("C11", D(2023, 6, 1), AUTRE, 5_000, justificatif=False),
        0,
        {"DEP-CATEGORIE": 5_000},
    ),
    # No receipt and out of period: rule 2 (receipt) before rule 3 (period).
    (
        dep("C12", D(2026, 1, 15), COMMUNICATION, 1_000, justificatif=False),
        0,
        {"DEP-JUSTIFICATIF": 1_000},
    ),
]
# Σ eligible = 25 000 + 42 000 + 12 345 = 79 345
# Σ ineligible = 10 000 + 30 000 + 4 550 + 8 990 + 20 000 + 35 000 + 9 999 + 5 000 + 1 000
#              = 124 539 ; Σ read = 203 884
# disponibles = 500,00 € ; dépassement = 79 345 − 50 000 = 29 345 ; reliquat 0.
SIMPLE_FIGURES = {
    "disponibles": 50_000,
    "lus": 203_884,
    "eligibles": 79_345,
    "reversements": 0,
    "ineligibles": 124_539,
    "reliquat": 0,
    "depassement": 29_345,
    "reliquat_reporte": 0,
    "a_reverser": 0,
    "par_categorie": {
        **NO_CATEGORY,
        "COMMUNICATION": 25_000,
        "DEPLACEMENT_ELEVE": 42_000,
        "FORMATION": 12_345,
    },
    "par_motif": {
        "DEP-PERIODE": 19_999,  # 10 000 + 9 999
        "DEP-CATEGORIE": 39_550,  # 30 000 + 4 550 + 5 000
        "DEP-JUSTIFICATIF": 29_990,  # 8 990 + 20 000 + 1 000
        "DEP-CUMUL": 35_000,
    },
}


def fill_simple(fill: Remplissage) -> Remplissage:
    fill.etablissement.update(dotation=50_000, report=0, poursuite=True, date_arrete=D(2025, 6, 30))
    fill.lignes["depenses"] = [line for line, _, _ in SIMPLE_LINES]
    return fill


# =========================================== workbook 4: amounts, dates, duplicates

UNREADABLE_LINES = [
    # Negative amount (VAL-POSITIF): refused, it counts for nothing and is listed as rejected
    # at 0 € (DEP-MONTANT): no negative euro may lower the ineligible total.
    (dep("X01", D(2024, 2, 1), COMMUNICATION, -1_234), 0, {"DEP-MONTANT": 0}),
    # Unreadable amount: nothing read (0 / 0), but the line is listed as rejected at 0 €,
    # so that every line read appears in the outputs (SPEC §6).
    (dep("X02", D(2024, 2, 2), COMMUNICATION, "douze euros"), 0, {"DEP-MONTANT": 0}),
    # Zero amount: 0 / 0, listed the same way.
    (dep("X03", D(2024, 2, 3), COMMUNICATION, 0), 0, {"DEP-MONTANT": 0}),
    # No date → DEP-DATE.
    (dep("X04", None, COMMUNICATION, 7_500), 0, {"DEP-DATE": 7_500}),
    # Unreadable date (31 February) → DEP-DATE.
    (dep("X05", "31/02/2024", COMMUNICATION, 2_500), 0, {"DEP-DATE": 2_500}),
    # First F100 → eligible.
    (dep("F100", D(2024, 3, 1), COMMUNICATION, 6_000), 6_000, {}),
    # f100 again (case does not matter), later: DEP-DOUBLON, before rule 1 (category Autre).
    (dep("f100", D(2024, 3, 5), AUTRE, 6_000), 0, {"DEP-DOUBLON": 6_000}),
]
# Σ read (positive amounts) = 7 500 + 2 500 + 6 000 + 6 000 = 22 000
# Σ eligible = 6 000 ; Σ ineligible = 7 500 + 2 500 + 6 000 = 16 000
# disponibles 1 000,00 € ; reliquat = 100 000 − 6 000 = 94 000, reporté (Poursuite = Oui).
UNREADABLE_FIGURES = {
    "disponibles": 100_000,
    "lus": 22_000,
    "eligibles": 6_000,
    "reversements": 0,
    "ineligibles": 16_000,
    "reliquat": 94_000,
    "depassement": 0,
    "reliquat_reporte": 94_000,
    "a_reverser": 0,
    "par_categorie": {**NO_CATEGORY, "COMMUNICATION": 6_000},
    "par_motif": {"DEP-MONTANT": 0, "DEP-DATE": 10_000, "DEP-DOUBLON": 6_000},
}


def fill_unreadable(fill: Remplissage) -> Remplissage:
    fill.etablissement.update(dotation=100_000, report=0, poursuite=True)
    fill.lignes["depenses"] = [line for line, _, _ in UNREADABLE_LINES]
    return fill


# ------------------------------------------------------------------ golden tests

WORKBOOKS = {
    "ik": (fill_ik, IK_LINES, IK_FIGURES),
    "conventions": (fill_conventions, CONVENTION_LINES, CONVENTION_FIGURES),
    "simple": (fill_simple, SIMPLE_LINES, SIMPLE_FIGURES),
    "illisibles": (fill_unreadable, UNREADABLE_LINES, UNREADABLE_FIGURES),
}


def test_the_golden_workbooks_use_every_reason_code():
    used = {code for _, lines, _ in WORKBOOKS.values() for _, _, why in lines for code in why}
    assert used == set(eligibility.MOTIFS)


@pytest.mark.parametrize("name", WORKBOOKS)
def test_golden_lines_and_figures(name, fill, write_fill, check):
    build, spec, expected_figures = WORKBOOKS[name]
    classeur, resultat = run(build(fill), write_fill, check, f"{name}.xlsx")
    assert actual_lines(classeur, resultat) == expected_lines(spec)
    assert figures_of(resultat) == expected_figures


@pytest.mark.parametrize("name", ["ik", "conventions", "simple"])
def test_rejected_euros_do_not_block_the_workbook(name, fill, write_fill, check):
    """Missing receipt, service not verified, no kilometres... are answered by eligibility:
    the workbook stays Valide (SPEC §5.3)."""
    build, _, _ = WORKBOOKS[name]
    classeur = check(write_fill(build(fill), f"{name}.xlsx"))
    blocking = [(a.code, a.lieu) for a in classeur.anomalies if a.gravite is Gravite.BLOQUANT]
    assert blocking == []
    assert statut(classeur) == VALIDE


def test_lines_are_processed_in_date_and_piece_order(fill, write_fill, check):
    """(date, N° de pièce) order; lines without a readable date come last, in sheet order."""
    classeur = check(write_fill(fill_unreadable(fill)))
    assert list(classeur.eligibilite.lines["piece"]) == [
        "X01",
        "X02",
        "X03",
        "F100",
        "f100",
        "X04",
        "X05",
    ]


def test_unreadable_amounts_dates_and_duplicates_are_shown_once_as_blocking(
    fill, write_fill, check
):
    """DEP-MONTANT, DEP-DATE and DEP-DOUBLON lines already carry a blocking anomaly on the
    same cell: the gestionnaire sees that one, not a second message."""
    classeur = check(write_fill(fill_unreadable(fill)))
    shown = {(a.code, a.lieu) for a in classeur.anomalies if a.gravite is Gravite.BLOQUANT}
    assert shown == {
        ("VAL-AVOIR", "Dépenses!E3"),  # −12,34: a credit note typed as an expense
        ("VAL-MONTANT", "Dépenses!E4"),  # douze euros
        ("VAL-POSITIF", "Dépenses!E5"),  # 0
        ("VAL-OBLIGATOIRE", "Dépenses!B6"),  # no date
        ("VAL-DATE", "Dépenses!B7"),  # 31/02/2024
        ("VAL-DOUBLON", "Dépenses!A9"),  # f100
    }
    assert rejection_anomalies(classeur) == set()
    assert statut(classeur) == A_CORRIGER


def test_the_duplicate_rejected_is_the_one_the_verifier_points_at(fill, write_fill, check):
    """Two lines with the same N° de pièce, the later row bearing the earlier date.

    The verifier says row 4 repeats row 3 (VAL-DOUBLON on A4): the euros rejected as
    DEP-DOUBLON must be those of a line the gestionnaire is shown, i.e. row 4 (row 3 gets
    no message at all, since DEP-DOUBLON is not repeated as a warning).
    """
    fill.lignes["depenses"] = [
        dep("F200", D(2024, 5, 10), COMMUNICATION, 6_000),  # row 3
        dep("F200", D(2024, 4, 1), COMMUNICATION, 7_000),  # row 4
    ]
    classeur = check(write_fill(fill))
    pointed = {a.lieu for a in classeur.anomalies if a.code in ("VAL-DOUBLON", "DEP-DOUBLON")}
    assert pointed == {"Dépenses!A4"}
    lines = classeur.eligibilite.lines.set_index("ligne")
    # Row 3 (the first one typed) is kept: 60,00 € eligible; row 4 is the duplicate: 70,00 €
    # ineligible DEP-DOUBLON.
    assert (int(lines.at[3, "eligible"]), int(lines.at[3, "ineligible"])) == (6_000, 0)
    assert (int(lines.at[4, "eligible"]), int(lines.at[4, "ineligible"])) == (0, 7_000)
    assert lines.at[4, "motif"] == "DEP-DOUBLON"


# ------------------------------------------- what the gestionnaire is shown (§5.3)


def euros(text: str) -> str:
    """`3 000,00 €` as shown in messages (narrow no-break space between thousands)."""
    return text.replace(" ", NNBSP, text.count(" ") - 1)


AV = Gravite.AVERTISSEMENT
# Campaign start to the date d'arrêté, which ends the period here.
PERIODE = "du 01/01/2024 à l'arrêté des comptes du 30/06/2025"
SHOWN = {
    "ik": {
        (
            "DEP-IK",
            "Dépenses!E5",
            AV,
            "indemnité kilométrique de 160,00 € plafonnée au barème : 143,00 € éligibles, "
            "17,00 € au-delà du barème (par mentor et par année civile)",
        ),
        (
            "DEP-IK",
            "Dépenses!E6",
            AV,
            "indemnité kilométrique de 60,00 € plafonnée au barème : 41,00 € éligibles, "
            "19,00 € au-delà du barème (par mentor et par année civile)",
        ),
        (
            "DEP-IK",
            "Dépenses!E7",
            AV,
            "indemnité kilométrique de 250,00 € plafonnée au barème : 225,00 € éligibles, "
            "25,00 € au-delà du barème (par mentor et par année civile)",
        ),
        (
            "DEP-IK",
            "Dépenses!E8",
            AV,
            "indemnité kilométrique de 6,00 € plafonnée au barème : 5,13 € éligibles, "
            "0,87 € au-delà du barème (par mentor et par année civile)",
        ),
        # Kilometres missing: on the Kilomètres cell (K).
        (
            "DEP-IK-DONNEES",
            "Dépenses!K9",
            AV,
            "indemnité kilométrique inéligible en totalité (30,00 €) : kilomètres ou "
            "puissance fiscale manquants ou illisibles ; complétez-les pour calculer l'indemnité",
        ),
        # Horsepower missing (50 km are there): on the Puissance fiscale cell (L).
        (
            "DEP-IK-DONNEES",
            "Dépenses!L10",
            AV,
            "indemnité kilométrique inéligible en totalité (16,00 €) : kilomètres ou "
            "puissance fiscale manquants ou illisibles ; complétez-les pour calculer l'indemnité",
        ),
    },
    "conventions": {
        (
            "DEP-PLAFOND-CONVENTION",
            "Dépenses!E4",
            AV,
            "versement au partenaire « P01 » au-delà du montant conventionné "
            f"({euros('3 000,00 €')}) : 500,00 € inéligibles sur {euros('1 500,00 €')}",
        ),
        (
            "DEP-PLAFOND-CONVENTION",
            "Dépenses!E5",
            AV,
            "versement au partenaire « P01 » au-delà du montant conventionné "
            f"({euros('3 000,00 €')}) : 400,00 € inéligibles sur 400,00 €",
        ),
        (
            "DEP-SERVICE-FAIT",
            "Dépenses!H6",
            AV,
            f"versement inéligible en totalité ({euros('1 000,00 €')}) : service fait non "
            "vérifié ; vérifiez la prestation facturée puis saisissez Oui",
        ),
        (
            "DEP-CONVENTION-PERIODE",
            "Dépenses!B7",
            AV,
            "versement inéligible en totalité (500,00 €) : daté du 15/08/2024, hors des "
            "dates de la convention (01/09/2024 – 31/08/2025)",
        ),
        (
            "DEP-CONVENTION",
            "Dépenses!F8",
            AV,
            "versement inéligible en totalité (800,00 €) : le partenaire « P02 » n'a pas de "
            "convention signée ; joignez la convention et saisissez Oui dans Partenaires",
        ),
        (
            "DEP-JUSTIFICATIF",
            "Dépenses!G9",
            AV,
            "dépense inéligible en totalité (300,00 €) : pas de justificatif ; saisissez Oui "
            "si la facture ou le reçu est conservé",
        ),
        (
            "DEP-CONVENTION-PERIODE",
            "Dépenses!B11",
            AV,
            "versement inéligible en totalité (300,00 €) : daté du 01/07/2025, hors des "
            "dates de la convention (01/09/2024 – 30/06/2025)",
        ),
    },
    "simple": {
        (
            "DEP-PERIODE",
            "Dépenses!B3",
            AV,
            "dépense inéligible en totalité (100,00 €) : datée du 31/12/2023, hors de la "
            f"période d'éligibilité, {PERIODE} ; vérifiez la date",
        ),
        (
            "DEP-CATEGORIE",
            "Dépenses!C5",
            AV,
            "dépense inéligible en totalité (300,00 €) : catégorie « Rémunération des "
            "mentors » non éligible. Non éligible : le temps des mentors ne peut pas être "
            "rémunéré.",
        ),
        (
            "DEP-CATEGORIE",
            "Dépenses!C6",
            AV,
            "dépense inéligible en totalité (45,50 €) : catégorie « Autre » non éligible. "
            "Non éligible tant que la dépense n'est pas justifiée auprès du rectorat.",
        ),
        (
            "DEP-JUSTIFICATIF",
            "Dépenses!G7",
            AV,
            "dépense inéligible en totalité (89,90 €) : pas de justificatif ; saisissez Oui "
            "si la facture ou le reçu est conservé",
        ),
        (
            "DEP-JUSTIFICATIF",
            "Dépenses!G8",
            AV,
            "dépense inéligible en totalité (200,00 €) : pas de justificatif ; saisissez Oui "
            "si la facture ou le reçu est conservé",
        ),
        (
            "DEP-CUMUL",
            "Dépenses!M9",
            AV,
            "dépense inéligible en totalité (350,00 €) : déjà financée par un autre "
            "programme de l'État (pas de double financement, FAQ)",
        ),
        (
            "DEP-PERIODE",
            "Dépenses!B12",
            AV,
            "dépense inéligible en totalité (99,99 €) : datée du 01/07/2025, hors de la "
            f"période d'éligibilité, {PERIODE} ; vérifiez la date",
        ),
        (
            "DEP-CATEGORIE",
            "Dépenses!C13",
            AV,
            "dépense inéligible en totalité (50,00 €) : catégorie « Autre » non éligible. "
            "Non éligible tant que la dépense n'est pas justifiée auprès du rectorat.",
        ),
        (
            "DEP-JUSTIFICATIF",
            "Dépenses!G14",
            AV,
            "dépense inéligible en totalité (10,00 €) : pas de justificatif ; saisissez Oui "
            "si la facture ou le reçu est conservé",
        ),
    },
}


@pytest.mark.parametrize("name", SHOWN)
def test_verifier_shows_each_rejection_on_the_cell_that_decides_it(name, fill, write_fill, check):
    build, _, _ = WORKBOOKS[name]
    classeur = check(write_fill(build(fill), f"{name}.xlsx"))
    assert rejection_anomalies(classeur) == SHOWN[name]


def test_every_rejection_is_shown_once(write_fill, check):
    """One message per (line, reason), whatever the workbook."""
    for name in SHOWN:
        build, spec, _ = WORKBOOKS[name]
        classeur = check(write_fill(build(base_fill()), f"{name}-once.xlsx"))
        messages = [a for a in classeur.anomalies if a.code in eligibility.MOTIFS]
        reasons = [code for _, _, why in spec for code in why]
        assert sorted(a.code for a in messages) == sorted(reasons), name


# ------------------------------------------------------- the mileage allowance


def allowance(km_before: float, km: float, cv: int) -> int:
    """One trip's allowance in cents through `ik_allowance` (kilometres in hundredths)."""
    result = eligibility.ik_allowance(
        np.array([round(km_before * 100)], dtype="int64"),
        np.array([round(km * 100)], dtype="int64"),
        np.array([cv], dtype="int64"),
        RULES,
    )
    return int(result[0])


@pytest.mark.parametrize(
    ("km_before", "km", "cv", "cents"),
    [
        (0, 1, 1, 32),  # 1 × 0,32
        (0, 2000, 5, 64_000),  # 2 000 × 0,32 = 640,00, the whole first band
        (0, 2500, 5, 84_000),  # 2 000 × 0,32 + 500 × 0,40 = 640,00 + 200,00
        (1900, 300, 6, 14_300),  # 100 × 0,41 + 200 × 0,51 = 41,00 + 102,00
        (1900, 300, 7, 14_300),  # 7 CV: same band as 6 CV
        (2000, 100, 6, 5_100),  # already beyond 2 000 km: 100 × 0,51
        (9500, 1000, 8, 43_500),  # 500 × 0,55 + 500 × 0,32 = 275,00 + 160,00
        (0, 12_000, 6, 550_000),  # 2 000 × 0,41 + 8 000 × 0,51 + 2 000 × 0,30 = 820 + 4 080 + 600
        (0, 12.5, 6, 513),  # 12,5 × 0,41 = 5,125 → 5,13 (half up)
        (10_000, 12.5, 5, 288),  # 12,5 × 0,23 = 2,875 → 2,88 (half up)
        (0, 100, 50, 4_500),  # 50 CV: the « 8 CV and more » row, 100 × 0,45
    ],
)
def test_ik_allowance_by_hand(km_before, km, cv, cents):
    assert allowance(km_before, km, cv) == cents


HUNDREDTHS = st.integers(min_value=0, max_value=1_500_000)  # 0 to 15 000 km


@settings(max_examples=200, deadline=None)
@given(
    trips=st.lists(
        st.tuples(HUNDREDTHS, HUNDREDTHS, HUNDREDTHS, st.integers(min_value=1, max_value=20)),
        min_size=1,
        max_size=20,
    )
)
def test_ik_allowance_is_monotone_and_additive(trips):
    before, first, second, cv = (np.array(x, dtype="int64") for x in zip(*trips, strict=True))
    shorter, longer = np.minimum(first, second), np.maximum(first, second)
    # Non-decreasing in the kilometres of the trip.
    assert (
        eligibility.ik_allowance(before, shorter, cv, RULES)
        <= eligibility.ik_allowance(before, longer, cv, RULES)
    ).all()
    # One trip of first + second km = two consecutive trips, within rounding: each of the
    # three roundings is off by at most half a cent, so the totals differ by at most 1 cent.
    whole = eligibility.ik_allowance(before, first + second, cv, RULES)
    split = eligibility.ik_allowance(before, first, cv, RULES) + eligibility.ik_allowance(
        before + first, second, cv, RULES
    )
    assert (np.abs(whole - split) <= 1).all()


# ------------------------------------------------------ properties on workbooks

# Mostly inside the eligibility period (1 Jan 2024 - 31 Dec 2025), sometimes around it.
PERIOD_DAYS = st.one_of(
    st.dates(min_value=D(2024, 1, 1), max_value=D(2025, 12, 31)),
    st.dates(min_value=D(2023, 10, 1), max_value=D(2026, 3, 31)),
)
PARTNER_CODES = ("P01", "P02", "P03")


@st.composite
def partners(draw) -> list[dict]:
    out = []
    for i, code in enumerate(PARTNER_CODES):
        row = {
            "code": code,
            "raison_sociale": f"Partenaire {i + 1}",
            "type": "Association",
            "convention": draw(st.sampled_from([True, True, False])),
            "autre_financement": False,
        }
        if row["convention"]:
            # Caps of the same order as a few payments, so that they are often reached.
            start = draw(st.dates(min_value=D(2023, 6, 1), max_value=D(2025, 9, 30)))
            row.update(
                debut=start,
                fin=start + dt.timedelta(days=draw(st.integers(0, 900))),
                montant=draw(st.integers(0, 400_000)),
            )
        out.append(row)
    return out


@st.composite
def expense(draw, index: int) -> dict:
    kind = draw(st.sampled_from(["direct", "partner", "partner", "car"]))
    line = {
        "piece": f"G{index:03d}",
        "date": draw(PERIOD_DAYS),
        "categorie": draw(st.sampled_from(LABELS)),
        "montant": draw(st.integers(min_value=1, max_value=500_000)),
        "justificatif": draw(st.sampled_from([True, True, True, True, False, None])),
        "autre_financement": draw(st.sampled_from([None, None, None, None, False, True])),
    }
    if kind == "partner":
        line["paye_a"] = draw(st.sampled_from(PARTNER_CODES))
        line["service_fait"] = draw(st.sampled_from([True, True, True, True, False, None]))
    elif kind == "car":
        line["categorie"] = DEP_MENTOR
        line["mentor"] = draw(st.sampled_from(["M01", "M02"]))
        line["transport"] = VOITURE
        line["km"] = draw(st.one_of(st.none(), st.integers(0, 40_000).map(lambda t: t / 10)))
        line["cv"] = draw(st.one_of(st.none(), st.integers(1, 12)))
    else:
        line["paye_a"] = "Fournisseur"
    return line


@st.composite
def workbooks(draw) -> Remplissage:
    fill = base_fill()
    n = draw(st.integers(min_value=1, max_value=12))
    fill.lignes["depenses"] = [draw(expense(i)) for i in range(n)]
    fill.lignes["partenaires"] = draw(partners())
    fill.etablissement.update(
        dotation=draw(st.integers(0, 1_000_000)),
        report=draw(st.integers(0, 200_000)),
        poursuite=draw(st.booleans()),
        date_arrete=draw(st.one_of(st.none(), st.dates(D(2024, 6, 1), D(2026, 6, 30)))),
    )
    return fill


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fill=workbooks())
def test_every_cent_is_accounted_for(fill):
    with tempfile.TemporaryDirectory() as folder:
        path = write_template(Path(folder) / "hasard.xlsx", RULES, fill)
        classeur, _ = check_workbook(path, RULES)
        resultat = batch.process(path, "hasard.xlsx", RULES, None)
    lines = classeur.eligibilite.lines
    figures = resultat.figures
    typed = {line["piece"]: line["montant"] for line in fill.lignes["depenses"]}

    # Every line: eligible + ineligible = the amount typed, both parts ≥ 0.
    assert len(lines) == len(typed)
    for row in lines.itertuples(index=False):
        assert int(row.montant) == typed[row.piece]
        assert row.eligible + row.ineligible == row.montant
        assert row.eligible >= 0
        assert row.ineligible >= 0
        # ... and every ineligible cent carries a reason.
        assert row.motif_cents + row.motif2_cents == row.ineligible
        assert (row.motif != "") == (row.motif_cents > 0)

    # The rejections listed in the bilan add up to the ineligible total.
    assert sum(r["cents"] for r in resultat.rejets) == int(lines["ineligible"].sum())
    assert all(r["cents"] > 0 and r["code"] in eligibility.MOTIFS for r in resultat.rejets)

    # Conservation and balances (SPEC §6).
    assert figures.lus == sum(typed.values())
    assert figures.lus == figures.eligibles + figures.ineligibles
    assert sum(figures.par_categorie.values()) == figures.eligibles
    assert sum(figures.par_motif.values()) == figures.ineligibles
    assert figures.disponibles == fill.etablissement["dotation"] + fill.etablissement["report"]
    assert figures.reliquat - figures.depassement == figures.disponibles - figures.eligibles
    assert not (figures.reliquat > 0 and figures.depassement > 0)
    assert figures.reliquat_reporte + figures.a_reverser == figures.reliquat
    if fill.etablissement["poursuite"]:
        assert figures.a_reverser == 0
    else:
        assert figures.reliquat_reporte == 0

    # Payments to a partner never exceed its montant conventionné (0 without convention).
    paid: dict[str, int] = defaultdict(int)
    for row in lines.itertuples(index=False):
        if isinstance(row.paye_a, str) and row.paye_a in PARTNER_CODES:
            paid[row.paye_a] += int(row.eligible)
    for partner in fill.lignes["partenaires"]:
        cap = partner["montant"] if partner["convention"] else 0
        assert paid[partner["code"]] <= cap, partner["code"]
    assert figures.reversements == sum(paid.values())
