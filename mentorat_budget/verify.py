"""One workbook, end to end: read -> validate -> checks, with the rules of its campaign."""

from __future__ import annotations

from pathlib import Path

from . import eligibility
from . import rules as rules_mod
from .anomalies import Anomalies
from .checks import run_checks
from .read import RawWorkbook, read_workbook
from .rules import Rules
from .validate import Classeur, validate

VALIDE, A_CORRIGER, ILLISIBLE, DOUBLON = "Valide", "À corriger", "Illisible", "Doublon"


def _typed(
    path: Path, fichier: str, raw: RawWorkbook | None, read_anomalies: list, rules: Rules
) -> Classeur:
    anomalies = Anomalies(fichier)
    anomalies.extend(read_anomalies)
    classeur = validate(raw, Classeur(Path(path), fichier, anomalies), rules)
    run_checks(classeur, rules)
    if classeur.lisible:
        result = eligibility.compute(classeur, rules)
        eligibility.rejection_anomalies(result, classeur, rules, anomalies)
        eligibility.warnings(result, classeur, rules, anomalies)
        classeur.eligibilite = result
    return classeur


def check_workbook(
    path: Path,
    rules: Rules | None = None,
    fichier: str | None = None,
) -> tuple[Classeur, Rules]:
    """Read and check one workbook.

    With `rules=None`, the rules are those of the campaign the workbook declares
    when they exist, else those of the latest campaign (and the mismatch is reported).
    """
    fichier = fichier or str(path)
    read_anomalies = Anomalies(fichier)
    raw = read_workbook(Path(path), read_anomalies)
    chosen = rules or rules_mod.latest()
    classeur = _typed(path, fichier, raw, read_anomalies, chosen)
    declared = classeur.etablissement.get("campagne")
    if (
        rules is None
        and isinstance(declared, int)
        and declared != chosen.campagne
        and declared in rules_mod.campagnes_connues()
    ):
        chosen = rules_mod.for_campagne(declared)
        classeur = _typed(path, fichier, raw, read_anomalies, chosen)
    return classeur, chosen


def statut(classeur: Classeur) -> str:
    if not classeur.lisible:
        return ILLISIBLE
    return A_CORRIGER if classeur.anomalies.bloquantes else VALIDE
