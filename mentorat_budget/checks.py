"""The checks of SPEC §5.3 that concern one workbook, on the typed tables.

Each check reads the frames and appends anomalies; none changes the data.
"""

from __future__ import annotations

import pandas as pd

from .academies import academie
from .rules import Rules
from .validate import ROW, Classeur, Table
from .values import euros

ACTIVE = ("En cours", "Terminé")  # statuses that count as mentored


def _rows(table: Table, mask: pd.Series) -> pd.DataFrame:
    return table.frame.loc[mask.fillna(False).astype(bool)]


def mentored_mask(classeur: Classeur) -> pd.Series:
    """Students with a known mentor (one of the Mentors sheet) and status En cours or
    Terminé (SPEC §6)."""
    eleves = classeur.table("eleves").frame
    known = set(classeur.table("mentors").frame["code"].dropna().str.upper())
    has_mentor = eleves["mentor"].str.upper().isin(known).fillna(False)
    return (has_mentor & eleves["statut"].isin(ACTIVE).fillna(False)).astype(bool)


def check_etablissement(classeur: Classeur, rules: Rules) -> None:
    etab, cells, sheet = (
        classeur.etablissement,
        classeur.etablissement_cells,
        classeur.etablissement_sheet,
    )
    add = classeur.anomalies.add
    uai = etab.get("uai")
    if uai:
        expected = academie(uai)
        declared = etab.get("academie")
        if declared and expected and declared != expected:
            add("ETA-ACADEMIE", sheet, cells.get("academie", ""), declared, attendue=expected)
        if expected:  # the UAI decides: the bilan files the establishment under its académie
            etab["academie"] = expected
    campagne = etab.get("campagne")
    if campagne is not None and campagne != rules.campagne:
        add("ETA-CAMPAGNE", sheet, cells.get("campagne", ""), campagne, attendue=rules.campagne)
    dotation = etab.get("dotation")
    if dotation is None:
        return
    counts = {"ETA-DOTATION-PREVUS": etab.get("eleves_prevus")}
    if "eleves" in classeur.tables:
        counts["ETA-DOTATION-MENTORES"] = _mentored_count(classeur)
    for code, count in counts.items():
        if count is None:
            continue
        plafond = rules.forfait_cents * count
        if dotation > plafond:
            add(
                code,
                sheet,
                cells.get("dotation", ""),
                euros(dotation),
                forfait=euros(rules.forfait_cents),
                eleves=count,
                plafond=euros(plafond),
            )


def _mentored_count(classeur: Classeur) -> int:
    return int(mentored_mask(classeur).sum())


def check_mentors(classeur: Classeur, rules: Rules) -> None:
    if "mentors" not in classeur.tables:
        return
    mentors = classeur.tables["mentors"]
    frame, add = mentors.frame, classeur.anomalies.add
    for _, m in _rows(mentors, frame["statut"] == "Étudiant").iterrows():
        add(
            "MEN-ETUDIANT",
            mentors.name,
            mentors.cell("statut", m[ROW]),
            m["statut"],
            ident=m["code"],
        )
    for _, m in _rows(mentors, frame["honorabilite"] == False).iterrows():  # noqa: E712
        add(
            "MEN-HONORABILITE",
            mentors.name,
            mentors.cell("honorabilite", m[ROW]),
            "Non",
            ident=m["code"],
        )
    verified = frame["honorabilite"].fillna(False).astype(bool)
    no_partner = frame["partenaire"].isna()
    by_dsden = frame["verifie_par"] == "DSDEN"
    for _, m in _rows(mentors, verified & no_partner & ~by_dsden.fillna(False)).iterrows():
        add(
            "MEN-DSDEN",
            mentors.name,
            mentors.cell("verifie_par", m[ROW]),
            m["verifie_par"] if pd.notna(m["verifie_par"]) else "",
            ident=m["code"],
        )
    missing_by = verified & ~no_partner & frame["verifie_par"].isna()
    for _, m in _rows(mentors, missing_by).iterrows():
        add(
            "VAL-OBLIGATOIRE",
            mentors.name,
            mentors.cell("verifie_par", m[ROW]),
            colonne="Vérifiée par",
            aide="Indiquez qui a vérifié l'honorabilité (Partenaire ou DSDEN).",
        )
    for _, m in _rows(mentors, frame["formation"] == False).iterrows():  # noqa: E712
        add(
            "MEN-FORMATION", mentors.name, mentors.cell("formation", m[ROW]), "Non", ident=m["code"]
        )
    _check_mentees(classeur, mentors, rules)


def _check_mentees(classeur: Classeur, mentors: Table, rules: Rules) -> None:
    eleves = classeur.table("eleves").frame
    if eleves.empty:
        return
    key = eleves["mentor"].str.upper()
    active = eleves["statut"].eq("En cours").fillna(False)
    counts = key[active].value_counts()
    filieres = eleves.groupby(key)["filiere"].agg(lambda s: set(s.dropna()))
    add = classeur.anomalies.add
    for _, m in mentors.frame.iterrows():
        code = m["code"]
        if pd.isna(code):
            continue
        n = int(counts.get(code.upper(), 0))
        if n > rules.mentores_par_mentor:
            add(
                "MEN-MENTORES",
                mentors.name,
                mentors.cell("code", m[ROW]),
                code,
                ident=code,
                nombre=n,
                seuil=rules.mentores_par_mentor,
            )
        theirs = filieres.get(code.upper(), set())
        own = m["filiere"]
        if pd.notna(own) and theirs and own not in theirs:
            add(
                "MEN-FILIERE",
                mentors.name,
                mentors.cell("filiere", m[ROW]),
                own,
                ident=code,
                filieres=", ".join(sorted(theirs)),
            )


def check_partenaires(classeur: Classeur) -> None:
    if "partenaires" not in classeur.tables:
        return
    partners = classeur.tables["partenaires"]
    frame, add = partners.frame, classeur.anomalies.add
    signed = frame["convention"].fillna(False).astype(bool)
    for key, label in (
        ("debut", "Début de la convention"),
        ("fin", "Fin de la convention"),
        ("montant", "Montant conventionné (€)"),
    ):
        if key not in partners.letters:
            continue
        for _, p in _rows(partners, signed & frame[key].isna()).iterrows():
            add(
                "VAL-OBLIGATOIRE",
                partners.name,
                partners.cell(key, p[ROW]),
                colonne=label,
                aide="Obligatoire quand la convention est signée.",
            )
    for _, p in _rows(partners, frame["fin"] < frame["debut"]).iterrows():
        add(
            "PAR-DATES",
            partners.name,
            partners.cell("fin", p[ROW]),
            p["fin"].date(),
            debut=p["debut"].strftime("%d/%m/%Y"),
        )
    for _, p in _rows(partners, frame["autre_financement"] == True).iterrows():  # noqa: E712
        add(
            "PAR-AUTRE-FINANCEMENT",
            partners.name,
            partners.cell("autre_financement", p[ROW]),
            "Oui",
            ident=p["code"],
        )


def run_checks(classeur: Classeur, rules: Rules) -> Classeur:
    if not classeur.lisible:
        return classeur
    check_etablissement(classeur, rules)
    check_mentors(classeur, rules)
    check_partenaires(classeur)
    return classeur
