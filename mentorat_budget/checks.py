"""The checks of SPEC §5.3 across rows and sheets, on a whole lot of workbooks at once.

Each check selects the offending rows of all workbooks with one vectorised expression,
then adds an anomaly to each offending row's own workbook; none changes the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import payees
from . import rules as rules_mod
from .academies import ACADEMIE_PAR_PREFIXE
from .lot import Lot
from .schema import BY_KEY, TABLES, Kind
from .validate import ROW
from .values import euros

ACTIVE = ("En cours", "Terminé")  # statuses that count as mentored


def mentored_mask(lot: Lot) -> pd.Series:
    """Students with a known mentor (one of their workbook's Mentors sheet) and status
    En cours or Terminé (SPEC §6)."""
    eleves = lot.tables["eleves"]
    known = lot.key("eleves", "mentor").isin(lot.key("mentors", "code").dropna())
    return (known.fillna(False) & eleves["statut"].isin(ACTIVE).fillna(False)).astype(bool)


# ----------------------------------------------------------- generic: codes and refs


def check_unique(lot: Lot) -> None:
    """Each code (N° de pièce, Code élève…) once per workbook; later ones are reported."""
    for sheet in TABLES:
        column = sheet.code_column
        frame = lot.tables[sheet.key]
        if column is None or frame.empty:
            continue
        key = lot.key(sheet.key, column.key)
        repeated = key.duplicated(keep="first") & key.notna()
        if not repeated.any():
            continue
        first = frame.loc[~repeated].assign(_k=key[~repeated]).set_index("_k")[ROW]
        for row, k in zip(frame.loc[repeated].itertuples(), key[repeated], strict=True):
            lot.add(
                row.id,
                "VAL-DOUBLON",
                sheet.key,
                column.key,
                getattr(row, ROW),
                getattr(row, column.key),
                colonne=column.header,
                premiere=first[k],
            )


def check_references(lot: Lot) -> None:
    """Codes that point to another sheet of the same workbook must exist there."""
    for sheet in TABLES:
        frame = lot.tables[sheet.key]
        for column in sheet.columns:
            if not column.ref or frame.empty:
                continue
            target = BY_KEY[column.ref]
            known = lot.key(column.ref, target.code_column.key).dropna()
            if column.kind is Kind.CODES:
                refs = lot.codes_in(sheet.key, column.key).rename(columns={"code": column.key})
                keys = lot.key_of(refs["id"], refs[column.key])
            else:
                refs = frame.dropna(subset=[column.key])
                keys = lot.key(sheet.key, column.key, refs)
            bad = refs.loc[~keys.isin(known).fillna(False).to_numpy(dtype=bool)]
            for row in bad.itertuples():
                i = row.id
                if not lot.has(column.ref, i) or column.key not in lot.table(sheet.key, i).letters:
                    continue  # the target sheet is missing: already reported
                lot.add(
                    i,
                    "VAL-REFERENCE",
                    sheet.key,
                    column.key,
                    getattr(row, ROW),
                    getattr(row, column.key),
                    gravite=column.ref_gravite,
                    colonne=column.header,
                    cible=lot.table(column.ref, i).name,
                )


# ------------------------------------------------------------------ establishment


def check_etablissement(lot: Lot, mentored: pd.Series) -> None:
    etab, rules = lot.etab, lot.rules
    expected = etab["uai"].str.slice(0, 3).map(ACADEMIE_PAR_PREFIXE)
    counts = {
        "ETA-DOTATION-PREVUS": etab["eleves_prevus"],
        # 0 for a workbook whose Élèves sheet is empty (skipped below if there is none).
        "ETA-DOTATION-MENTORES": mentored.groupby(lot.tables["eleves"]["id"])
        .sum()
        .reindex(etab.index, fill_value=0),
    }
    for i, row in zip(etab.index, etab.itertuples(index=False), strict=True):
        parsed = lot.parsed[i]
        if not parsed.lisible:
            continue
        sheet, cells, add = (
            parsed.etablissement_sheet,
            parsed.etablissement_cells,
            parsed.anomalies.add,
        )
        academie = expected[i]
        if pd.notna(academie):
            if pd.notna(row.academie) and row.academie != academie:
                add(
                    "ETA-ACADEMIE",
                    sheet,
                    cells.get("academie", ""),
                    row.academie,
                    attendue=academie,
                )
            # The UAI decides: the bilan files the establishment under its académie.
            parsed.etablissement["academie"] = academie
            etab.at[i, "academie"] = academie
        if pd.notna(row.campagne) and row.campagne != rules.campagne:
            add(
                "ETA-CAMPAGNE",
                sheet,
                cells.get("campagne", ""),
                row.campagne,
                attendue=rules.campagne,
            )
        if pd.isna(row.dotation):
            continue
        for code, series in counts.items():
            count = series[i]
            if pd.isna(count) or (code == "ETA-DOTATION-MENTORES" and not lot.has("eleves", i)):
                continue
            plafond = rules.forfait_cents * int(count)
            if row.dotation > plafond:
                add(
                    code,
                    sheet,
                    cells.get("dotation", ""),
                    euros(row.dotation),
                    forfait=euros(rules.forfait_cents),
                    eleves=int(count),
                    plafond=euros(plafond),
                )


def _period(rules) -> str:
    return f"du {rules.debut:%d/%m/%Y} au {rules.fin:%d/%m/%Y}"


def check_campagne_dates(lot: Lot) -> None:
    """A workbook whose dated expenses mostly fall outside its campaign's period but inside
    another known campaign's is of the wrong campaign (SPEC §5.3): one blocking anomaly on
    its Campagne cell, instead of one period warning per line (lot.wrong_campaign).

    Only for workbooks that declare the campaign processed (the others already have
    ETA-CAMPAGNE), so that `verifier` and `bilan` say the same thing."""
    rules, depenses = lot.rules, lot.tables["depenses"]
    dated = depenses.loc[depenses["date"].notna()]
    if dated.empty:
        return
    dates = dated["date"].to_numpy(dtype="datetime64[s]")
    ids = dated["id"].to_numpy()

    def inside(r) -> np.ndarray:
        return (dates >= np.datetime64(r.debut, "s")) & (dates <= np.datetime64(r.fin, "s"))

    outside = ~inside(rules)
    counts = np.bincount(ids, minlength=len(lot))
    others = [rules_mod.for_campagne(c) for c in rules_mod.campagnes_connues()]
    elsewhere = {
        r.campagne: np.bincount(ids, weights=outside & inside(r), minlength=len(lot))
        for r in others
        if r.campagne != rules.campagne
    }
    for i in np.flatnonzero(counts):
        parsed = lot.parsed[i]
        if parsed.etablissement.get("campagne") != rules.campagne or not elsewhere:
            continue
        autre = max(elsewhere, key=lambda c: (elsewhere[c][i], -abs(c - rules.campagne)))
        hors = int(elsewhere[autre][i])
        if hors * 2 <= counts[i]:
            continue
        lot.wrong_campaign.add(int(i))
        parsed.anomalies.add(
            "ETA-CAMPAGNE-DATES",
            parsed.etablissement_sheet,
            parsed.etablissement_cells.get("campagne", ""),
            rules.campagne,
            hors=hors,
            datees=int(counts[i]),
            periode=_period(rules),
            autre=autre,
        )


# ------------------------------------------------------------------------ mentors


def check_mentors(lot: Lot) -> None:
    mentors = lot.tables["mentors"]
    if mentors.empty:
        return
    for m in lot.rows("mentors", mentors["statut"] == "Étudiant").itertuples():
        lot.add(m.id, "MEN-ETUDIANT", "mentors", "statut", m.ligne, m.statut, ident=m.code)
    for m in lot.rows("mentors", mentors["honorabilite"] == False).itertuples():  # noqa: E712
        lot.add(m.id, "MEN-HONORABILITE", "mentors", "honorabilite", m.ligne, "Non", ident=m.code)
    verified = mentors["honorabilite"].fillna(False).astype(bool)
    no_partner = mentors["partenaire"].isna()
    by_dsden = (mentors["verifie_par"] == "DSDEN").fillna(False)
    for m in lot.rows("mentors", verified & no_partner & ~by_dsden).itertuples():
        lot.add(
            m.id,
            "MEN-DSDEN",
            "mentors",
            "verifie_par",
            m.ligne,
            m.verifie_par if pd.notna(m.verifie_par) else "",
            ident=m.code,
        )
    missing_by = verified & ~no_partner & mentors["verifie_par"].isna()
    for m in lot.rows("mentors", missing_by).itertuples():
        lot.add(
            m.id,
            "VAL-OBLIGATOIRE",
            "mentors",
            "verifie_par",
            m.ligne,
            colonne="Vérifiée par",
            aide="Indiquez qui a vérifié l'honorabilité (Partenaire ou DSDEN).",
        )
    for m in lot.rows("mentors", mentors["formation"] == False).itertuples():  # noqa: E712
        lot.add(m.id, "MEN-FORMATION", "mentors", "formation", m.ligne, "Non", ident=m.code)
    _check_mentees(lot)


def _check_mentees(lot: Lot) -> None:
    """Too many active mentees (warning); no filière in common with them (information)."""
    mentors, eleves = lot.tables["mentors"], lot.tables["eleves"]
    if eleves.empty:
        return
    mentor_key = lot.key("mentors", "code")
    eleve_key = lot.key("eleves", "mentor")
    active = eleves["statut"].eq("En cours").fillna(False)
    counts = eleve_key[active].value_counts()
    n = mentor_key.map(counts).fillna(0).astype(int)
    threshold = lot.rules.mentores_par_mentor
    for m, count in zip(mentors.loc[n > threshold].itertuples(), n[n > threshold], strict=True):
        lot.add(
            m.id,
            "MEN-MENTORES",
            "mentors",
            "code",
            m.ligne,
            m.code,
            ident=m.code,
            nombre=int(count),
            seuil=threshold,
        )
    pairs = pd.DataFrame({"k": eleve_key, "filiere": eleves["filiere"]}).dropna()
    pairs = pairs.drop_duplicates()
    own = mentors["filiere"]
    has_mentees = mentor_key.isin(pairs["k"]).fillna(False)
    shared = pd.MultiIndex.from_arrays([pairs["k"], pairs["filiere"]])
    shares = pd.MultiIndex.from_arrays([mentor_key, own]).isin(shared)
    lonely = (own.notna() & has_mentees & ~shares).fillna(False).to_numpy(dtype=bool)
    theirs = pairs.loc[pairs["k"].isin(mentor_key[lonely])]
    theirs = theirs.groupby("k")["filiere"].agg(lambda s: ", ".join(sorted(s)))
    for m, k in zip(mentors.loc[lonely].itertuples(), mentor_key[lonely], strict=True):
        lot.add(
            m.id,
            "MEN-FILIERE",
            "mentors",
            "filiere",
            m.ligne,
            m.filiere,
            ident=m.code,
            filieres=theirs[k],
        )


# ----------------------------------------------------------------------- partners


def check_partenaires(lot: Lot) -> None:
    partners = lot.tables["partenaires"]
    if partners.empty:
        return
    signed = partners["convention"].fillna(False).astype(bool)
    for key, label in (
        ("debut", "Début de la convention"),
        ("fin", "Fin de la convention"),
        ("montant", "Montant conventionné (€)"),
    ):
        for p in lot.rows("partenaires", signed & partners[key].isna()).itertuples():
            if key in lot.table("partenaires", p.id).letters:
                lot.add(
                    p.id,
                    "VAL-OBLIGATOIRE",
                    "partenaires",
                    key,
                    p.ligne,
                    colonne=label,
                    aide="Obligatoire quand la convention est signée.",
                )
    for p in lot.rows("partenaires", partners["fin"] < partners["debut"]).itertuples():
        lot.add(
            p.id,
            "PAR-DATES",
            "partenaires",
            "fin",
            p.ligne,
            p.fin.date(),
            debut=p.debut.strftime("%d/%m/%Y"),
        )
    other = partners["autre_financement"] == True  # noqa: E712
    for p in lot.rows("partenaires", other).itertuples():
        lot.add(
            p.id,
            "PAR-AUTRE-FINANCEMENT",
            "partenaires",
            "autre_financement",
            p.ligne,
            "Oui",
            ident=p.code,
        )


def check_payees(lot: Lot) -> None:
    """« Payé à » shaped like a partner code that no partner has (payees.py): blocking,
    since the line cannot be told from a payment without convention."""
    for row in payees.undeclared(lot).itertuples():
        codes = lot.tables["partenaires"]
        declared = codes.loc[codes["id"] == row.id, "code"].dropna().head(3).tolist()
        lot.add(
            row.id,
            "DEP-PARTENAIRE-INCONNU",
            "depenses",
            "paye_a",
            getattr(row, ROW),
            row.paye_a,
            exemples="comme " + ", ".join(declared),
            cible=lot.table("partenaires", row.id).name,
        )


def run_checks(lot: Lot) -> Lot:
    check_unique(lot)
    check_references(lot)
    check_payees(lot)
    check_etablissement(lot, mentored_mask(lot))
    check_campagne_dates(lot)
    check_mentors(lot)
    check_partenaires(lot)
    return lot
