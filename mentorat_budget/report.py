"""A workbook's anomalies as the terminal shows them, or as JSON for scripts."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .anomalies import Anomaly, Gravite
from .schema import SHEETS, sheet_for_name

if TYPE_CHECKING:
    from .verify import Classeur

_CELL = re.compile(r"([A-Z]+)(\d+)")
_ORDER = {g: i for i, g in enumerate(Gravite)}


def cell_key(cellule: str) -> tuple[int, int]:
    """`E14` -> (14, 5), for sorting by row then column."""
    m = _CELL.fullmatch(cellule or "")
    if not m:
        return (0, 0)
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return int(m[2]), col


@functools.cache  # a handful of sheet names, sorted by for every anomaly
def _sheet_rank(feuille: str) -> int:
    if not feuille:
        return -1
    sheet = sheet_for_name(feuille)
    return SHEETS.index(sheet) if sheet else len(SHEETS)


def sorted_anomalies(anomalies: Iterable[Anomaly]) -> list[Anomaly]:
    return sorted(
        anomalies,
        key=lambda a: (_sheet_rank(a.feuille), a.feuille, cell_key(a.cellule), _ORDER[a.gravite]),
    )


def grouped(anomalies: Iterable[Anomaly]) -> list[tuple[str, list[Anomaly]]]:
    groups: dict[str, list[Anomaly]] = {}
    for a in sorted_anomalies(anomalies):
        groups.setdefault(a.feuille or "Fichier", []).append(a)
    return list(groups.items())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def summary(classeur: Classeur) -> str:
    a = classeur.anomalies
    parts = [
        _plural(a.nombre(Gravite.BLOQUANT), "bloquante"),
        _plural(a.nombre(Gravite.AVERTISSEMENT), "avertissement"),
        _plural(a.nombre(Gravite.INFORMATION), "information"),
    ]
    return ", ".join(parts)


def identity(classeur: Classeur) -> str:
    etab = classeur.etablissement
    if not etab.get("uai") and not etab.get("nom"):
        return ""
    text = " — ".join(str(x) for x in (etab.get("uai"), etab.get("nom")) if x)
    if etab.get("academie"):
        text += f" — académie : {etab['academie']}"
    if etab.get("campagne"):
        text += f", campagne {etab['campagne']}"
    return text


def as_text(classeur: Classeur, statut: str, style=lambda text, **_: text) -> str:
    lines = [f"Classeur : {classeur.fichier}"]
    if who := identity(classeur):
        lines.append(f"Établissement : {who}")
    color = {"Valide": "green", "À corriger": "red", "Illisible": "red"}.get(statut, "yellow")
    lines.append(f"Statut : {style(statut, fg=color, bold=True)} — {summary(classeur)}")
    colors = {Gravite.BLOQUANT: "red", Gravite.AVERTISSEMENT: "yellow", Gravite.INFORMATION: "blue"}
    for feuille, items in grouped(classeur.anomalies):
        lines.append("")
        lines.append(style(f"{feuille} — {_plural(len(items), 'anomalie')}", bold=True))
        width = max(len(a.lieu) for a in items)
        for a in items:
            where = (a.lieu or a.feuille or "—").ljust(width)
            severity = style(f"{a.gravite:<13}", fg=colors[a.gravite])
            read = (
                f" (valeur lue : « {a.valeur} »)" if a.valeur and a.valeur not in a.message else ""
            )
            lines.append(f"  {where}  {severity}  {a.code:<24} {a.message}{read}")
    if not classeur.anomalies:
        lines.append("Aucune anomalie.")
    return "\n".join(lines)


def as_json(classeur: Classeur, statut: str) -> dict:
    a = classeur.anomalies
    return {
        "fichier": classeur.fichier,
        "statut": statut,
        "uai": classeur.etablissement.get("uai"),
        "etablissement": classeur.etablissement.get("nom"),
        "bloquantes": a.nombre(Gravite.BLOQUANT),
        "avertissements": a.nombre(Gravite.AVERTISSEMENT),
        "informations": a.nombre(Gravite.INFORMATION),
        "anomalies": [x.as_dict() for x in sorted_anomalies(a)],
    }
