"""Per-establishment figures (SPEC §6): credits, spending, balances, activity.

All money is integer cents. `Figures` is plain data so that batch workers can send
it back cheaply, and the totals of a batch are sums of these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from .checks import mentored_mask
from .eligibility import Eligibilite
from .rules import Rules
from .validate import Classeur
from .values import split_codes, to_cents

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


def _activity(classeur: Classeur) -> Activite:
    rencontres = classeur.table("rencontres").frame
    mentors = classeur.table("mentors").frame
    act = Activite(
        rencontres=len(rencontres),
        heures_rencontres=float(rencontres["duree"].fillna(0).sum()),
        presentiel=int(rencontres["format"].eq("Présentiel").fillna(False).sum()),
        en_etablissement=int(rencontres["lieu"].eq("Établissement").fillna(False).sum()),
        visites=int(rencontres["type"].eq("Visite d'entreprise").fillna(False).sum()),
    )
    # Volunteer hours: the mentor's declared hours, else the length of their meetings.
    met = rencontres.groupby(rencontres["mentor"].str.upper())["duree"].sum()
    declared = mentors["heures"]
    fallback = mentors["code"].str.upper().map(met).astype("Float64")
    act.heures_mentorat = float(declared.fillna(fallback).fillna(0).sum())
    if mentors.empty:
        act.heures_mentorat = act.heures_rencontres
    return act


def _by_filiere(eleves: pd.DataFrame, mentored: pd.Series) -> dict[str, dict[str, int]]:
    out = {}
    for filiere in FILIERES:
        mask = eleves["filiere"].eq(filiere).fillna(False)
        out[filiere] = {
            "eleves": int(mask.sum()),
            "mentores": int((mask & mentored).sum()),
            "boursiers": int((mask & eleves["boursier"].fillna(False)).sum()),
            "qpv": int((mask & eleves["qpv"].fillna(False)).sum()),
            "abandons": int((mask & eleves["statut"].eq("Abandon").fillna(False)).sum()),
        }
    return out


def compute(classeur: Classeur, result: Eligibilite, rules: Rules) -> Figures:
    etab = classeur.etablissement
    eleves = classeur.table("eleves").frame
    mentored = mentored_mask(classeur)
    lines = result.lines
    f = Figures(
        eleves_prevus=int(etab.get("eleves_prevus") or 0),
        eleves=len(eleves),
        eleves_mentores=int(mentored.sum()),
        mentors=len(classeur.table("mentors").frame),
        boursiers=int((mentored & eleves["boursier"].fillna(False)).sum()),
        qpv=int((mentored & eleves["qpv"].fillna(False)).sum()),
        dotation=int(etab.get("dotation") or 0),
        report=int(etab.get("report") or 0),
        lignes=len(lines),
        lus=int(lines["compte"].sum()),
        eligibles=int(lines["eligible"].sum()),
        ineligibles=int(lines["ineligible"].sum()),
        reversements=int(lines.loc[lines["partenaire"].notna(), "eligible"].sum()),
        poursuite=etab.get("poursuite"),
    )
    f.plafond = rules.forfait_cents * f.eleves_mentores
    f.disponibles = f.dotation + f.report
    f.reliquat = max(0, f.disponibles - f.eligibles)
    f.depassement = max(0, f.eligibles - f.disponibles)
    if f.poursuite:
        f.reliquat_reporte = f.reliquat
    else:  # Non, or not said (a blocking anomaly): the credits go back to the DJEPVA
        f.a_reverser = f.reliquat
    by_category = lines.groupby("categorie")["eligible"].sum()
    f.par_categorie = {c.code: int(by_category.get(c.code, 0)) for c in rules.categories}
    rejets = result.rejets
    f.par_motif = {str(k): int(v) for k, v in rejets.groupby("code")["cents"].sum().items()}
    f.par_filiere = _by_filiere(eleves, mentored)
    f.activite = _activity(classeur)
    f.benevolat = _hours_cents(f.activite.heures_mentorat, rules)
    return f


def personal_codes(classeur: Classeur) -> set[str]:
    """Student and mentor codes: never written into the DJEPVA bilan."""
    codes: set[str] = set()
    for key in ("eleves", "mentors"):
        codes |= set(classeur.table(key).frame["code"].dropna())
    for text in classeur.table("rencontres").frame["eleves"].dropna():
        codes |= set(split_codes(text))
    for key in ("eleves", "depenses", "rencontres"):  # codes typed there, known or not
        codes |= set(classeur.table(key).frame["mentor"].dropna())
    return codes


def total(items: list[Figures]) -> Figures:
    """The sum of several establishments' figures (reliquats are summed, not recomputed:
    one establishment's surplus never covers another's overspending)."""
    out = Figures()
    for f in items:
        for name in (
            "eleves_prevus",
            "eleves",
            "eleves_mentores",
            "mentors",
            "boursiers",
            "qpv",
            "dotation",
            "plafond",
            "report",
            "disponibles",
            "lignes",
            "lus",
            "eligibles",
            "reversements",
            "ineligibles",
            "reliquat",
            "depassement",
            "reliquat_reporte",
            "a_reverser",
            "benevolat",
        ):
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
