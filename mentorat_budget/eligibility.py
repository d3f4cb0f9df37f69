"""Expenses -> eligible and ineligible parts, each ineligible cent with its reason (SPEC §5.2).

Lines are taken in (date, N° de pièce) order. Rules 1 to 5 reject a whole line with
the first reason that applies; rule 6 caps a personal-car claim at the mileage
allowance (bands per mentor per calendar year); rule 7 caps the cumulative eligible
payments to a partner at its convention amount. Everything is integer cents, computed
on whole columns (numpy) for a whole lot of workbooks at once, with one groupby-cumsum
per cumulative rule, keyed by workbook (`id`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .lot import Lot
from .payees import partner_rows
from .rules import Rules
from .validate import ROW, Table
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
    """Per workbook, (date, N° de pièce) order; lines without a date last, in sheet order."""
    ordered = depenses.assign(_piece=depenses["piece"].fillna(""))
    ordered = ordered.sort_values(["id", "date", "_piece", ROW], na_position="last", kind="stable")
    return ordered.drop(columns="_piece").reset_index(drop=True)


def _partner_fields(lot: Lot, lines: pd.DataFrame) -> pd.DataFrame:
    """The partner each line pays (« Payé à » holds its code, raison sociale or SIRET, in
    any case and spacing: payees.py), with its convention."""
    conventions = lot.tables["partenaires"][["code", "convention", "debut", "fin", "montant"]]
    conventions = conventions.reset_index(drop=True)  # -1: no partner, a row of NA
    joined = conventions.reindex(partner_rows(lot, lines)).set_axis(lines.index)
    return pd.DataFrame(
        {
            "partenaire": joined["code"].astype("string"),
            "conv_signee": joined["convention"].fillna(False).astype(bool),
            "conv_debut": joined["debut"].astype("datetime64[s]"),
            "conv_fin": joined["fin"].astype("datetime64[s]"),
            "conv_montant": joined["montant"].astype("Int64"),
        }
    )


def _last_days(lot: Lot, ids: np.ndarray) -> np.ndarray:
    """Each line's last eligible day: the end of the period, or its workbook's arrêté."""
    end = np.datetime64(lot.rules.fin, "s")
    arrete = lot.etab["date_arrete"].to_numpy(dtype="datetime64[s]")
    per_workbook = np.where(np.isnat(arrete) | (arrete > end), end, arrete)
    return per_workbook[ids] if len(ids) else np.array([], dtype="datetime64[s]")


def compute(lot: Lot) -> Eligibilite:
    """Apply SPEC §5.2 to the expenses of every workbook of the lot."""
    rules = lot.rules
    lines = _order(lot.tables["depenses"])
    lines = pd.concat([lines, _partner_fields(lot, lines)], axis=1)
    n = len(lines)
    ids = lines["id"].to_numpy()
    typed = _ints(lines["montant"])
    # A nil or negative amount is refused (VAL-POSITIF) and counts for nothing: the line is
    # listed as rejected at 0 €, so that no negative euro lowers the ineligible total.
    amount = np.maximum(typed, 0)
    date = _dates(lines["date"])
    has_date = ~np.isnat(date)
    category_ok = lines["categorie"].map({c.code: c.eligible for c in rules.categories})
    category_ok = category_ok.fillna(False).to_numpy(dtype=bool)
    in_period = (
        has_date & (date >= np.datetime64(rules.debut, "s")) & (date <= _last_days(lot, ids))
    )
    partner = lines["partenaire"].notna().to_numpy()
    conv_start, conv_end = _dates(lines["conv_debut"]), _dates(lines["conv_fin"])
    in_convention = (
        has_date
        & ~np.isnat(conv_start)
        & ~np.isnat(conv_end)
        & (date >= conv_start)
        & (date <= conv_end)
    )
    # The duplicate is the later one in the sheet, the line the verifier points at.
    in_sheet = lines.sort_values(["id", ROW])
    piece = lot.key("depenses", "piece", in_sheet)
    repeated = in_sheet.index[(piece.duplicated(keep="first") & piece.notna()).to_numpy()]
    duplicate = lines.index.isin(repeated)
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
        km_before = pd.Series(km).groupby([lines["id"], mentor, year]).cumsum().to_numpy() - km
        allowance = ik_allowance(km_before, km, _ints(lines["cv"], 1), rules)
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
        by = [lines["id"], lines["partenaire"].fillna("")]
        cumulative = pd.Series(to_partner).groupby(by).cumsum().to_numpy()
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


def _period_text(lot: Lot, i: int) -> str:
    rules = lot.rules
    arrete = lot.parsed[i].etablissement.get("date_arrete")
    if arrete and arrete < rules.fin:
        return (
            f"la période d'éligibilité, du {_date(rules.debut)} à l'arrêté des comptes "
            f"du {_date(arrete)}"
        )
    return f"la période d'éligibilité, du {_date(rules.debut)} au {_date(rules.fin)}"


def rejection_anomalies(result: Eligibilite, lot: Lot) -> None:
    """Tell the gestionnaire, on the cell that decides it, why each euro is ineligible.

    Lines whose amount, date, category or N° de pièce could not be read already carry a
    blocking anomaly on that cell: they get no second message.
    """
    labels = {c.code: c for c in lot.rules.categories}
    rejets = result.rejets
    told = ~rejets["code"].isin(_ALREADY_REPORTED) & ~(
        (rejets["code"] == "DEP-CATEGORIE") & rejets["categorie"].isna()
    )
    # A workbook of the wrong campaign is told so once, on its Campagne cell (checks.py).
    told &= ~((rejets["code"] == "DEP-PERIODE") & rejets["id"].isin(lot.wrong_campaign))
    for row in rejets.loc[told].itertuples(index=False):
        table = lot.table("depenses", row.id)
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
            value, fields["periode"] = _date(row.date), _period_text(lot, row.id)
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
        lot.add(row.id, row.code, "depenses", key, getattr(row, ROW), value, **fields)


def warnings(result: Eligibilite, lot: Lot) -> None:
    """Warnings that do not change the money: DEP-BUDGET, DEP-PETIT-MATERIEL, BUD-ECART."""
    rules, lines, budget = lot.rules, result.lines, lot.tables["budget"]
    labels = {c.code: c for c in rules.categories}
    planned = budget.groupby(["id", "categorie"])["montant"].sum()
    firsts = lines.dropna(subset=["categorie"]).sort_values(["id", ROW])
    firsts = firsts.groupby(["id", "categorie"])[ROW].first()
    for (i, code), ligne in firsts.items():
        if (i, code) not in planned.index and labels[code].eligible:
            lot.add(i, "DEP-BUDGET", "depenses", "categorie", ligne, labels[code].libelle)
    big = lines.loc[
        (lines["categorie"] == "PETIT_MATERIEL").fillna(False)
        & (lines["montant"].fillna(0) > rules.petit_materiel_cents)
    ]
    for row in big.itertuples(index=False):
        lot.add(
            row.id,
            "DEP-PETIT-MATERIEL",
            "depenses",
            "montant",
            getattr(row, ROW),
            euros(row.montant),
            seuil=euros(rules.petit_materiel_cents),
        )
    spent = lines.groupby(["id", "categorie"])["montant"].sum()
    first_rows = budget.groupby(["id", "categorie"])[ROW].first()
    limit = 100 + rules.ecart_budget_pourcent
    for (i, code), prevu in planned.items():
        realised = int(spent.get((i, code), 0))
        if prevu > 0 and realised * 100 > prevu * limit:
            lot.add(
                i,
                "BUD-ECART",
                "budget",
                "montant",
                first_rows[(i, code)],
                euros(prevu),
                realise=euros(realised),
                ecart=round(realised * 100 / prevu - 100),
                seuil=rules.ecart_budget_pourcent,
                categorie=labels[code].libelle,
            )
