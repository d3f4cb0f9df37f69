"""Shared fixtures: a small valid establishment, real workbooks written from it, LibreOffice."""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mentorat_budget import rules as rules_mod
from mentorat_budget.verify import check_workbook
from mentorat_budget.write.template import Remplissage, write_template

D = dt.date


def base_fill() -> Remplissage:
    """A small, valid establishment (no blocking anomaly), written by hand.

    Money is in integer cents, as `Remplissage` expects.
    """
    return Remplissage(
        etablissement={
            "uai": "0750655E",
            "nom": "Lycée professionnel Test",
            "academie": "Paris",
            "campagne": 2024,
            "dotation": 1_000_000,
            "eleves_prevus": 20,
            "report": 0,
            "poursuite": True,
            "date_arrete": None,
        },
        lignes={
            "eleves": [
                {"code": "E001", "filiere": "Numérique", "formation": "Bac pro CIEL",
                 "niveau": "Première", "mentor": "M01", "debut": D(2024, 10, 1),
                 "statut": "En cours", "boursier": True, "qpv": False},
                {"code": "E002", "filiere": "Énergie", "formation": "Bac pro MELEC",
                 "niveau": "Terminale", "mentor": "M02", "debut": D(2024, 10, 3),
                 "statut": "Terminé", "fin": D(2025, 5, 30), "boursier": False, "qpv": True},
                {"code": "E003", "filiere": "Mobilité", "formation": "CAP MV",
                 "niveau": "CAP 1re année", "mentor": None, "statut": "En cours",
                 "boursier": False, "qpv": False},
            ],
            "mentors": [
                {"code": "M01", "statut": "Salarié", "filiere": "Numérique",
                 "structure": "Datavia", "partenaire": "P01", "honorabilite": True,
                 "verifie_par": "Partenaire", "date_verification": D(2024, 9, 10),
                 "formation": True, "heures": 12},
                {"code": "M02", "statut": "Retraité", "filiere": "Énergie",
                 "structure": "Voltéo", "partenaire": None, "honorabilite": True,
                 "verifie_par": "DSDEN", "date_verification": D(2024, 9, 12),
                 "formation": True, "heures": 8.5},
            ],
            "partenaires": [
                {"code": "P01", "raison_sociale": "Passerelles Pro", "type": "Association",
                 "siret": "73282932000074", "rna": "W751234567", "convention": True,
                 "reference": "CONV-01", "date_signature": D(2024, 8, 20),
                 "debut": D(2024, 9, 1), "fin": D(2025, 8, 31), "montant": 300_000,
                 "autre_financement": False},
            ],
            "budget": [
                {"partenaire": "P01", "categorie": "Coordination et sourçage des mentors",
                 "montant": 300_000},
                {"partenaire": None, "categorie": "Déplacements des mentors", "montant": 50_000},
            ],
            "depenses": [
                {"piece": "F001", "date": D(2024, 10, 15),
                 "categorie": "Coordination et sourçage des mentors",
                 "libelle": "Convention, versement 1", "montant": 150_000, "paye_a": "P01",
                 "justificatif": True, "service_fait": True},
                {"piece": "F002", "date": D(2024, 11, 5), "categorie": "Déplacements des mentors",
                 "libelle": "Indemnités kilométriques", "montant": 1_280, "paye_a": "Mentor M02",
                 "justificatif": True, "mentor": "M02", "transport": "Véhicule personnel",
                 "km": 40, "cv": 5},
                {"piece": "F003", "date": D(2025, 1, 20), "categorie": "Communication",
                 "libelle": "Flyers", "montant": 12_345, "paye_a": "Imprimerie du Centre",
                 "justificatif": True},
            ],
            "rencontres": [
                {"date": D(2024, 11, 5), "mentor": "M02", "eleves": "E002", "type": "Individuelle",
                 "format": "Présentiel", "lieu": "Établissement", "duree": 1.5,
                 "temps_scolaire": True},
                {"date": D(2024, 12, 10), "mentor": "M01", "eleves": "E001; E002",
                 "type": "Visite d'entreprise", "format": "Présentiel", "lieu": "Entreprise",
                 "duree": 3, "temps_scolaire": False},
            ],
        },
    )  # fmt: skip


@pytest.fixture
def rules():
    return rules_mod.for_campagne(2024)


@pytest.fixture
def fill() -> Remplissage:
    return copy.deepcopy(base_fill())


@pytest.fixture
def write_fill(tmp_path, rules):
    """Write a Remplissage as a real workbook through the template writer."""

    def write(fill: Remplissage, name: str = "classeur.xlsx") -> Path:
        return write_template(tmp_path / name, rules, fill)

    return write


@pytest.fixture
def check(rules):
    """Read and check a workbook with the 2024 rules; returns the typed Classeur."""

    def run(path: Path):
        classeur, _ = check_workbook(path, rules)
        return classeur

    return run


def codes_at(classeur) -> set[tuple[str, str]]:
    """(code, Sheet!Cell) of every anomaly, for concise assertions."""
    return {(a.code, a.lieu) for a in classeur.anomalies}


# ------------------------------------------------------------------ LibreOffice


@pytest.fixture(scope="session")
def soffice(tmp_path_factory) -> list[str]:
    """The soffice command with a throwaway profile; skipped only when LibreOffice is absent
    and MENTORAT_EXIGER_SOFFICE is not set (CI sets it, so there it fails instead)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("MENTORAT_EXIGER_SOFFICE"):
            pytest.fail("LibreOffice (soffice) est requis mais introuvable")
        pytest.skip("LibreOffice (soffice) absent")
    profile = tmp_path_factory.mktemp("lo-profile")
    return [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless"]


def lo_convert(soffice: list[str], source: Path, fmt: str, outdir: Path) -> Path:
    """Convert with LibreOffice (`xlsx`, `ods`, `pdf`...); returns the new file."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([*soffice, "--convert-to", fmt, "--outdir", str(outdir), str(source)],
                   check=True, capture_output=True, timeout=180)  # fmt: skip
    target = outdir / (source.stem + "." + fmt.split(":")[0])
    assert target.exists(), f"LibreOffice n'a pas produit {target}"
    return target
