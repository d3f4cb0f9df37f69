"""Splitting an envelope between establishments (`repartir`, SPEC §7.2).

Each establishment's plafond is the forfait × its planned students. When the envelope
covers every plafond, each gets its plafond and the rest stays unallocated; otherwise
each gets its pro-rata share in whole euros, the leftover euros going one by one to the
largest remainders (ties: UAI order). Exact integer arithmetic throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .academies import academie
from .anomalies import Anomalies, Gravite
from .read import RawSheet, read_any
from .report import cell_key
from .rules import Rules
from .schema import Column, Kind, Sheet, header_lookup
from .validate import ROW, Table, TypingContext, find_header, type_table
from .values import norm

LISTE = Sheet(
    "liste",
    "Établissements",
    "Liste des établissements à doter.",
    columns=(
        Column("uai", "UAI", Kind.UAI, "Code UAI.", required=True, aliases=("Code UAI", "RNE")),
        Column(
            "nom",
            "Établissement",
            Kind.TEXT,
            "Nom de l'établissement.",
            aliases=("Nom de l'établissement", "Nom"),
        ),
        Column(
            "eleves",
            "Élèves prévus",
            Kind.INT,
            "Élèves prévus.",
            required=True,
            minimum="ge0",
            aliases=("Nombre d'élèves prévus", "Élèves", "Effectif"),
        ),
    ),
)


@dataclass
class Allocation:
    uai: str
    nom: str
    academie: str | None
    eleves: int
    plafond: int  # whole euros
    dotation: int = 0  # whole euros


@dataclass
class Repartition:
    enveloppe: int
    lignes: list[Allocation] = field(default_factory=list)
    anomalies: Anomalies | None = None
    sheet: str = ""

    @property
    def total(self) -> int:
        return sum(a.dotation for a in self.lignes)

    @property
    def plafonds(self) -> int:
        return sum(a.plafond for a in self.lignes)

    @property
    def non_reparti(self) -> int:
        return self.enveloppe - self.total


def largest_remainders(envelope: int, caps: list[int], keys: list[str]) -> list[int]:
    """Whole-euro shares of `envelope` in proportion to `caps`, never above a cap.

    The total is min(envelope, Σ caps); each share differs from its exact pro-rata
    share by less than one euro; ties on the remainder go by `keys` order.
    """
    total_caps = sum(caps)
    if envelope >= total_caps:
        return list(caps)
    floors = [envelope * c // total_caps for c in caps]
    remainders = [envelope * c % total_caps for c in caps]
    leftover = envelope - sum(floors)
    order = sorted(range(len(caps)), key=lambda i: (-remainders[i], keys[i]))
    for i in order[:leftover]:
        floors[i] += 1
    return floors


def read_list(path: Path, rules: Rules) -> tuple[Table | None, Anomalies]:
    """The establishments of the input workbook (the first sheet with the right headers)."""
    anomalies = Anomalies(str(path))
    raw = read_any(Path(path), anomalies)
    if raw is None:
        return None, anomalies
    sheet = _first_sheet_with_headers(raw.sheets.values())
    if sheet is None:
        first = raw.sheet_names[0] if raw.sheet_names else ""
        for header in ("UAI", "Élèves prévus"):
            anomalies.add("COL-MANQUANTE", first, "A1", colonne=header)
        return None, anomalies
    rows = [[""] * len(row) if _is_total(row) else row for row in sheet.rows]
    sheet = RawSheet(sheet.name, rows, sheet.merged, sheet.special)
    return type_table(LISTE, sheet, TypingContext(anomalies, rules)), anomalies


def _is_total(row: list) -> bool:
    """A total line typed by the analyst under the list (« Total », « TOTAL GÉNÉRAL »)."""
    return any(isinstance(c, str) and norm(c).startswith("total") for c in row[:3])


def _first_sheet_with_headers(sheets) -> RawSheet | None:
    lookup = header_lookup(LISTE)
    for sheet in sheets:
        found = find_header(sheet.rows, lookup)
        if found and {"uai", "eleves"} <= set(found[1].values()):
            return sheet
    return None


def allocate(path: Path, envelope: int, rules: Rules) -> Repartition:
    """Read the list and split the envelope; a row with a blocking anomaly gets nothing."""
    table, anomalies = read_list(path, rules)
    result = Repartition(envelope, anomalies=anomalies, sheet=table.name if table else "")
    if table is None:
        return result
    blocked = {cell_key(a.cellule)[0] for a in anomalies if a.gravite is Gravite.BLOQUANT}
    seen: dict[str, int] = {}
    forfait_euros = rules.forfait_cents // 100
    for r in table.frame.to_dict("records"):
        ligne, uai, eleves = r[ROW], r["uai"], r["eleves"]
        if pd.isna(uai):
            continue  # unreadable or missing: the anomaly is already there
        if uai in seen:  # whether the first one got anything or not
            anomalies.add(
                "REP-DOUBLON", table.name, table.cell("uai", ligne), uai, premiere=seen[uai]
            )
            continue
        seen[uai] = ligne
        if ligne in blocked or pd.isna(eleves):
            continue
        nom = r["nom"] if isinstance(r["nom"], str) else ""
        result.lignes.append(
            Allocation(uai, nom, academie(uai), int(eleves), forfait_euros * int(eleves))
        )
    result.lignes.sort(key=lambda a: a.uai)
    shares = largest_remainders(
        envelope, [a.plafond for a in result.lignes], [a.uai for a in result.lignes]
    )
    for allocation, share in zip(result.lignes, shares, strict=True):
        allocation.dotation = share
    return result
