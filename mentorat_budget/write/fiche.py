"""One establishment's fiche: its own figures, rejected lines and anomalies, nothing else.

The first sheet is what a finance officer signs and files: one A4 page, the figures in
sections (Crédits, Dépenses, Solde, Activité), what they were computed from, and a
signature block. Labels stay in column A and values in column B (numbers with their
formats), so that a tool reads the figures back by label.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..batch import Resultat
from ..eligibility import MOTIFS
from ..examples import slug
from ..rules import Rules
from .tables import (
    ANOMALY_COLUMNS,
    DATE,
    INT,
    MONEY,
    NUMBER,
    PCT,
    TEXT,
    WRAP,
    Col,
    as_date,
    write_table,
)
from .xlsx import DATE as DATE_FORMAT
from .xlsx import EURO, PERCENT, Formats, output_workbook, row_height

SHEET = "Synthèse"
WIDTHS = (50, 17, 31)  # label, value, remark: 98 characters fit A4 portrait at 100 %
NAVY = "#1F3864"


def fiche_name(result: Resultat) -> str:
    uai = result.uai or "sans-uai"
    return f"fiche-{uai}-{slug(str(result.etablissement.get('nom') or result.fichier))}.xlsx"


@dataclass(frozen=True)
class Line:
    label: str
    value: object  # money in integer cents
    kind: str = TEXT
    note: str = ""
    style: str = ""  # "total" (bold, rule above), "detail" (indented), "left" or ""


def _euros(cents: int) -> str:
    """12345 -> « 123,45 € », for the remarks (the values themselves stay numbers)."""
    text = f"{cents / 100:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text} €"


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0


# ------------------------------------------------------------------ the sections


def _identity(result: Resultat, rules: Rules) -> list[Line]:
    e = result.etablissement
    bloquantes = result.bloquantes
    s = "s" if bloquantes > 1 else ""
    note = f"chiffres provisoires : {bloquantes} anomalie{s} bloquante{s}" if bloquantes else ""
    return [
        Line("UAI", e.get("uai"), style="left"),
        Line("Établissement", e.get("nom"), style="left"),
        Line("Académie", e.get("academie"), style="left"),
        Line("Campagne", rules.campagne, INT, style="left"),
        Line("Statut du classeur", result.statut, note=note, style="left"),
        Line("Fichier", result.fichier, style="left"),
    ]


def _credits(result: Resultat, rules: Rules) -> list[Line]:
    f = result.figures
    forfait = _euros(rules.forfait_cents)
    return [
        Line("Dotation notifiée (€)", f.dotation, MONEY),
        Line("Report N-1 (€)", f.report, MONEY, f"reliquat de la campagne {rules.campagne - 1}"),
        Line("Crédits disponibles (€)", f.disponibles, MONEY, "dotation + report", "total"),
        Line("Plafond (€)", f.plafond, MONEY, f"{forfait} × {f.eleves_mentores} élèves mentorés"),
    ]


def _depenses(result: Resultat, rules: Rules) -> list[Line]:
    f = result.figures
    lines = [
        Line("Dépenses déclarées (€)", f.lus, MONEY, f"{f.lignes} lignes de dépense"),
        Line("Dépenses éligibles (€)", f.eligibles, MONEY, "", "total"),
    ]
    for c in rules.categories:
        if c.eligible:
            amount = f.par_categorie.get(c.code, 0)
            lines.append(Line(f"{c.libelle} (€)", amount, MONEY, style="detail"))
    lines.append(
        Line(
            "dont reversements aux partenaires (€)",
            f.reversements,
            MONEY,
            "paiements sous convention",
            "detail",
        )
    )
    lines.append(
        Line(
            "Dépenses inéligibles (€)",
            f.ineligibles,
            MONEY,
            "détail : feuille Dépenses inéligibles" if f.ineligibles else "",
            "total",
        )
    )
    for code, label in MOTIFS.items():
        if f.par_motif.get(code):
            lines.append(Line(f"{label} (€)", f.par_motif[code], MONEY, style="detail"))
    return lines


def _solde(result: Resultat, rules: Rules) -> list[Line]:
    f = result.figures
    poursuite = {True: "Oui", False: "Non"}.get(f.poursuite, "Non renseignée")
    lines = [
        Line("Reliquat (€)", f.reliquat, MONEY, "disponibles − éligibles", "total"),
        Line(
            "Dépassement (€)",
            f.depassement,
            MONEY,
            "éligibles au-delà des crédits disponibles" if f.depassement else "",
        ),
        Line("Poursuite du mentorat l'année scolaire suivante", poursuite),
        Line(
            "Reliquat reporté (€)",
            f.reliquat_reporte,
            MONEY,
            f"sur la campagne {rules.campagne + 1}" if f.reliquat_reporte else "",
        ),
        Line(
            "À reverser à la DJEPVA (€)",
            f.a_reverser,
            MONEY,
            f"avant le {rules.date_limite_reversement:%d/%m/%Y}" if f.a_reverser else "",
        ),
    ]
    if f.a_reverser:
        lines.append(Line("Date limite de reversement", rules.date_limite_reversement, DATE))
    lines.append(Line("Taux de consommation", f.taux or 0, PCT, "éligibles / disponibles"))
    return lines


def _activite(result: Resultat, rules: Rules) -> list[Line]:
    f = result.figures
    a = f.activite
    heures = f"{a.heures_mentorat:,.1f}".replace(",", "\u202f").replace(".", ",")
    return [
        Line("Élèves prévus", f.eleves_prevus, INT),
        Line("Élèves mentorés", f.eleves_mentores, INT),
        Line("Mentors", f.mentors, INT),
        Line("Rencontres", a.rencontres, INT),
        Line("Heures de rencontre", round(a.heures_rencontres, 2), NUMBER),
        Line("Part des rencontres en présentiel", _ratio(a.presentiel, a.rencontres), PCT),
        Line("Visites d'entreprise", a.visites, INT),
        Line(
            "Part de boursiers parmi les élèves mentorés",
            _ratio(f.boursiers, f.eleves_mentores),
            PCT,
        ),
        Line(
            "Part de résidants QPV parmi les élèves mentorés",
            _ratio(f.qpv, f.eleves_mentores),
            PCT,
        ),
        Line(
            "Bénévolat valorisé (€)",
            f.benevolat,
            MONEY,
            f"indicatif (comptes 86/87) : {heures} h × {_euros(rules.taux_horaire_cents)}",
        ),
    ]


def sections(result: Resultat, rules: Rules) -> list[tuple[str, list[Line]]]:
    """The fiche's first sheet as data: (section title, lines), in print order."""
    if result.figures is None:
        return [("Établissement", _identity(result, rules))]
    return [
        ("Établissement", _identity(result, rules)),
        ("Crédits", _credits(result, rules)),
        ("Dépenses", _depenses(result, rules)),
        ("Solde", _solde(result, rules)),
        ("Activité", _activite(result, rules)),
    ]


def provenance(result: Resultat, rules: Rules) -> str:
    return (
        f"Chiffres calculés par mentorat-budget {__version__} à partir du fichier "
        f"« {result.fichier} » (SHA-256 {result.sha256 or 'inconnue'}), selon les règles "
        f"de la campagne {rules.campagne} ({rules.source}). Les montants sont en euros TTC."
    )


# ------------------------------------------------------------------ the first sheet


class _Styles:
    """The fiche's own formats: sections, totals, details, remarks, signature boxes."""

    def __init__(self, wb):
        # Centred vertically: the remarks (10 pt) line up with the figures (11 pt).
        base = {"font_name": "Calibri", "font_size": 11, "valign": "vcenter"}
        add = lambda **kw: wb.add_format({**base, **kw})  # noqa: E731
        self.title = add(bold=True, font_size=15, font_color=NAVY)
        self.subtitle = add(bold=True, font_size=12)
        self.section = add(bold=True, font_color="#FFFFFF", bg_color=NAVY)
        remark = {"italic": True, "font_color": "#404040", "font_size": 10, "indent": 1}
        rule = {"top": 1, "top_color": "#808080"}
        self.note = add(**remark)
        self.small = add(
            italic=True, font_color="#404040", font_size=10, text_wrap=True, valign="top"
        )
        self.bold = add(bold=True)
        self.box = add(border=1, border_color="#808080", text_wrap=True, valign="top")
        numbers = {MONEY: EURO, PCT: PERCENT, INT: "0", NUMBER: "#,##0.00", DATE: DATE_FORMAT}
        self.labels = {
            "": add(),
            "left": add(),
            "detail": add(align="left", indent=2),
            "total": add(bold=True, **rule),
        }
        self.values = {}
        for style, extra in (
            ("", {"align": "right"}),
            ("left", {"align": "left"}),
            ("detail", {"align": "right"}),
            ("total", {"align": "right", "bold": True, **rule}),
        ):
            for kind in (MONEY, PCT, INT, NUMBER, DATE, TEXT):
                number = {"num_format": numbers[kind]} if kind in numbers else {}
                self.values[style, kind] = add(**extra, **number)
        self.notes = {style: self.note for style in ("", "left", "detail")}
        self.notes["total"] = add(**remark, **rule)


def _write_value(ws, row: int, line: Line, cell_format) -> None:
    value = line.value
    if value is None or value == "":
        ws.write_blank(row, 1, None, cell_format)
    elif line.kind == MONEY:
        ws.write_number(row, 1, value / 100, cell_format)
    elif line.kind == DATE:
        ws.write_datetime(row, 1, value, cell_format)
    elif line.kind in (INT, NUMBER, PCT):
        ws.write_number(row, 1, value, cell_format)
    else:
        ws.write_string(row, 1, str(value), cell_format)


def _first_sheet(wb, result: Resultat, rules: Rules) -> None:
    st = _Styles(wb)
    ws = wb.add_worksheet(SHEET)
    for c, width in enumerate(WIDTHS):
        ws.set_column(c, c, width)
    e = result.etablissement
    ws.write(0, 0, "Fiche financière — Plan mentorat au lycée professionnel", st.title)
    ws.set_row(0, 21)
    who = " — ".join(
        str(x)
        for x in (
            e.get("nom") or result.fichier,
            e.get("uai"),
            f"académie de {e['academie']}" if e.get("academie") else None,
            f"campagne {rules.campagne}",
        )
        if x
    )
    ws.write(1, 0, who, st.subtitle)
    row = 3
    for title, lines in sections(result, rules):
        ws.write_string(row, 0, title, st.section)
        ws.write_blank(row, 1, None, st.section)
        ws.write_blank(row, 2, None, st.section)
        row += 1
        for line in lines:
            ws.write_string(row, 0, line.label, st.labels[line.style])
            _write_value(ws, row, line, st.values[line.style, line.kind])
            if line.note or line.style == "total":
                ws.write_string(row, 2, line.note, st.notes[line.style])
            row += 1
        row += 1
    text = provenance(result, rules)
    ws.merge_range(row, 0, row, 2, text, st.small)
    ws.set_row(row, row_height([(text, sum(WIDTHS) / 1.2)], line=13.5))
    row += 2
    if result.figures is None:  # nothing to certify: say why, no signature block
        ws.write_string(row, 0, "Aucun chiffre : le classeur n'a pas pu être lu.", st.bold)
        ws.write_string(row + 1, 0, "Voir la feuille Anomalies.")
    else:
        _signatures(ws, st, row)
    ws.set_paper(9)
    ws.set_portrait()
    ws.fit_to_pages(1, 1)  # exactly one page, whatever the number of lines
    ws.set_margins(left=0.5, right=0.5, top=0.5, bottom=0.6)
    ws.set_footer(f"&L{_header_text(_page_title(result, rules))}&RPage &P / &N")
    ws.hide_gridlines(2)
    ws.activate()


def _signatures(ws, st: _Styles, row: int) -> None:
    ws.write_string(row, 0, "Certifié exact.", st.bold)
    ws.write_string(row + 1, 0, "Fait à ……………………………………, le ……………………")
    ws.write_string(row + 3, 0, "Le gestionnaire", st.bold)
    ws.merge_range(row + 3, 1, row + 3, 2, "L'ordonnateur (chef d'établissement)", st.bold)
    ws.write_string(row + 4, 0, "Nom, date et signature :", st.box)
    ws.merge_range(row + 4, 1, row + 4, 2, "Nom, date, signature et cachet :", st.box)
    ws.set_row(row + 4, 72)


def _page_title(result: Resultat, rules: Rules) -> str:
    return f"Fiche {result.uai or result.fichier} — campagne {rules.campagne}"


def _header_text(text: str) -> str:
    """Literal text for a page header or footer ("&" starts a code there)."""
    return text[:120].replace("&", "&&")


# ------------------------------------------------------------------ the other sheets


REJET_COLUMNS = [
    Col("Cellule", TEXT, 14),
    Col("N° de pièce", TEXT, 11),
    Col("Date", DATE, 11),
    Col("Catégorie", WRAP, 22),
    Col("Libellé", WRAP, 30),
    Col("Payé à", WRAP, 20),
    Col("Montant de la ligne (€)", MONEY, 13),
    Col("Part inéligible (€)", MONEY, 13, "sum"),
    Col("Motif", WRAP, 34),
]


def _rejets(wb, fmt: Formats, result: Resultat, rules: Rules) -> None:
    labels = {c.code: c.libelle for c in rules.categories}
    rows = [
        [
            x["cellule"],
            x.get("piece"),
            as_date(x.get("date")),
            labels.get(x.get("categorie"), x.get("categorie")),
            x.get("libelle"),
            x.get("paye_a"),
            x.get("montant"),
            x["cents"],
            MOTIFS[x["code"]],
        ]
        for x in result.rejets
    ]
    ws = wb.add_worksheet("Dépenses inéligibles")
    write_table(ws, fmt, REJET_COLUMNS, rows)
    ws.set_header("&L" + _header_text(_page_title(result, rules)))


def _anomalies(wb, fmt: Formats, result: Resultat, rules: Rules) -> None:
    from ..report import sorted_anomalies

    rows = [
        [a.feuille, a.cellule, str(a.gravite), a.code, a.message, a.valeur]
        for a in sorted_anomalies(result.anomalies)
    ]
    ws = wb.add_worksheet("Anomalies")
    write_table(ws, fmt, ANOMALY_COLUMNS, rows)
    ws.set_header("&L" + _header_text(_page_title(result, rules)))


def write_fiche(target: Path, result: Resultat, rules: Rules) -> Path:
    title = f"Fiche de l'établissement {result.uai or ''} — campagne {rules.campagne}"
    with output_workbook(target, title, rules.campagne, "fiche") as wb:
        fmt = Formats(wb)
        _first_sheet(wb, result, rules)
        _rejets(wb, fmt, result, rules)
        _anomalies(wb, fmt, result, rules)
    return target
