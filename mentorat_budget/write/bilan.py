"""The annual bilan for the DJEPVA (SPEC §7.1): nine sheets, totals as formulas with
their cached values, charts, the conservation checks and the rules applied.

The bilan holds no student or mentor code: free text that contains one is masked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xlsxwriter.workbook import Workbook

from .. import __version__
from .. import anomalies as catalogue
from ..anomalies import Anomaly, Gravite
from ..batch import Resultat
from ..eligibility import MOTIFS
from ..figures import FILIERES, Figures, total
from ..report import cell_key, sorted_anomalies
from ..rules import Rules
from ..verify import A_CORRIGER, DOUBLON, ILLISIBLE, VALIDE
from . import paper
from .notice import ik_text
from .tables import (
    DATE,
    INT,
    MONEY,
    NUMBER,
    PCT,
    TEXT,
    Col,
    Placed,
    as_date,
    quote,
    write_note,
    write_table,
)
from .xlsx import Formats, output_workbook

SHEETS = (
    "Synthèse",
    "Établissements",
    "Académies",
    "Filières",
    "Partenaires",
    "Dépenses inéligibles",
    "Anomalies",
    "Contrôles",
    "Paramètres",
)
MASK = "[code masqué]"
NON_DETERMINEE = "Non déterminée"


@dataclass
class Run:
    """What the bilan says about how it was produced (no time, no absolute path)."""

    dossiers: list[str]
    ignores: list[str] = field(default_factory=list)  # our own outputs found in the folders
    strict: bool = False
    precedent: str = ""  # last year's bilan (bilan --precedent), as given


_TOKEN = re.compile(r"[A-Za-z0-9]+")
_QUOTED = re.compile(r"«([^«»]*)»")  # linear: `«\s*(…+?)\s*»` took minutes on « + spaces
_JOINERS = " .-_/"  # E 001, M.02, E-001: a code typed in two pieces


_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def _alnum(code: str) -> str:
    code = code.upper()
    return code if code.isascii() and code.isalnum() else _NOT_ALNUM.sub("", code)


class Masker:
    """Hides student and mentor codes in free text.

    Codes with a letter (E001, M02) are hidden wherever they stand as a word, also glued
    to other words (« M01-E002 », « Flyers_E002 ») or typed in two pieces (« E 001 »,
    « M.02 »); codes made of digits only (12) are hidden where they are quoted (« 12 »)
    or are the whole value, so that amounts and dates keep their digits. One set lookup
    per word: no pattern is compiled per workbook.
    """

    def __init__(self, codes: Iterable[str]):
        self.exact = {str(c).strip().upper() for c in codes if c is not None and str(c).strip()}
        self.exact |= {_alnum(c) for c in self.exact}
        self.words = {_alnum(c) for c in self.exact if any(ch.isalpha() for ch in c)}
        # the first piece of a code typed in two (« E » of « E 001 »)
        self.heads = {w[:k] for w in self.words for k in range(1, len(w))}

    def _spans(self, text: str) -> list[tuple[int, int]]:
        tokens = list(_TOKEN.finditer(text))
        upper = [t[0].upper() for t in tokens]
        if self.words.isdisjoint(upper) and self.heads.isdisjoint(upper):
            return []  # no word is a code or its first piece
        spans, i = [], 0
        while i < len(tokens):
            here = tokens[i]
            if upper[i] in self.words:
                spans.append(here.span())
            elif upper[i] in self.heads and i + 1 < len(tokens):  # a code in two pieces?
                after = tokens[i + 1]
                gap = text[here.end() : after.start()]
                if len(gap) == 1 and gap in _JOINERS and upper[i] + upper[i + 1] in self.words:
                    spans.append((here.start(), after.end()))
                    i += 1
            i += 1
        return spans

    def _quoted(self, match: re.Match) -> str:
        inner = match[1].strip().upper()
        return f"« {MASK} »" if inner in self.exact or _alnum(inner) in self.exact else match[0]

    def text(self, text):
        if not isinstance(text, str) or not self.exact:
            return text
        for start, end in reversed(self._spans(text) if self.words else []):
            text = text[:start] + MASK + text[end:]
        return _QUOTED.sub(self._quoted, text)

    def value(self, text):
        if isinstance(text, str) and (
            text.strip().upper() in self.exact or _alnum(text) in self.words
        ):
            return MASK
        return self.text(text)


def _eligible_categories(rules: Rules):
    return [c for c in rules.categories if c.eligible]


def _listed_rejections(r: Resultat) -> set[tuple[str, int, str]]:
    """(sheet, row, reason) of the workbook's lines listed in Dépenses inéligibles."""
    if not r.in_totals:
        return set()
    return {(x["cellule"].rpartition("!")[0], x["ligne"], x["code"]) for x in r.rejets}


def work_list(r: Resultat) -> list[Anomaly]:
    """What the bilan's Anomalies sheet lists of a workbook (SPEC §7.1): its Bloquant and
    Avertissement anomalies, but not the warnings that only restate a line already listed
    in Dépenses inéligibles (same line, same reason). The fiche and the annotated copy
    keep them all."""
    listed = _listed_rejections(r)
    return [
        a
        for a in r.anomalies
        if a.gravite is Gravite.BLOQUANT
        or (
            a.gravite is Gravite.AVERTISSEMENT
            and (a.feuille, cell_key(a.cellule)[0], a.code) not in listed
        )
    ]


def _fit_row(ws, row: int, *texts: tuple[object, float]) -> None:
    """A row as high as its tallest wrapped text (text, column width): neither Excel nor
    LibreOffice fits it when the file opens."""
    lines = max(paper.text_lines(text, width) for text, width in texts)
    if lines > 1:
        ws.set_row(row, paper.LINE * lines)


def _paper(ws, columns, campagne: int, header_row: int | None = 0, **how) -> paper.Plan:
    """Fit a table's sheet to the page (see paper.py); `how`: key, starts (headers of the
    groups that stay together), portrait."""
    headers = [c.header for c in columns]
    starts = [headers.index(h) for h in how.pop("starts", ()) if h in headers]
    layout = paper.plan([c.width for c in columns], starts=starts, **how)
    paper.apply(ws, layout, campagne, header_row)
    return layout


# ------------------------------------------------------------------ sheets


ETAB_COLUMNS = [
    Col("UAI", TEXT, 10),
    Col("Établissement", TEXT, 30, wrap=True),
    Col("Académie", TEXT, 16),
    Col("Fichier", TEXT, 30, wrap=True),
    Col("Statut du classeur", TEXT, 13),
    Col("Élèves prévus", INT, 10, "sum"),
    Col("Élèves mentorés", INT, 10, "sum"),
    Col("Mentors", INT, 9, "sum"),
    Col("Dotation notifiée (€)", MONEY, 14, "sum"),
    Col("Plafond (€)", MONEY, 14, "sum"),
    Col("Report N-1 (€)", MONEY, 13, "sum"),
    Col("Crédits disponibles (€)", MONEY, 14, "sum"),
    Col("Dépenses éligibles (€)", MONEY, 14, "sum"),
    Col("dont reversements aux partenaires (€)", MONEY, 17, "sum"),
    Col("Dépenses inéligibles (€)", MONEY, 14, "sum"),
    Col("Reliquat (€)", MONEY, 13, "sum"),
    Col("Dépassement (€)", MONEY, 14, "sum"),
    Col("Poursuite", TEXT, 10),
    Col("Reliquat reporté (€)", MONEY, 13, "sum"),
    Col("À reverser à la DJEPVA (€)", MONEY, 14, "sum"),
    Col("Taux de consommation", PCT, 15, "rate:Dépenses éligibles (€)/Crédits disponibles (€)"),
    Col("Anomalies bloquantes", INT, 11, "sum"),
]
# After the SPEC's headers: the other severities, so that each is counted.
SEVERITY_COLUMNS = [
    Col("Avertissements", INT, 15, "sum"),
    Col("Informations", INT, 13, "sum"),
]


PRECEDENT_COLUMNS = [
    Col("Report attendu, bilan N-1 (€)", MONEY, 14, "sum"),
    Col("Écart de report (€)", MONEY, 12, "sum"),
]


def _etab_columns(rules: Rules, precedent: bool) -> list[Col]:
    """The SPEC's headers, the expected report beside the declared one with --precedent,
    the count of each other severity, then one eligible amount per eligible category."""
    at = [c.header for c in ETAB_COLUMNS].index("Report N-1 (€)") + 1
    columns = ETAB_COLUMNS[:at] + (PRECEDENT_COLUMNS if precedent else []) + ETAB_COLUMNS[at:]
    return (
        columns
        + SEVERITY_COLUMNS
        + [Col(f"{c.libelle} (€)", MONEY, 15, "sum") for c in _eligible_categories(rules)]
    )


def _etab_values(r: Resultat, rules: Rules) -> dict[str, object]:
    e, f = r.etablissement, r.figures
    values: dict[str, object] = {
        "UAI": e.get("uai"),
        "Établissement": e.get("nom"),
        "Académie": e.get("academie"),
        "Fichier": r.fichier,
        "Statut du classeur": r.statut,
        "Anomalies bloquantes": r.bloquantes,
        "Avertissements": sum(a.gravite is Gravite.AVERTISSEMENT for a in r.anomalies),
        "Informations": sum(a.gravite is Gravite.INFORMATION for a in r.anomalies),
    }
    if f is None:
        return values
    values.update(
        {
            "Élèves prévus": f.eleves_prevus,
            "Élèves mentorés": f.eleves_mentores,
            "Mentors": f.mentors,
            "Dotation notifiée (€)": f.dotation,
            "Plafond (€)": f.plafond,
            "Report N-1 (€)": f.report,
            "Crédits disponibles (€)": f.disponibles,
            "Dépenses éligibles (€)": f.eligibles,
            "dont reversements aux partenaires (€)": f.reversements,
            "Dépenses inéligibles (€)": f.ineligibles,
            "Reliquat (€)": f.reliquat,
            "Dépassement (€)": f.depassement,
            "Poursuite": {True: "Oui", False: "Non"}.get(f.poursuite, "Non renseignée"),
            "Reliquat reporté (€)": f.reliquat_reporte,
            "À reverser à la DJEPVA (€)": f.a_reverser,
            "Taux de consommation": f.taux,
        }
    )
    if r.report_attendu is not None:
        values["Report attendu, bilan N-1 (€)"] = r.report_attendu
        values["Écart de report (€)"] = f.report - r.report_attendu
    for c in _eligible_categories(rules):
        values[f"{c.libelle} (€)"] = f.par_categorie.get(c.code, 0)
    return values


def _sheet_etablissements(wb, fmt, results, rules, run: Run) -> Placed:
    ws = wb.add_worksheet("Établissements")
    columns = _etab_columns(rules, bool(run.precedent))
    rows = [
        [values.get(c.header) for c in columns]
        for values in (_etab_values(r, rules) for r in results)
    ]
    placed = write_table(
        ws,
        fmt,
        columns,
        rows,
        filter_on=("Statut du classeur", DOUBLON),
        total_label="Total (hors doublons)",
    )
    categories = [f"{c.libelle} (€)" for c in _eligible_categories(rules)]
    _paper(
        ws,
        columns,
        rules.campagne,
        key=2,
        starts=("Dotation notifiée (€)", "Reliquat (€)", *categories[:1]),
    )
    return placed


ACAD_COLUMNS = [
    Col("Académie", TEXT, 20),
    Col("Classeurs", INT, 10, "sum"),
    Col("Classeurs valides", INT, 10, "sum"),
    Col("Classeurs à corriger", INT, 10, "sum"),
    Col("Classeurs illisibles ou en double", INT, 12, "sum"),
    Col("Élèves mentorés", INT, 10, "sum"),
    Col("Mentors", INT, 9, "sum"),
    Col("Dotations notifiées (€)", MONEY, 15, "sum"),
    Col("Reports N-1 (€)", MONEY, 13, "sum"),
    Col("Crédits disponibles (€)", MONEY, 15, "sum"),
    Col("Dépenses éligibles (€)", MONEY, 15, "sum"),
    Col("Reversements aux partenaires (€)", MONEY, 15, "sum"),
    Col("Dépenses inéligibles (€)", MONEY, 14, "sum"),
    Col("Reliquats reportés (€)", MONEY, 14, "sum"),
    Col("À reverser à la DJEPVA (€)", MONEY, 14, "sum"),
    Col("Taux de consommation", PCT, 15, "rate:Dépenses éligibles (€)/Crédits disponibles (€)"),
    Col("Rencontres", INT, 11, "sum"),
    Col("Heures de rencontre", NUMBER, 10, "sum"),
    Col("Rencontres en présentiel", INT, 11, "sum"),
    Col("Part en présentiel", PCT, 10, "rate:Rencontres en présentiel/Rencontres"),
    Col("Rencontres dans l'établissement", INT, 15, "sum"),
    Col("Part dans l'établissement", PCT, 15, "rate:Rencontres dans l'établissement/Rencontres"),
    Col("Visites d'entreprise", INT, 13, "sum"),
    Col("Rencontres par élève mentoré", NUMBER, 12, "rate:Rencontres/Élèves mentorés"),
    Col("Élèves mentorés boursiers", INT, 10, "sum"),
    Col("Part de boursiers", PCT, 10, "rate:Élèves mentorés boursiers/Élèves mentorés"),
    Col("Élèves mentorés résidant en QPV", INT, 15, "sum"),
    Col("Part de résidants QPV", PCT, 10, "rate:Élèves mentorés résidant en QPV/Élèves mentorés"),
    Col("Bénévolat valorisé (€)", MONEY, 14, "sum"),
]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _acad_row(name: str, group: list[Resultat]) -> list:
    counted = [r for r in group if r.in_totals]
    f = total([r.figures for r in counted])  # type: ignore[misc]
    a = f.activite
    statuses = [r.statut for r in group]
    return [
        name,
        len(group),
        statuses.count(VALIDE),
        statuses.count(A_CORRIGER),
        statuses.count(ILLISIBLE) + statuses.count(DOUBLON),
        f.eleves_mentores,
        f.mentors,
        f.dotation,
        f.report,
        f.disponibles,
        f.eligibles,
        f.reversements,
        f.ineligibles,
        f.reliquat_reporte,
        f.a_reverser,
        f.taux,
        a.rencontres,
        round(a.heures_rencontres, 2),
        a.presentiel,
        _ratio(a.presentiel, a.rencontres),
        a.en_etablissement,
        _ratio(a.en_etablissement, a.rencontres),
        a.visites,
        _ratio(a.rencontres, f.eleves_mentores),
        f.boursiers,
        _ratio(f.boursiers, f.eleves_mentores),
        f.qpv,
        _ratio(f.qpv, f.eleves_mentores),
        f.benevolat,
    ]


def _sheet_academies(wb, fmt, results, campagne: int) -> Placed:
    ws = wb.add_worksheet("Académies")
    groups: dict[str, list[Resultat]] = defaultdict(list)
    for r in results:
        groups[r.etablissement.get("academie") or NON_DETERMINEE].append(r)
    names = sorted(groups, key=lambda n: (n == NON_DETERMINEE, n))
    rows = [_acad_row(n, groups[n]) for n in names]
    placed = write_table(ws, fmt, ACAD_COLUMNS, rows)
    _paper(
        ws,
        ACAD_COLUMNS,
        campagne,
        key=1,
        starts=("Dotations notifiées (€)", "Rencontres", "Élèves mentorés boursiers"),
    )
    return placed


FILIERE_COLUMNS = [
    Col("Filière", TEXT, 16),
    Col("Élèves", INT, 10, "sum"),
    Col("Élèves mentorés", INT, 10, "sum"),
    Col("Boursiers", INT, 10, "sum"),
    Col("Part de boursiers", PCT, 10, "rate:Boursiers/Élèves"),
    Col("Résidants QPV", INT, 10, "sum"),
    Col("Part de résidants QPV", PCT, 10, "rate:Résidants QPV/Élèves"),
    Col("Abandons", INT, 10, "sum"),
    Col("Part d'abandons", PCT, 12, "rate:Abandons/Élèves"),
]


def _sheet_filieres(wb, fmt, totals: Figures, campagne: int) -> Placed:
    ws = wb.add_worksheet("Filières")
    rows = []
    for filiere in FILIERES:
        c = totals.par_filiere.get(filiere, {})
        n = c.get("eleves", 0)
        rows.append(
            [
                filiere,
                n,
                c.get("mentores", 0),
                c.get("boursiers", 0),
                _ratio(c.get("boursiers", 0), n),
                c.get("qpv", 0),
                _ratio(c.get("qpv", 0), n),
                c.get("abandons", 0),
                _ratio(c.get("abandons", 0), n),
            ]
        )
    placed = write_table(ws, fmt, FILIERE_COLUMNS, rows)
    write_note(
        ws,
        fmt,
        placed.total + 2,
        "Élèves de tous statuts ; les boursiers et résidants QPV sont "
        "comptés parmi tous les élèves de la filière.",
        [c.width for c in FILIERE_COLUMNS],
    )
    _paper(ws, FILIERE_COLUMNS, campagne, portrait=True)
    return placed


PARTNER_COLUMNS = [
    Col("UAI", TEXT, 10),
    Col("Établissement", TEXT, 30, wrap=True),
    Col("Code partenaire", TEXT, 12),
    Col("Raison sociale", TEXT, 28, wrap=True),
    Col("Type", TEXT, 12),
    Col("SIRET", TEXT, 16),
    Col("RNA", TEXT, 12),
    Col("Convention signée", TEXT, 12),
    Col("Référence de la convention", TEXT, 16, wrap=True),
    Col("Début de la convention", DATE, 12),
    Col("Fin de la convention", DATE, 12),
    Col("Montant conventionné (€)", MONEY, 14, "sum"),
    Col("Versements éligibles (€)", MONEY, 14, "sum"),
    Col("Versements inéligibles (€)", MONEY, 14, "sum"),
    Col("Reste sur la convention (€)", MONEY, 14, "sum"),
    Col("Autre financement public", TEXT, 13),
]


def _sheet_partenaires(wb, fmt, results, campagne: int) -> Placed:
    ws = wb.add_worksheet("Partenaires")
    rows = []
    for r in results:
        if not r.in_totals:
            continue
        for p in r.partenaires:
            montant = p.get("montant")
            rest = max(0, montant - p["verse_eligible"]) if montant is not None else None
            rows.append(
                [
                    r.uai,
                    r.etablissement.get("nom"),
                    p["code"],
                    p.get("raison_sociale"),
                    p.get("type"),
                    p.get("siret"),
                    p.get("rna"),
                    p.get("convention"),
                    p.get("reference"),
                    as_date(p.get("debut")),
                    as_date(p.get("fin")),
                    montant,
                    p["verse_eligible"],
                    p["verse_ineligible"],
                    rest,
                    p.get("autre_financement"),
                ]
            )
    placed = write_table(ws, fmt, PARTNER_COLUMNS, rows)
    _paper(ws, PARTNER_COLUMNS, campagne, key=4, starts=("Début de la convention",))
    return placed


# Widths that print one A4 page wide (landscape, about 70 %), long texts wrapped.
REJET_COLUMNS = [
    Col("UAI", TEXT, 10),
    Col("Établissement", TEXT, 18, wrap=True),
    Col("Fichier", TEXT, 18, wrap=True),
    Col("Cellule", TEXT, 13),
    Col("N° de pièce", TEXT, 10, wrap=True),
    Col("Date", DATE, 10),
    Col("Catégorie", TEXT, 14, wrap=True),
    Col("Libellé", TEXT, 18, wrap=True),
    Col("Payé à", TEXT, 14, wrap=True),
    Col("Montant de la ligne (€)", MONEY, 12),
    Col("Part inéligible (€)", MONEY, 12, "sum"),
    Col("Motif", TEXT, 20, wrap=True),
    Col("Code motif", TEXT, 14, wrap=True),
]


def _rejet_rows(r: Resultat, mask: Masker, labels: dict[str, str]) -> list[list]:
    return [
        [
            r.uai,
            r.etablissement.get("nom"),
            r.fichier,
            x["cellule"],
            mask.text(x.get("piece")),
            as_date(x.get("date")),
            labels.get(x.get("categorie"), x.get("categorie")),
            mask.text(x.get("libelle")),
            MASK if x.get("mentor") else mask.value(x.get("paye_a")),
            x.get("montant"),
            x["cents"],
            MOTIFS[x["code"]],
            x["code"],
        ]
        for x in r.rejets
    ]


def _sheet_rejets(wb, fmt, rows: list[list], campagne: int) -> Placed:
    ws = wb.add_worksheet("Dépenses inéligibles")
    placed = write_table(ws, fmt, REJET_COLUMNS, rows)
    _paper(ws, REJET_COLUMNS, campagne, key=2, starts=("Montant de la ligne (€)",))
    return placed


# Widths that print one A4 page wide (landscape, about 75 %), long texts wrapped.
ANOMALY_COLUMNS = [
    Col("UAI", TEXT, 10),
    Col("Établissement", TEXT, 22, wrap=True),
    Col("Fichier", TEXT, 22, wrap=True),
    Col("Feuille", TEXT, 14, wrap=True),
    Col("Cellule", TEXT, 8),
    Col("Gravité", TEXT, 13),
    Col("Code", TEXT, 24),
    Col("Message", TEXT, 58, wrap=True),
    Col("Valeur lue", TEXT, 16, wrap=True),
]


def _anomaly_rows(r: Resultat, kept: list[Anomaly], mask: Masker) -> list[list]:
    return [
        [
            r.uai,
            r.etablissement.get("nom"),
            r.fichier,
            a.feuille,
            a.cellule,
            str(a.gravite),
            a.code,
            mask.text(a.message),
            mask.value(a.valeur),
        ]
        for a in sorted_anomalies(kept)
    ]


def _masked_rows(
    results: list[Resultat], listed: list[list[Anomaly]], rules: Rules
) -> tuple[list[list], list[list]]:
    """The rows of Dépenses inéligibles and of Anomalies (each workbook's work list), each
    workbook's codes masked (its Masker built once for both, then dropped)."""
    labels = {c.code: c.libelle for c in rules.categories}
    rejets, anomalies = [], []
    for r, kept in zip(results, listed, strict=True):
        mask = Masker(r.codes_personnels)
        if r.in_totals:
            rejets += _rejet_rows(r, mask, labels)
        anomalies += _anomaly_rows(r, kept, mask)
    return rejets, anomalies


def _sheet_anomalies(wb, fmt, rows: list[list], campagne: int) -> Placed:
    ws = wb.add_worksheet("Anomalies")
    placed = write_table(ws, fmt, ANOMALY_COLUMNS, rows)
    _paper(ws, ANOMALY_COLUMNS, campagne, key=2, starts=("Gravité",))
    colors = {
        Gravite.BLOQUANT: "#FFC7CE",
        Gravite.AVERTISSEMENT: "#FFEB9C",
        Gravite.INFORMATION: "#DDEBF7",
    }
    if rows:
        span = (placed.first, 5, placed.last, 5)
        for gravite, color in colors.items():
            ws.conditional_format(
                *span,
                {
                    "type": "cell",
                    "criteria": "==",
                    "value": f'"{gravite}"',
                    "format": wb.add_format({"bg_color": color}),
                },
            )
    return placed


# --------------------------------------------------------------------- Contrôles


CONTROL_COLUMNS = [
    Col("Fichier", TEXT, 46, wrap=True),  # also the labels of the checks above
    Col("SHA-256", TEXT, 66),
    Col("Statut du classeur", TEXT, 13),
    Col("Lignes de dépenses lues", INT, 11, "sum"),
    Col("Montants lus (€)", MONEY, 14, "sum"),
    Col("Éligibles (€)", MONEY, 14, "sum"),
    Col("Inéligibles (€)", MONEY, 14, "sum"),
    Col("Écart (€)", MONEY, 10, "sum"),
]


def _sheet_controles(
    wb, fmt, results, totals: Figures, placed: dict[str, Placed], run: Run, campagne: int
):
    ws = wb.add_worksheet("Contrôles")
    ws.write(0, 0, "Conservation des montants (classeurs comptés dans les totaux)", fmt.subtitle)
    etab, rejets = placed["Établissements"], placed["Dépenses inéligibles"]
    counted = [r for r in results if r.in_totals]
    # Two independent paths for each check: the lines' own eligible parts and amounts read
    # (Figures), against the rejected parts listed one by one (the Dépenses inéligibles
    # sheet). A line lost or counted twice, or a cent without its reason, shows here.
    rejected_lines = sum(len({x["ligne"] for x in r.rejets}) for r in counted)
    listed = sum(x["cents"] for r in counted for x in r.rejets)
    ecart = totals.lus - totals.eligibles - listed
    line_gap = totals.lignes - totals.lignes_eligibles - rejected_lines
    lines = [
        ("Lignes de dépenses lues", None, totals.lignes, fmt.integer),
        ("Montants lus (€)", None, totals.lus / 100, fmt.euro),
        ("Dépenses éligibles (€)", None, totals.eligibles / 100, fmt.euro),
        ("Parts inéligibles listées, une par motif (€)", None, listed / 100, fmt.euro),
        (
            "Écart : lus − éligibles − inéligibles listées (€)",
            "=ROUND(B4-B5-B6,2)",
            ecart / 100,
            fmt.euro,
        ),
        (
            "Éligibles, feuille Établissements (€)",
            f"={etab.total_ref('Établissements', 'Dépenses éligibles (€)')}",
            totals.eligibles / 100,
            fmt.euro,
        ),
        (
            "Inéligibles, feuille Dépenses inéligibles (€)",
            f"={rejets.total_ref('Dépenses inéligibles', 'Part inéligible (€)')}"
            if rejets.total is not None
            else None,
            listed / 100,
            fmt.euro,
        ),
        ("Lignes entièrement éligibles", None, totals.lignes_eligibles, fmt.integer),
        (
            "Lignes rejetées, en tout ou en partie (feuille Dépenses inéligibles)",
            None,
            rejected_lines,
            fmt.integer,
        ),
        ("Écart de lignes : lues − éligibles − rejetées", "=B3-B10-B11", line_gap, fmt.integer),
    ]
    for i, (label, formula, value, cell_format) in enumerate(lines, start=2):
        ws.write_string(i, 0, label, fmt.wrap)
        _fit_row(ws, i, (label, CONTROL_COLUMNS[0].width))
        if formula:
            ws.write_formula(i, 1, formula, cell_format, value)
        else:
            ws.write(i, 1, value, cell_format)
    ok = ecart == 0 and line_gap == 0 and listed == totals.ineligibles
    ws.write_string(len(lines) + 2, 0, "Résultat", fmt.bold)
    verdict = '=IF(AND(B7=0,ROUND(B8-B5,2)=0,ROUND(B9-B6,2)=0,B12=0),"Conforme","Écart à analyser")'
    ws.write_formula(len(lines) + 2, 1, verdict, fmt.bold, "Conforme" if ok else "Écart à analyser")
    top = len(lines) + 5
    ws.write(top - 1, 0, "Fichiers lus, avec leur empreinte SHA-256", fmt.subtitle)
    rows = []
    for r in results:
        f = r.figures
        if f is None:
            rows.append([r.fichier, r.sha256 or None, r.statut, None, None, None, None, None])
        else:
            rows.append(
                [
                    r.fichier,
                    r.sha256,
                    r.statut,
                    f.lignes,
                    f.lus,
                    f.eligibles,
                    f.ineligibles,
                    f.lus - f.eligibles - f.ineligibles,
                ]
            )
    placed_files = write_table(
        ws,
        fmt,
        CONTROL_COLUMNS,
        rows,
        top=top,
        filter_on=("Statut du classeur", DOUBLON),
        total_label="Total (hors doublons)",
    )
    ws.freeze_panes(0, 0)
    if run.ignores:
        row = placed_files.total + 2
        ws.write(
            row,
            0,
            "Fichiers ignorés : sorties de mentorat-budget trouvées dans les dossiers",
            fmt.subtitle,
        )
        for i, name in enumerate(run.ignores, start=1):
            ws.write_string(row + i, 0, name, fmt.wrap)
            _fit_row(ws, row + i, (name, CONTROL_COLUMNS[0].width))
    _paper(ws, CONTROL_COLUMNS, campagne, header_row=top)


# -------------------------------------------------------------------- Paramètres


def _sheet_parametres(wb, fmt, rules: Rules, run: Run, n_files: int) -> None:
    ws = wb.add_worksheet("Paramètres")
    euros = lambda cents: cents / 100  # noqa: E731
    rows: list[tuple[str, object, object]] = [
        ("Outil", f"mentorat-budget {__version__}", fmt.text),
        ("Campagne", rules.campagne, fmt.text),
        ("Fichier de règles", rules.source, fmt.text),
        ("Forfait par élève (€)", euros(rules.forfait_cents), fmt.euro),
        ("Début de la période d'éligibilité", rules.debut, fmt.date),
        ("Fin de la période d'éligibilité", rules.fin, fmt.date),
        ("Date limite de reversement à la DJEPVA", rules.date_limite_reversement, fmt.date),
        ("Seuil du petit matériel par ligne (€)", euros(rules.petit_materiel_cents), fmt.euro),
        (
            "Écart au budget prévisionnel signalé au-delà de (%)",
            rules.ecart_budget_pourcent,
            fmt.text,
        ),
        ("Élèves en cours par mentor avant avertissement", rules.mentores_par_mentor, fmt.text),
        ("Taux horaire du bénévolat valorisé (€)", euros(rules.taux_horaire_cents), fmt.euro),
        ("Indemnités kilométriques (par mentor et par année civile)", ik_text(rules), fmt.wrap),
        ("Dossiers lus", ", ".join(run.dossiers), fmt.wrap),
        ("Classeurs trouvés", n_files, fmt.text),
        ("Mode strict (--strict)", "Oui" if run.strict else "Non", fmt.text),
        ("Bilan précédent (--precedent)", run.precedent or "aucun", fmt.text),
    ]
    widths = (50, 56, 10)
    ws.write_row(0, 0, ("Paramètre", "Valeur"), fmt.header)
    for i, (label, value, cell_format) in enumerate(rows, start=1):
        ws.write_string(i, 0, label, fmt.wrap)
        _fit_row(ws, i, (label, widths[0]), (value, widths[1]))
        if isinstance(value, dt.date):
            ws.write_datetime(i, 1, value, cell_format)
        else:
            ws.write(i, 1, value, cell_format)
    row = len(rows) + 2
    ws.write_row(row, 0, ("Catégorie", "Code", "Éligible"), fmt.header)
    for i, c in enumerate(rules.categories, start=row + 1):
        ws.write_row(i, 0, (c.libelle, c.code, "Oui" if c.eligible else "Non"))
    row += len(rules.categories) + 2
    ws.write_row(row, 0, ("Motif d'inéligibilité", "Code"), fmt.header)
    for i, (code, label) in enumerate(MOTIFS.items(), start=row + 1):
        ws.write_row(i, 0, (label, code))
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    paper.apply(ws, paper.plan(widths, portrait=True), rules.campagne, header_row=0)


# ---------------------------------------------------------------------- Synthèse


def _sheet_synthese(
    wb: Workbook,
    ws,
    fmt,
    results,
    totals: Figures,
    rules: Rules,
    placed: dict[str, Placed],
    listed: list[list[Anomaly]],
) -> None:
    etab = placed["Établissements"]
    sheet = "Établissements"
    statut = (
        f"{quote(sheet)}!${etab.letter('Statut du classeur')}${etab.first + 1}:"
        f"${etab.letter('Statut du classeur')}${max(etab.last, etab.first) + 1}"
    )
    statuses = [r.statut for r in results]

    def ref(header: str) -> str:
        return f"={etab.total_ref(sheet, header)}"

    expected_reports = []
    if "Report attendu, bilan N-1 (€)" in [c.header for c in etab.columns]:
        expected = sum(r.report_attendu or 0 for r in results if r.in_totals)
        expected_reports.append(
            (
                "Reports attendus, bilan N-1 (€)",
                ref("Report attendu, bilan N-1 (€)"),
                expected,
                fmt.euro,
            )
        )
    ws.write(
        0,
        0,
        f"Bilan du Plan mentorat au lycée professionnel — campagne {rules.campagne}",
        fmt.title,
    )
    ws.write_row(2, 0, ("Indicateur", "Valeur"), fmt.header)
    a = totals.activite
    items: list[tuple[str, str | None, object, object]] = [
        ("Campagne", None, rules.campagne, fmt.text),
        ("Classeurs lus", f"=COUNTA({statut})", len(results), fmt.integer),
        (
            "Classeurs valides",
            f'=COUNTIF({statut},"{VALIDE}")',
            statuses.count(VALIDE),
            fmt.integer,
        ),
        (
            "Classeurs à corriger",
            f'=COUNTIF({statut},"{A_CORRIGER}")',
            statuses.count(A_CORRIGER),
            fmt.integer,
        ),
        (
            "Classeurs illisibles",
            f'=COUNTIF({statut},"{ILLISIBLE}")',
            statuses.count(ILLISIBLE),
            fmt.integer,
        ),
        (
            "Classeurs en double (hors totaux)",
            f'=COUNTIF({statut},"{DOUBLON}")',
            statuses.count(DOUBLON),
            fmt.integer,
        ),
        ("Élèves mentorés", ref("Élèves mentorés"), totals.eleves_mentores, fmt.integer),
        ("Mentors", ref("Mentors"), totals.mentors, fmt.integer),
        ("Dotations notifiées (€)", ref("Dotation notifiée (€)"), totals.dotation, fmt.euro),
        ("Reports N-1 (€)", ref("Report N-1 (€)"), totals.report, fmt.euro),
        *expected_reports,
        ("Crédits disponibles (€)", ref("Crédits disponibles (€)"), totals.disponibles, fmt.euro),
        ("Dépenses éligibles (€)", ref("Dépenses éligibles (€)"), totals.eligibles, fmt.euro),
        (
            "Reversements aux partenaires (€)",
            ref("dont reversements aux partenaires (€)"),
            totals.reversements,
            fmt.euro,
        ),
        ("Dépenses inéligibles (€)", ref("Dépenses inéligibles (€)"), totals.ineligibles, fmt.euro),
        ("Reliquats (€)", ref("Reliquat (€)"), totals.reliquat, fmt.euro),
        ("Dépassements (€)", ref("Dépassement (€)"), totals.depassement, fmt.euro),
        ("Reliquats reportés (€)", ref("Reliquat reporté (€)"), totals.reliquat_reporte, fmt.euro),
        (
            "À reverser à la DJEPVA (€)",
            ref("À reverser à la DJEPVA (€)"),
            totals.a_reverser,
            fmt.euro,
        ),
        ("Date limite de reversement", None, rules.date_limite_reversement, fmt.date),
        ("Taux de consommation", ref("Taux de consommation"), totals.taux or 0, fmt.percent),
        ("Bénévolat valorisé (€)", None, totals.benevolat, fmt.euro),
        ("Rencontres", None, a.rencontres, fmt.integer),
        ("Heures de rencontre", None, round(a.heures_rencontres, 2), fmt.number),
        (
            "Part des rencontres en présentiel",
            None,
            _ratio(a.presentiel, a.rencontres) or 0,
            fmt.percent,
        ),
        (
            "Part des rencontres dans l'établissement",
            None,
            _ratio(a.en_etablissement, a.rencontres) or 0,
            fmt.percent,
        ),
        ("Visites d'entreprise", None, a.visites, fmt.integer),
        (
            "Rencontres par élève mentoré",
            None,
            round(_ratio(a.rencontres, totals.eleves_mentores) or 0, 2),
            fmt.number,
        ),
        (
            "Part de boursiers parmi les élèves mentorés",
            None,
            _ratio(totals.boursiers, totals.eleves_mentores) or 0,
            fmt.percent,
        ),
        (
            "Part de résidants QPV parmi les élèves mentorés",
            None,
            _ratio(totals.qpv, totals.eleves_mentores) or 0,
            fmt.percent,
        ),
    ]
    money = {fmt.euro}
    for i, (label, formula, value, cell_format) in enumerate(items, start=3):
        ws.write_string(i, 0, label)
        cached = value / 100 if cell_format in money else value
        if formula:
            ws.write_formula(i, 1, formula, cell_format, cached)
        elif isinstance(value, dt.date):
            ws.write_datetime(i, 1, value, cell_format)
        else:
            ws.write(i, 1, cached, cell_format)
    end = 3 + len(items)
    write_note(
        ws,
        fmt,
        end + 1,
        "Les totaux excluent les classeurs en double. Le bénévolat valorisé "
        "est indicatif (comptes 86/87).",
        [c.width for c in CODE_COLUMNS[:2]],
    )
    # The code table's columns line up with the indicators' and the charts' data.
    for c, column in enumerate(CODE_COLUMNS):
        ws.set_column(c, c, column.width)
    charts_end = _charts(wb, ws, fmt, totals, rules, placed)
    top = max(end + 3, charts_end + 2)
    _codes_table(ws, fmt, results, listed, top)
    widths = [c.width for c in CODE_COLUMNS]
    overflow = max(0, CHART_WIDTH - _pixels(widths[3:])) * 1.07  # printed by LibreOffice
    layout = paper.plan(widths, extra_pixels=overflow)
    # Indicators and charts on the first page, the code table from the second.
    paper.apply(ws, layout, rules.campagne, header_row=top + 1, row_breaks=[top])


# The bilan's anomalies counted by code (SPEC §7.1), every severity, in the Synthèse under
# the indicators: the label first, as Paramètres lists its codes, and each column where the
# indicators' and the charts' columns already have the width it needs.
CODE_COLUMNS = [
    Col("Anomalie", TEXT, 48, wrap=True),
    Col("Code", TEXT, 23),
    Col("Gravité", TEXT, 13),
    Col("Établissements concernés", INT, 38),
    Col("Occurrences", INT, 22, "sum"),
    Col("dont dans la feuille Anomalies", INT, 20, "sum"),
]
_SEVERITY_ORDER = {g: i for i, g in enumerate(Gravite)}


def _code_rows(results: list[Resultat], listed: list[list[Anomaly]]) -> list[list]:
    """One row per code and severity: establishments concerned (a UAI counts once, a
    workbook without one by its file), occurrences, and how many the Anomalies sheet
    lists; the blocking ones first, then by establishments and occurrences."""
    occurrences: Counter = Counter()
    in_list: Counter = Counter()
    where: dict[tuple[str, Gravite], set[str]] = defaultdict(set)
    for r, kept in zip(results, listed, strict=True):
        who = r.uai or r.fichier
        for a in r.anomalies:
            occurrences[a.code, a.gravite] += 1
            where[a.code, a.gravite].add(who)
        for a in kept:
            in_list[a.code, a.gravite] += 1
    order = sorted(
        occurrences,
        key=lambda k: (_SEVERITY_ORDER[k[1]], -len(where[k]), -occurrences[k], k[0]),
    )
    return [
        [
            catalogue.LIBELLES.get(code, code),
            code,
            str(gravite),
            len(where[code, gravite]),
            occurrences[code, gravite],
            in_list[code, gravite],
        ]
        for code, gravite in order
    ]


def _codes_table(ws, fmt, results, listed: list[list[Anomaly]], top: int) -> None:
    ws.write(top, 0, "Anomalies par code", fmt.subtitle)
    placed = write_table(
        ws, fmt, CODE_COLUMNS, _code_rows(results, listed), top=top + 1, whole_sheet=False
    )
    n = sum(len(kept) for kept in listed)
    write_note(
        ws,
        fmt,
        (placed.total if placed.total is not None else placed.last) + 2,
        f"Toutes les anomalies des classeurs lus, informations comprises. La feuille "
        f"Anomalies en liste {n} à traiter : les bloquantes et les avertissements, sauf ceux "
        "qui redisent une ligne de la feuille Dépenses inéligibles (même ligne, même motif) ; "
        "les fiches et les copies annotées les donnent toutes.",
        [c.width for c in CODE_COLUMNS],
    )


# Both charts beside the indicators, on the first printed page, within the columns D to F
# (a chart reaching into G would print a page of its own): 1.15 × 480 by 0.9 × 288 pixels,
# 13 rows of 20 pixels each.
CHART_SCALE = {"x_scale": 1.15, "y_scale": 0.9}
CHART_WIDTH, CHART_ROWS = 552, 13


def _pixels(widths) -> int:
    return sum(paper.column_pixels(w) for w in widths)


def _charts(wb, ws, fmt, totals: Figures, rules: Rules, placed: dict[str, Placed]) -> int:
    """The two charts and their data; returns the last row they cover."""
    etab = placed["Établissements"]
    ws.write_row(2, 3, ("Catégorie", "Dépenses éligibles (€)"), fmt.header)
    categories = _eligible_categories(rules)
    for i, c in enumerate(categories, start=3):
        ws.write_string(i, 3, c.libelle)
        ws.write_formula(
            i,
            4,
            f"={etab.total_ref('Établissements', f'{c.libelle} (€)')}",
            fmt.euro,
            totals.par_categorie.get(c.code, 0) / 100,
        )
    last = 2 + len(categories)
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "Dépenses éligibles (€)",
            "categories": ["Synthèse", 3, 3, last, 3],
            "values": ["Synthèse", 3, 4, last, 4],
            "data_labels": {"value": True, "num_format": '#,##0 "€"'},
            "fill": {"color": "#2F5597"},
        }
    )
    chart.set_title({"name": "Dépenses éligibles par catégorie"})
    chart.set_legend({"none": True})
    chart.set_x_axis({"num_format": '#,##0 "€"'})
    chart.set_y_axis({"reverse": True})
    ws.insert_chart(last + 2, 3, chart, CHART_SCALE)
    acad = placed["Académies"]
    if acad.last >= acad.first:
        col = acad.col("Dépenses éligibles (€)")
        chart2 = wb.add_chart({"type": "column"})
        chart2.add_series(
            {
                "name": "Dépenses éligibles (€)",
                "categories": ["Académies", acad.first, 0, acad.last, 0],
                "values": ["Académies", acad.first, col, acad.last, col],
                "fill": {"color": "#548235"},
            }
        )
        chart2.set_title({"name": "Dépenses éligibles par académie"})
        chart2.set_legend({"none": True})
        chart2.set_y_axis({"num_format": '#,##0 "€"'})
        ws.insert_chart(last + 3 + CHART_ROWS, 3, chart2, CHART_SCALE)
    return last + 3 + 2 * CHART_ROWS


# ------------------------------------------------------------------------ entry


def write_bilan(target: Path, results: list[Resultat], rules: Rules, run: Run) -> Figures:
    """Write the bilan; returns the totals (establishments counted, duplicates excluded)."""
    totals = total([r.figures for r in results if r.in_totals])  # type: ignore[misc]
    title = f"Bilan du Plan mentorat au lycée professionnel — campagne {rules.campagne}"
    with output_workbook(target, title, rules.campagne, "bilan") as wb:
        fmt = Formats(wb)
        listed = [work_list(r) for r in results]
        rejets, anomalies = _masked_rows(results, listed, rules)
        synthese = wb.add_worksheet("Synthèse")
        placed = {
            "Établissements": _sheet_etablissements(wb, fmt, results, rules, run),
            "Académies": _sheet_academies(wb, fmt, results, rules.campagne),
            "Filières": _sheet_filieres(wb, fmt, totals, rules.campagne),
            "Partenaires": _sheet_partenaires(wb, fmt, results, rules.campagne),
            "Dépenses inéligibles": _sheet_rejets(wb, fmt, rejets, rules.campagne),
            "Anomalies": _sheet_anomalies(wb, fmt, anomalies, rules.campagne),
        }
        _sheet_controles(wb, fmt, results, totals, placed, run, rules.campagne)
        _sheet_parametres(wb, fmt, rules, run, len(results))
        _sheet_synthese(wb, synthese, fmt, results, totals, rules, placed, listed)
        synthese.activate()
    return totals
