"""Per-establishment figures (SPEC §6): credits, spending, balances, activity.

All money is integer cents. `Figures` is plain data so that batch workers can send
it back cheaply, and the totals of a batch are sums of these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

import numpy as np
import pandas as pd

from .checks import mentored_mask
from .eligibility import Eligibilite
from .lot import Lot
from .rules import Rules
from .values import to_cents

FILIERES = ("Numérique", "Énergie", "Mobilité")


@dataclass
class Activite:
    rencontres: int = 0
    heures_rencontres: float = 0.0
    presentiel: int = 0
    en_etablissement: int = 0
    visites: int = 0
    heures_mentorat: float = 0.0  # Heures de mentorat, else the mentor's meetings


@dataclass
class Figures:
    eleves_prevus: int = 0
    eleves: int = 0
    eleves_mentores: int = 0
    mentors: int = 0
    boursiers: int = 0
    qpv: int = 0
    dotation: int = 0
    plafond: int = 0
    report: int = 0
    disponibles: int = 0
    lignes: int = 0
    lignes_eligibles: int = 0  # lines with no ineligible part
    lus: int = 0  # Σ amounts read
    eligibles: int = 0
    reversements: int = 0  # eligible part of payments to partners
    ineligibles: int = 0
    reliquat: int = 0
    depassement: int = 0
    poursuite: bool | None = None
    reliquat_reporte: int = 0
    a_reverser: int = 0
    benevolat: int = 0
    par_categorie: dict[str, int] = field(default_factory=dict)  # eligible cents by code
    par_motif: dict[str, int] = field(default_factory=dict)  # ineligible cents by reason
    par_filiere: dict[str, dict[str, int]] = field(default_factory=dict)
    activite: Activite = field(default_factory=Activite)

    @property
    def taux(self) -> float | None:
        """Taux de consommation = éligibles / disponibles."""
        return self.eligibles / self.disponibles if self.disponibles else None


def _hours_cents(hours: float, rules: Rules) -> int:
    return to_cents(Decimal(repr(hours)) * rules.taux_horaire_cents / 100)


def _per_id(series: pd.Series, n: int, fill=0) -> np.ndarray:
    """A per-workbook aggregate as an array indexed by id (missing workbooks: fill)."""
    return series.reindex(range(n), fill_value=fill).to_numpy()


def _count(frame: pd.DataFrame, mask, n: int) -> np.ndarray:
    return _per_id(
        pd.Series(mask, index=frame.index).fillna(False).astype(int).groupby(frame["id"]).sum(), n
    )


def _activity(lot: Lot) -> list[Activite]:
    n, rencontres, mentors = len(lot), lot.tables["rencontres"], lot.tables["mentors"]
    by = rencontres["id"]
    count = _per_id(by.value_counts(), n)
    hours = _per_id(rencontres["duree"].fillna(0).groupby(by).sum(), n, 0.0)
    presentiel = _count(rencontres, rencontres["format"].eq("Présentiel"), n)
    in_school = _count(rencontres, rencontres["lieu"].eq("Établissement"), n)
    visits = _count(rencontres, rencontres["type"].eq("Visite d'entreprise"), n)
    # Volunteer hours: the mentor's declared hours, else the length of their meetings.
    met = rencontres["duree"].groupby(lot.key("rencontres", "mentor")).sum()
    fallback = lot.key("mentors", "code").map(met).astype("Float64")
    per_mentor = mentors["heures"].fillna(fallback).fillna(0)
    declared = _per_id(per_mentor.groupby(mentors["id"]).sum(), n, 0.0)
    has_mentors = _per_id(mentors["id"].value_counts(), n) > 0
    return [
        Activite(
            int(count[i]),
            float(hours[i]),
            int(presentiel[i]),
            int(in_school[i]),
            int(visits[i]),
            float(declared[i] if has_mentors[i] else hours[i]),
        )
        for i in range(n)
    ]


def _by_filiere(lot: Lot, mentored: pd.Series) -> list[dict[str, dict[str, int]]]:
    eleves, n = lot.tables["eleves"], len(lot)
    out: list[dict[str, dict[str, int]]] = [{} for _ in range(n)]
    for filiere in FILIERES:
        mask = eleves["filiere"].eq(filiere).fillna(False)
        counts = {
            "eleves": _count(eleves, mask, n),
            "mentores": _count(eleves, mask & mentored, n),
            "boursiers": _count(eleves, mask & eleves["boursier"].fillna(False), n),
            "qpv": _count(eleves, mask & eleves["qpv"].fillna(False), n),
            "abandons": _count(eleves, mask & eleves["statut"].eq("Abandon").fillna(False), n),
        }
        for i in range(n):
            out[i][filiere] = {k: int(v[i]) for k, v in counts.items()}
    return out


def _by_key(frame: pd.DataFrame, key: str, value: str, n: int) -> list[dict[str, int]]:
    """Per workbook, {key: Σ value}."""
    out: list[dict[str, int]] = [{} for _ in range(n)]
    sums = frame.groupby(["id", key])[value].sum().reset_index()
    for i, k, v in zip(
        sums["id"].to_numpy(), sums[key].to_numpy(), sums[value].to_numpy(), strict=True
    ):
        out[i][str(k)] = int(v)
    return out


def compute(lot: Lot, result: Eligibilite) -> list[Figures | None]:
    """The figures of each workbook of the lot (None for an unreadable one)."""
    rules, n = lot.rules, len(lot)
    eleves, lines = lot.tables["eleves"], result.lines
    mentored = mentored_mask(lot)
    counts = {
        "eleves": _per_id(eleves["id"].value_counts(), n),
        "eleves_mentores": _count(eleves, mentored, n),
        "mentors": _per_id(lot.tables["mentors"]["id"].value_counts(), n),
        "boursiers": _count(eleves, mentored & eleves["boursier"].fillna(False), n),
        "qpv": _count(eleves, mentored & eleves["qpv"].fillna(False), n),
        "lignes": _per_id(lines["id"].value_counts(), n),
        "lignes_eligibles": _count(lines, (lines["motif"] == "") & (lines["motif2"] == ""), n),
        "lus": _per_id(lines.groupby("id")["compte"].sum(), n),
        "eligibles": _per_id(lines.groupby("id")["eligible"].sum(), n),
        "ineligibles": _per_id(lines.groupby("id")["ineligible"].sum(), n),
        "reversements": _per_id(
            lines.loc[lines["partenaire"].notna()].groupby("id")["eligible"].sum(), n
        ),
    }
    categories = _by_key(lines, "categorie", "eligible", n)
    motifs = _by_key(result.rejets, "code", "cents", n)
    filieres = _by_filiere(lot, mentored)
    activity = _activity(lot)
    out: list[Figures | None] = []
    for i in range(n):
        if not lot.parsed[i].lisible:
            out.append(None)
            continue
        e = lot.parsed[i].etablissement
        f = Figures(
            **{k: int(v[i]) for k, v in counts.items()},
            eleves_prevus=_int(e.get("eleves_prevus")),
            dotation=_int(e.get("dotation")),
            report=_int(e.get("report")),
            poursuite=e.get("poursuite"),
        )
        f.plafond = rules.forfait_cents * f.eleves_mentores
        f.disponibles = f.dotation + f.report
        f.reliquat = max(0, f.disponibles - f.eligibles)
        f.depassement = max(0, f.eligibles - f.disponibles)
        if f.poursuite:
            f.reliquat_reporte = f.reliquat
        else:  # Non, or not said (a blocking anomaly): the credits go back to the DJEPVA
            f.a_reverser = f.reliquat
        f.par_categorie = {c.code: categories[i].get(c.code, 0) for c in rules.categories}
        f.par_motif = motifs[i]
        f.par_filiere = filieres[i]
        f.activite = activity[i]
        f.benevolat = _hours_cents(f.activite.heures_mentorat, rules)
        out.append(f)
    return out


def _int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def personal_codes(lot: Lot) -> list[set[str]]:
    """Per workbook, its student and mentor codes: never written into the DJEPVA bilan."""
    out: list[set[str]] = [set() for _ in range(len(lot))]
    columns = [
        ("eleves", "code"),
        ("mentors", "code"),
        ("eleves", "mentor"),
        ("depenses", "mentor"),
        ("rencontres", "mentor"),
    ]
    for key, column in columns:  # one Python pass: a groupby would make a Series per workbook
        frame = lot.tables[key]
        codes = frame[column].to_numpy(dtype=object, na_value=None).tolist()
        for i, code in zip(frame["id"].tolist(), codes, strict=True):
            if code is not None:
                out[i].add(code)
    listed = lot.codes_in("rencontres", "eleves")
    for i, code in zip(listed["id"].tolist(), listed["code"].tolist(), strict=True):
        out[i].add(code)
    return out


# Every integer field of Figures is a count or an amount that adds up across workbooks.
_SUMMED = tuple(f.name for f in fields(Figures) if f.type == "int")


def total(items: list[Figures]) -> Figures:
    """The sum of several establishments' figures (reliquats are summed, not recomputed:
    one establishment's surplus never covers another's overspending)."""
    out = Figures()
    for f in items:
        for name in _SUMMED:
            setattr(out, name, getattr(out, name) + getattr(f, name))
        for mapping, source in ((out.par_categorie, f.par_categorie), (out.par_motif, f.par_motif)):
            for key, value in source.items():
                mapping[key] = mapping.get(key, 0) + value
        for filiere, counts in f.par_filiere.items():
            mine = out.par_filiere.setdefault(filiere, {})
            for key, value in counts.items():
                mine[key] = mine.get(key, 0) + value
        for name in (
            "rencontres",
            "heures_rencontres",
            "presentiel",
            "en_etablissement",
            "visites",
            "heures_mentorat",
        ):
            setattr(out.activite, name, getattr(out.activite, name) + getattr(f.activite, name))
    return out
