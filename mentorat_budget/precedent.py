"""Year N+1: last year's bilan gives each establishment's expected opening balance.

Each UAI's `Reliquat reporté (€)` of the previous bilan is what it should declare as
`Report de l'exercice précédent`. A different amount, or any report from an
establishment that had to return its credits to the DJEPVA, is a blocking anomaly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .anomalies import Anomalies, Gravite
from .batch import Resultat
from .read import read_any
from .values import Illisible, euros, norm, parse_money
from .verify import A_CORRIGER, VALIDE

UAI, REPORTE, REVERSER, STATUT = (
    "UAI",
    "Reliquat reporté (€)",
    "À reverser à la DJEPVA (€)",
    "Statut du classeur",
)


class PrecedentIllisible(Exception):
    """The previous bilan cannot be used; the message says why, in French."""


@dataclass
class Previous:
    path: Path
    campagne: int | None
    reporte: dict[str, int] = field(default_factory=dict)  # UAI -> cents carried over
    reverse: dict[str, int] = field(default_factory=dict)  # UAI -> cents returned


def _cents(value: object) -> int:
    if value in ("", None):
        return 0
    try:
        return parse_money(value)
    except Illisible:
        return 0


def read_previous(path: Path) -> Previous:
    anomalies = Anomalies(str(path))
    raw = read_any(Path(path), anomalies)
    if raw is None:
        reason = anomalies[0].message if anomalies else "fichier illisible"
        raise PrecedentIllisible(f"bilan précédent {path} illisible : {reason}")
    sheets = {norm(s.name): s for s in raw.sheets.values()}
    etab = sheets.get(norm("Établissements"))
    if etab is None or not etab.rows:
        raise PrecedentIllisible(f"{path} n'est pas un bilan : pas de feuille Établissements")
    headers = [str(h) for h in etab.rows[0]]
    missing = [h for h in (UAI, REPORTE, REVERSER, STATUT) if h not in headers]
    if missing:
        raise PrecedentIllisible(
            f"{path} : colonnes absentes de la feuille Établissements : "
            + ", ".join(f"« {m} »" for m in missing)
        )
    col = {h: headers.index(h) for h in (UAI, REPORTE, REVERSER, STATUT)}
    previous = Previous(Path(path), _campaign(sheets))
    for row in etab.rows[1:]:
        uai, statut = str(row[col[UAI]]).strip(), str(row[col[STATUT]])
        if not uai or statut not in (VALIDE, A_CORRIGER):  # totals, duplicates, unreadable
            continue
        previous.reporte[uai] = _cents(row[col[REPORTE]])
        previous.reverse[uai] = _cents(row[col[REVERSER]])
    return previous


def _campaign(sheets) -> int | None:
    synthese = sheets.get(norm("Synthèse"))
    for row in synthese.rows if synthese else []:
        if len(row) > 1 and isinstance(row[0], str) and norm(row[0]) == "campagne":
            return int(row[1]) if isinstance(row[1], int | float) else None
    return None


def compare(results: list[Resultat], previous: Previous) -> None:
    """Set each result's expected report and add the anomalies of a wrong declaration."""
    year = previous.campagne
    for r in results:
        if r.figures is None or not r.uai:
            continue
        declared = r.figures.report
        anomalies = Anomalies(r.fichier)
        sheet, cell = r.report_lieu
        if r.uai not in previous.reporte:
            r.report_attendu = None
            if declared:
                anomalies.add("PRE-ABSENT", sheet, cell, euros(declared), campagne=year)
        elif previous.reverse[r.uai] > 0:
            r.report_attendu = 0
            if declared:
                anomalies.add(
                    "PRE-REVERSE",
                    sheet,
                    cell,
                    euros(declared),
                    campagne=year,
                    reverse=euros(previous.reverse[r.uai]),
                )
        else:
            r.report_attendu = previous.reporte[r.uai]
            if declared != r.report_attendu:
                anomalies.add(
                    "PRE-REPORT",
                    sheet,
                    cell,
                    euros(declared),
                    campagne=year,
                    attendu=euros(r.report_attendu),
                )
        r.anomalies.extend(anomalies)
        if r.statut == VALIDE and any(a.gravite is Gravite.BLOQUANT for a in anomalies):
            r.statut = A_CORRIGER
