"""Expenses -> eligible and ineligible parts, each ineligible cent with its reason (SPEC §5.2).

Lines are taken in (date, N° de pièce) order. Rules 1 to 5 reject a whole line with
the first reason that applies; rule 6 caps a personal-car claim at the mileage
allowance (bands per mentor per calendar year); rule 7 caps the cumulative eligible
payments to a partner at its convention amount. Everything is integer cents, computed
on whole columns (numpy), with one groupby-cumsum per cumulative rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .anomalies import Anomalies
from .rules import Rules
from .validate import ROW, Classeur, Table
from .values import euros

VEHICULE = "Véhicule personnel"

# Reason code -> French label, in the order the rules apply.
MOTIFS: dict[str, str] = {
    "DEP-MONTANT": "Montant illisible, nul ou négatif",
    "DEP-DATE": "Date manquante ou illisible",
    "DEP-DOUBLON": "N° de pièce en double",
    "DEP-CATEGORIE": "Catégorie non éligible",
    "DEP-JUSTIFICATIF": "Sans justificatif",
    "DEP-PERIODE": "Hors période d'éligibilité ou après l'arrêté des comptes",
    "DEP-CUMUL": "Déjà financé par un autre programme de l'État",
    "DEP-CONVENTION": "Partenaire sans convention signée",
    "DEP-SERVICE-FAIT": "Service fait non vérifié",
    "DEP-CONVENTION-PERIODE": "Hors des dates de la convention",
    "DEP-IK-DONNEES": "Kilomètres ou puissance fiscale manquants",
    "DEP-IK": "Au-delà du barème des indemnités kilométriques",
    "DEP-PLAFOND-CONVENTION": "Au-delà du montant conventionné",
}

# Where a rejected line is pointed at, and what the gestionnaire is told.
_CELL_OF_MOTIF = {
    "DEP-CATEGORIE": "categorie",
    "DEP-JUSTIFICATIF": "justificatif",
    "DEP-PERIODE": "date",
    "DEP-CUMUL": "autre_financement",
    "DEP-CONVENTION": "paye_a",
    "DEP-SERVICE-FAIT": "service_fait",
    "DEP-CONVENTION-PERIODE": "date",
    "DEP-IK-DONNEES": "km",
    "DEP-IK": "montant",
    "DEP-PLAFOND-CONVENTION": "montant",
}
# These lines already carry a blocking anomaly on the same cell: no second message.
_ALREADY_REPORTED = ("DEP-MONTANT", "DEP-DATE", "DEP-DOUBLON")


@dataclass
class Eligibilite:
    """Per expense line (in processing order): the amount, its two parts and reasons."""

    lines: pd.DataFrame  # the typed Dépenses columns + partner, eligible, ineligible, motifs

    @property
    def rejets(self) -> pd.DataFrame:
        """One row per (line, reason) with the ineligible cents for that reason."""
        parts = []
        for code_col, cents_col in (("motif", "motif_cents"), ("motif2", "motif2_cents")):
            # A rejected line appears even at 0 € (an unreadable amount): every line read
            # is either counted eligible or listed here.
            part = self.lines.loc[self.lines[code_col] != ""].copy()
            part["code"], part["cents"] = part[code_col], part[cents_col]
            parts.append(part)
        rejets = pd.concat(parts).sort_values(["ordre", "cents"], kind="stable")
        return rejets.drop(columns=["motif", "motif_cents", "motif2", "motif2_cents"])


# --------------------------------------------------------------------- helpers


def _bool(frame: pd.DataFrame, key: str) -> np.ndarray:
    """True where the Oui/Non column says Oui (missing counts as Non)."""
    return frame[key].fillna(False).to_numpy(dtype=bool)


def _ints(series: pd.Series, fill: int = 0) -> np.ndarray:
    return series.fillna(fill).to_numpy(dtype="int64")


def _dates(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="datetime64[s]")


def _round_half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Integer division rounded half up, for non-negative numerators."""
    return (numerator + denominator // 2) // denominator


def ik_allowance(km_before: np.ndarray, km: np.ndarray, cv: np.ndarray, rules: Rules) -> np.ndarray:
    """Mileage allowance in cents of each trip, given the kilometres already driven that
    year by the same mentor: each kilometre is paid at the rate of its band.

    Distances are in hundredths of a kilometre and rates in cents per kilometre, so the
    products are exact; each trip's allowance is rounded half up to the cent once.
    """
    edges = np.array([0, *rules.tranches_km, np.iinfo(np.int64).max // 10**6], dtype="int64")
    edges[:-1] *= 100  # km -> hundredths of km
    cv_max = np.array([b.cv_max for b in rules.bareme_ik])
    rates = np.array([b.taux_cents for b in rules.bareme_ik], dtype="int64")
    row = np.minimum(np.searchsorted(cv_max, cv, side="left"), len(cv_max) - 1)
    start, end = km_before, km_before + km
    total = np.zeros(len(km), dtype="int64")
    for band in range(len(edges) - 1):
        overlap = np.clip(
            np.minimum(end, edges[band + 1]) - np.maximum(start, edges[band]), 0, None
        )
        total += overlap * rates[row, band]
    return _round_half_up(total, 100)


# ----------------------------------------------------------------------- rules


def _order(depenses: pd.DataFrame) -> pd.DataFrame:
    """(date, N° de pièce) order; lines without a date come last, in sheet order."""
    ordered = depenses.assign(_piece=depenses["piece"].fillna(""))
    ordered = ordered.sort_values(["date", "_piece", ROW], na_position="last", kind="stable")
    return ordered.drop(columns="_piece").reset_index(drop=True)


def _partner_fields(lines: pd.DataFrame, partenaires: pd.DataFrame) -> pd.DataFrame:
    """The partner each line pays (its code typed in « Payé à », loosely), with its convention."""
    keyed = partenaires.dropna(subset=["code"])
    keyed = keyed.assign(_key=keyed["code"].str.upper()).drop_duplicates("_key")
    conventions = keyed.set_index("_key")[["code", "convention", "debut", "fin", "montant"]]
    joined = conventions.reindex(lines["paye_a"].str.strip().str.upper().fillna(""))
    joined = joined.set_axis(lines.index)
    return pd.DataFrame(
        {
            "partenaire": joined["code"].astype("string"),
            "conv_signee": joined["convention"].fillna(False).astype(bool),
            "conv_debut": joined["debut"].astype("datetime64[s]"),
            "conv_fin": joined["fin"].astype("datetime64[s]"),
            "conv_montant": joined["montant"].astype("Int64"),
        }
    )


def compute(classeur: Classeur, rules: Rules) -> Eligibilite:
    """Apply SPEC §5.2 to the workbook's expenses."""
    lines = _order(classeur.table("depenses").frame)
    lines = pd.concat([lines, _partner_fields(lines, classeur.table("partenaires").frame)], axis=1)
    n = len(lines)
    typed = _ints(lines["montant"])
    # A nil or negative amount is refused (VAL-POSITIF) and counts for nothing: the line is
    # listed as rejected at 0 €, so that no negative euro lowers the ineligible total.
    amount = np.maximum(typed, 0)
    date = _dates(lines["date"])
    has_date = ~np.isnat(date)
    category_ok = (
        lines["categorie"]
        .map({c.code: c.eligible for c in rules.categories})
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    arrete = classeur.etablissement.get("date_arrete") or rules.fin
    last_day = np.datetime64(min(rules.fin, arrete), "s")
    in_period = has_date & (date >= np.datetime64(rules.debut, "s")) & (date <= last_day)
    partner = lines["partenaire"].notna().to_numpy()
    conv_start = _dates(lines["conv_debut"])
    conv_end = _dates(lines["conv_fin"])
    in_convention = (
        has_date
        & ~np.isnat(conv_start)
        & ~np.isnat(conv_end)
        & (date >= conv_start)
        & (date <= conv_end)
    )
    # The duplicate is the later one in the sheet, the line the verifier points at.
    in_sheet = lines.sort_values(ROW)
    piece = in_sheet["piece"].str.upper()
    repeated = in_sheet.loc[(piece.duplicated(keep="first") & piece.notna()).to_numpy(), ROW]
    duplicate = lines[ROW].isin(repeated).to_numpy()
    car = lines["transport"].eq(VEHICULE).fillna(False).to_numpy(dtype=bool)
    km_ok = lines["km"].notna().to_numpy() & lines["cv"].notna().to_numpy()

    whole = [  # (reason, the whole line is rejected where...) in SPEC order
        ("DEP-MONTANT", lines["montant"].isna().to_numpy() | (typed <= 0)),
        ("DEP-DATE", ~has_date),
        ("DEP-DOUBLON", duplicate),
        ("DEP-CATEGORIE", ~category_ok),
        ("DEP-JUSTIFICATIF", ~_bool(lines, "justificatif")),
        ("DEP-PERIODE", ~in_period),
        ("DEP-CUMUL", _bool(lines, "autre_financement")),
        ("DEP-CONVENTION", partner & ~lines["conv_signee"].to_numpy(dtype=bool)),
        ("DEP-SERVICE-FAIT", partner & ~_bool(lines, "service_fait")),
        ("DEP-CONVENTION-PERIODE", partner & ~in_convention),
        ("DEP-IK-DONNEES", car & ~km_ok),
    ]
    motif = np.full(n, "", dtype=object)
    for code, rejected in whole:
        motif[(motif == "") & rejected] = code
    eligible = np.where(motif == "", amount, 0)
    motif_cents = np.where(motif != "", amount, 0)

    # Rule 6: personal car, capped at the allowance, bands per mentor per calendar year.
    claims = car & (motif == "")
    if claims.any():
        km = np.round(lines["km"].fillna(0).to_numpy(dtype=float) * 100).astype("int64")
        km = np.where(claims, km, 0)
        year = lines["date"].dt.year.fillna(0).astype("int64")
        mentor = lines["mentor"].str.upper().fillna("")
        km_before = pd.Series(km).groupby([mentor, year]).cumsum().to_numpy() - km
        cv = _ints(lines["cv"], 1)
        allowance = ik_allowance(km_before, km, cv, rules)
        capped = claims & (amount > allowance)
        motif[capped] = "DEP-IK"
        motif_cents = np.where(capped, amount - allowance, motif_cents)
        eligible = np.where(capped, allowance, eligible)

    # Rule 7: cumulative eligible payments to each partner, up to its convention amount.
    motif2_cents = np.zeros(n, dtype="int64")
    paid = partner & (eligible > 0)
    if paid.any():
        cap = _ints(lines["conv_montant"])
        to_partner = np.where(paid, eligible, 0)
        cumulative = pd.Series(to_partner).groupby(lines["partenaire"].fillna("")).cumsum()
        cumulative = cumulative.to_numpy()
        over = np.minimum(to_partner, np.maximum(cumulative - cap, 0))
        motif2_cents = np.where(paid, over, 0)
        eligible = eligible - motif2_cents

    lines["ordre"] = np.arange(n)
    lines["eligible"] = eligible
    lines["compte"] = amount  # the amount counted: read, positive
    lines["ineligible"] = amount - eligible
    lines["motif"] = motif
    lines["motif_cents"] = motif_cents
    lines["motif2"] = np.where(motif2_cents > 0, "DEP-PLAFOND-CONVENTION", "")
    lines["motif2_cents"] = motif2_cents
    return Eligibilite(lines)


# ------------------------------------------------------------------- messages


def _date(value) -> str:
    return pd.Timestamp(value).strftime("%d/%m/%Y") if pd.notna(value) else "?"


def _shown(value: object) -> object:
    """The content of a cell as the gestionnaire typed it: Oui/Non, or nothing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "Oui" if value else "Non"
    return value


def _cell_key(row, table: Table) -> str:
    key = _CELL_OF_MOTIF[row.code]
    if row.code == "DEP-IK-DONNEES" and pd.notna(row.km):
        key = "cv"  # the kilometres are there: the horsepower is what is missing
    return key if key in table.letters else "montant"


def rejection_anomalies(
    result: Eligibilite, classeur: Classeur, rules: Rules, anomalies: Anomalies
) -> None:
    """Tell the gestionnaire, on the cell that decides it, why each euro is ineligible.

    Lines whose amount, date, category or N° de pièce could not be read already carry a
    blocking anomaly on that cell: they get no second message.
    """
    if "depenses" not in classeur.tables:
        return
    table: Table = classeur.tables["depenses"]
    labels = {c.code: c for c in rules.categories}
    arrete = classeur.etablissement.get("date_arrete")
    fin = min(rules.fin, arrete) if arrete else rules.fin
    rejets = result.rejets
    told = ~rejets["code"].isin(_ALREADY_REPORTED) & ~(
        (rejets["code"] == "DEP-CATEGORIE") & rejets["categorie"].isna()
    )
    for row in rejets.loc[told].itertuples(index=False):
        key = _cell_key(row, table)
        cents, amount = int(row.cents), int(row.compte)
        fields = {
            "partie": "en totalité" if cents == amount else f"pour {euros(cents)}",
            "montant": euros(amount),
            "ineligible": euros(cents),
            "eligible": euros(amount - int(row.ineligible)),
        }
        value = _shown(getattr(row, key))
        if row.code == "DEP-CATEGORIE":
            value, fields["aide"] = labels[row.categorie].libelle, labels[row.categorie].aide
        elif row.code == "DEP-PERIODE":
            value = _date(row.date)
            limit = (
                f"à l'arrêté des comptes du {_date(fin)}"
                if arrete and arrete < rules.fin
                else f"au {_date(fin)}"
            )
            fields["periode"] = f"la période d'éligibilité, du {_date(rules.debut)} {limit}"
        elif row.code == "DEP-CONVENTION-PERIODE":
            value = _date(row.date)
            fields["dates"] = (
                f"hors des dates de la convention ({_date(row.conv_debut)} – {_date(row.conv_fin)})"
                if pd.notna(row.conv_debut) and pd.notna(row.conv_fin)
                else "et la convention n'a pas de dates de début et de fin dans Partenaires"
            )
        elif row.code == "DEP-PLAFOND-CONVENTION":
            fields["plafond"] = (
                euros(int(row.conv_montant))
                if pd.notna(row.conv_montant)
                else "non renseigné dans Partenaires"
            )
            value = row.partenaire
        elif key == "montant":
            value = euros(amount)
        anomalies.add(row.code, table.name, table.cell(key, getattr(row, ROW)), value, **fields)


def warnings(result: Eligibilite, classeur: Classeur, rules: Rules, anomalies: Anomalies) -> None:
    """Warnings that do not change the money: DEP-BUDGET, DEP-PETIT-MATERIEL, BUD-ECART."""
    if "depenses" not in classeur.tables:
        return
    depenses = classeur.tables["depenses"]
    lines = result.lines
    budget = classeur.table("budget")
    planned = budget.frame.groupby("categorie")["montant"].sum()
    labels = {c.code: c for c in rules.categories}
    firsts = lines.dropna(subset=["categorie"]).sort_values(ROW).groupby("categorie")[ROW].first()
    for code, ligne in firsts.items():
        if code not in planned.index and labels[code].eligible:
            anomalies.add(
                "DEP-BUDGET", depenses.name, depenses.cell("categorie", ligne), labels[code].libelle
            )
    big = lines.loc[
        (lines["categorie"] == "PETIT_MATERIEL").fillna(False)
        & (lines["montant"].fillna(0) > rules.petit_materiel_cents)
    ]
    for row in big.itertuples(index=False):
        anomalies.add(
            "DEP-PETIT-MATERIEL",
            depenses.name,
            depenses.cell("montant", getattr(row, ROW)),
            euros(row.montant),
            seuil=euros(rules.petit_materiel_cents),
        )
    spent = lines.groupby("categorie")["montant"].sum()
    limit = 100 + rules.ecart_budget_pourcent
    for code, prevu in planned.items():
        realised = int(spent.get(code, 0))
        if prevu > 0 and realised * 100 > prevu * limit:
            first = budget.frame.loc[budget.frame["categorie"] == code, ROW].iloc[0]
            anomalies.add(
                "BUD-ECART",
                budget.name,
                budget.cell("montant", first),
                euros(prevu),
                realise=euros(realised),
                ecart=round(realised * 100 / prevu - 100),
                seuil=rules.ecart_budget_pourcent,
                categorie=labels[code].libelle,
            )
