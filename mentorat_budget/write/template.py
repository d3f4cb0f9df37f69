"""The establishment template (SPEC §4.8), blank or pre-filled, generated from schema.py.

Sheets: Notice, the data sheets of the schema, Synthèse (live formulas with their
cached values) and a hidden Listes sheet behind every drop-down (through defined
names, which survive openpyxl and LibreOffice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from ..rules import Categorie, Rules
from ..schema import (
    BUDGET,
    DEPENSES,
    ELEVES,
    ETABLISSEMENT,
    LISTES,
    SYNTHESE,
    TABLES,
    Column,
    Kind,
    Sheet,
    lists,
)
from ..validate import letters
from ..values import norm
from .notice import write_notice
from .xlsx import Formats, atomic_workbook, print_setup

TITLE_ROW, HEADER_ROW, FIRST_ROW = 0, 1, 2  # zero-based rows of every data sheet
SPARE_ROWS = 500  # validation reaches this many rows below the table
DATE_MIN, DATE_MAX = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


@dataclass
class Remplissage:
    """Values to pre-fill: money in integer cents (or text, written as typed)."""

    etablissement: dict[str, object] = field(default_factory=dict)
    lignes: dict[str, list[dict[str, object]]] = field(default_factory=dict)


def list_name(choices: str) -> str:
    return f"Liste_{choices}"


def codes_name(sheet_key: str) -> str:
    return f"Codes_{sheet_key}"


def quoted(sheet: Sheet | str) -> str:
    name = sheet.name if isinstance(sheet, Sheet) else sheet
    return "'" + name.replace("'", "''") + "'"


# ------------------------------------------------------------------- validation


def _messages(column: Column) -> dict:
    help_text = column.help + (f" Obligatoire {column.condition}." if column.condition else "")
    if column.required:
        help_text = "Obligatoire. " + help_text
    return {"input_title": column.header[:32], "input_message": help_text[:255]}


def validation(column: Column) -> dict:
    """The data validation of a column: drop-down, number, date, with an input message."""
    rule: dict
    kind = column.kind
    if kind in (Kind.LIST, Kind.BOOL):
        rule = {
            "validate": "list",
            "source": f"={list_name(column.choices)}",
            "error_title": "Valeur hors liste",
            "error_message": "Choisissez une valeur dans la liste déroulante.",
        }
    elif column.ref and kind is Kind.CODE:
        rule = {
            "validate": "list",
            "source": f"={codes_name(column.ref)}",
            "error_type": "warning",
            "error_title": "Code inconnu",
            "error_message": "Ce code n'existe pas encore : ajoutez-le d'abord dans sa feuille.",
        }
    elif column.key == "paye_a":
        rule = {
            "validate": "list",
            "source": f"={codes_name('partenaires')}",
            "error_type": "information",
            "error_title": "Fournisseur",
            "error_message": "Ce n'est pas un code partenaire : si c'est la raison sociale "
            "ou le SIRET d'un partenaire, la ligne est un versement à ce partenaire ; sinon, "
            "une dépense directe.",
        }
    elif kind in (Kind.MONEY, Kind.NUMBER):
        strict = column.minimum == "gt0"
        rule = {
            "validate": "decimal",
            "criteria": ">" if strict else ">=",
            "value": 0,
            "error_title": "Nombre attendu",
            "error_message": "Saisissez un nombre "
            + ("strictement positif" if strict else "positif ou nul")
            + ".",
        }
    elif kind is Kind.INT:
        low = 1 if column.minimum == "ge1" else 0
        rule = {
            "validate": "integer",
            "criteria": ">=",
            "value": low,
            "error_title": "Nombre entier attendu",
            "error_message": f"Saisissez un nombre entier supérieur ou égal à {low}.",
        }
    elif kind is Kind.YEAR:
        rule = {
            "validate": "integer",
            "criteria": "between",
            "minimum": 2020,
            "maximum": 2100,
            "error_title": "Année attendue",
            "error_message": "Saisissez une année, par exemple 2024.",
        }
    elif kind is Kind.DATE:
        rule = {
            "validate": "date",
            "criteria": "between",
            "minimum": DATE_MIN,
            "maximum": DATE_MAX,
            "error_title": "Date attendue",
            "error_message": "Saisissez une date, par exemple 12/03/2025.",
        }
    elif kind is Kind.UAI:
        rule = {
            "validate": "length",
            "criteria": "==",
            "value": 8,
            "error_title": "UAI",
            "error_message": "L'UAI compte 7 chiffres et une lettre, par exemple 0750655E.",
        }
    else:
        rule = {"validate": "any"}
    return {**rule, **_messages(column)}


# ----------------------------------------------------------------------- cells


def _cell_format(column: Column, fmt: Formats):
    return {
        Kind.MONEY: fmt.euro,
        Kind.DATE: fmt.date,
        Kind.INT: fmt.integer,
        Kind.YEAR: fmt.integer,
        Kind.NUMBER: fmt.text,  # General: 40 km, 1,5 h, no trailing zeros
    }.get(column.kind, fmt.text)


def cell_value(column: Column, value: object) -> object:
    """What is written for a pre-filled value: euros for cents, Oui/Non for booleans."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if column.kind is Kind.MONEY and isinstance(value, int):
        return value / 100
    return value


# ---------------------------------------------------------------------- sheets


def _write_lists(wb: Workbook, rules: Rules, fmt: Formats) -> None:
    ws = wb.add_worksheet(LISTES)
    for col, (name, values) in enumerate(lists(rules).items()):
        ws.write(0, col, name, fmt.bold)
        for row, value in enumerate(values, start=1):
            ws.write_string(row, col, value)
        ref = f"{letters(col)}$2:${letters(col)}${len(values) + 1}"
        wb.define_name(list_name(name), f"={LISTES}!${ref}")
    ws.hide()


def _write_etablissement(wb: Workbook, fill: Remplissage, fmt: Formats) -> dict[str, str]:
    """The key/value sheet; returns field key -> absolute reference of its value cell."""
    sheet = ETABLISSEMENT
    ws = wb.add_worksheet(sheet.name)
    ws.write(TITLE_ROW, 0, f"{sheet.name} — {sheet.help}", fmt.subtitle)
    n = len(sheet.columns)
    ws.add_table(
        HEADER_ROW,
        0,
        HEADER_ROW + n,
        2,
        {
            "name": sheet.table,
            "style": "Table Style Light 9",
            "autofilter": False,
            "columns": [
                {"header": h, "header_format": fmt.header} for h in ("Rubrique", "Valeur", "Aide")
            ],
        },
    )
    refs = {}
    value_formats = {Kind.MONEY: fmt.input_euro, Kind.DATE: fmt.input_date}
    for i, column in enumerate(sheet.columns):
        row = FIRST_ROW + i
        ws.write_string(row, 0, column.header, fmt.bold if column.required else fmt.text)
        value = cell_value(column, fill.etablissement.get(column.key))
        cell_fmt = value_formats.get(column.kind, fmt.input)
        if value is None:
            ws.write_blank(row, 1, None, cell_fmt)
        else:
            ws.write(row, 1, value, cell_fmt)
        aide = ("Obligatoire. " if column.required else "") + column.help
        ws.write_string(row, 2, aide, fmt.note)
        ws.data_validation(row, 1, row, 1, validation(column))
        refs[column.key] = f"{quoted(sheet)}!$B${row + 1}"
    ws.set_column(0, 0, 46)
    ws.set_column(1, 1, 26)
    ws.set_column(2, 2, 70)
    ws.freeze_panes(FIRST_ROW, 0)
    print_setup(ws, (HEADER_ROW, HEADER_ROW))
    return refs


def _write_table(wb: Workbook, sheet: Sheet, rows: list[dict], fmt: Formats) -> int:
    """A data sheet as an Excel table; returns the last row (zero-based) with validation."""
    ws: Worksheet = wb.add_worksheet(sheet.name)
    ws.write(TITLE_ROW, 0, f"{sheet.name} — {sheet.help}", fmt.subtitle)
    n = max(sheet.template_rows, len(rows), 1)
    data = [[cell_value(c, row.get(c.key)) for c in sheet.columns] for row in rows]
    ws.add_table(
        HEADER_ROW,
        0,
        HEADER_ROW + n,
        len(sheet.columns) - 1,
        {
            "name": sheet.table,
            "style": "Table Style Light 9",
            "data": data,
            "columns": [
                {"header": c.header, "header_format": fmt.header, "format": _cell_format(c, fmt)}
                for c in sheet.columns
            ],
        },
    )
    last = HEADER_ROW + n + SPARE_ROWS
    for i, column in enumerate(sheet.columns):
        # The column format reaches the empty rows, where the user types.
        ws.set_column(i, i, column.width, _cell_format(column, fmt))
        ws.data_validation(FIRST_ROW, i, last, i, validation(column))
    ws.set_row(HEADER_ROW, 32)
    ws.freeze_panes(FIRST_ROW, 0)
    print_setup(ws, (HEADER_ROW, HEADER_ROW))
    return last


def _define_codes(wb: Workbook, sheet: Sheet, last: int) -> None:
    code = sheet.code_column
    if code is None:
        return
    col = letters(sheet.columns.index(code))
    wb.define_name(
        codes_name(sheet.key), f"={quoted(sheet)}!${col}${FIRST_ROW + 1}:${col}${last + 1}"
    )


# -------------------------------------------------------------------- Synthèse


def _numeric_cents(value: object) -> int:
    """What SUM/SUMIFS see in a money cell: numbers count, text counts 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _col(sheet: Sheet, key: str) -> str:
    letter = letters([c.key for c in sheet.columns].index(key))
    return f"{quoted(sheet)}!${letter}:${letter}"


def _sumifs(sheet: Sheet, amount: str, category_key: str, criteria: list[str]) -> str:
    parts = [f'SUMIFS({_col(sheet, amount)},{_col(sheet, category_key)},"{c}")' for c in criteria]
    return "+".join(parts)


def _criteria(category: Categorie) -> list[str]:
    """SUMIFS criteria matching a category typed as its label or its code.

    SUMIFS ignores case: a code that is its label in capitals (COMMUNICATION) would
    count twice, so it is left out.
    """
    if category.code.lower() == category.libelle.lower():
        return [category.libelle]
    return [category.libelle, category.code]


def _spent_by_category(rows: list[dict], rules: Rules) -> dict[str, int]:
    totals = {c.code: 0 for c in rules.categories}
    for row in rows:
        category = rules.categorie(str(row.get("categorie", "")))
        if category:
            totals[category.code] += _numeric_cents(row.get("montant"))
    return totals


def _write_synthese(
    wb: Workbook, rules: Rules, fill: Remplissage, refs: dict[str, str], fmt: Formats
) -> None:
    ws = wb.add_worksheet(SYNTHESE)
    ws.write(0, 0, "Synthèse provisoire du classeur", fmt.title)
    ws.merge_range(
        1,
        0,
        1,
        5,
        "Calculée automatiquement à partir des autres feuilles : ne rien saisir "
        "ici. Seules les catégories sont contrôlées ; les règles d'éligibilité ligne à "
        "ligne (justificatifs, conventions, indemnités kilométriques…) sont appliquées "
        "par le rectorat.",
        fmt.note,
    )
    ws.set_row(1, 32)
    depenses = fill.lignes.get("depenses", [])
    budget = fill.lignes.get("budget", [])
    spent = _spent_by_category(depenses, rules)
    planned = _spent_by_category(budget, rules)
    dotation = _numeric_cents(fill.etablissement.get("dotation"))
    report = _numeric_cents(fill.etablissement.get("report"))
    total_spent = sum(_numeric_cents(r.get("montant")) for r in depenses)
    ineligible = [c for c in rules.categories if not c.eligible]
    spent_ineligible = sum(spent[c.code] for c in ineligible)
    eligible = total_spent - spent_ineligible
    available = dotation + report
    eleves = fill.lignes.get("eleves", [])
    mentored = sum(
        1
        for e in eleves
        if e.get("mentor") not in (None, "") and norm(e.get("statut") or "") != "abandon"
    )

    criteria = [x for c in ineligible for x in _criteria(c)]
    eleves_code, eleves_mentor, eleves_statut = (
        _col(ELEVES, k) for k in ("code", "mentor", "statut")
    )
    lines = [
        ("Crédits", None, None, None),
        ("Dotation notifiée (€)", f"=N({refs['dotation']})", dotation / 100, fmt.euro),
        ("Report de l'exercice précédent (€)", f"=N({refs['report']})", report / 100, fmt.euro),
        ("Crédits disponibles (€)", "=B5+B6", available / 100, fmt.euro_bold),
        ("Dépenses saisies (€)", f"=SUM({_col(DEPENSES, 'montant')})", total_spent / 100, fmt.euro),
        (
            "dont catégories non éligibles (€)",
            "=" + _sumifs(DEPENSES, "montant", "categorie", criteria),
            spent_ineligible / 100,
            fmt.euro,
        ),
        ("Dépenses des catégories éligibles (€)", "=B8-B9", eligible / 100, fmt.euro_bold),
        (
            "Reliquat prévisionnel (€)",
            "=MAX(0,B7-B10)",
            max(0, available - eligible) / 100,
            fmt.euro,
        ),
        (
            "Dépassement prévisionnel (€)",
            "=MAX(0,B10-B7)",
            max(0, eligible - available) / 100,
            fmt.euro,
        ),
        (
            "Taux de consommation prévisionnel",
            "=IF(B7>0,B10/B7,0)",
            eligible / available if available > 0 else 0,
            fmt.percent,
        ),
        ("Élèves", None, None, None),
        ("Élèves saisis", f"=MAX(0,COUNTA({eleves_code})-2)", len(eleves), fmt.integer),
        (
            "Élèves mentorés (avec un mentor, hors abandon)",
            f'=MAX(0,COUNTIFS({eleves_mentor},"<>",{eleves_statut},"<>Abandon")-1)',
            mentored,
            fmt.integer,
        ),
        (
            f"Plafond ({rules.forfait_cents // 100} € × élèves mentorés) (€)",
            f"={rules.forfait_cents / 100:g}*B16",
            mentored * rules.forfait_cents / 100,
            fmt.euro,
        ),
    ]
    for i, (label, formula, value, cell_fmt) in enumerate(lines, start=3):
        if formula is None:
            ws.write(i, 0, label, fmt.subtitle)
            continue
        ws.write(i, 0, label)
        ws.write_formula(i, 1, formula, cell_fmt, value)

    top = 3 + len(lines) + 1
    ws.write(top, 0, "Dépenses par catégorie", fmt.subtitle)
    headers = [
        "Catégorie",
        "Éligible",
        "Budget prévu (€)",
        "Dépensé (€)",
        "Écart (€)",
        "Réalisé / prévu",
    ]
    ws.write_row(top + 1, 0, headers, fmt.header)
    first = top + 2
    for i, category in enumerate(rules.categories):
        row, r = first + i, first + i + 1
        crit = _criteria(category)
        ws.write(row, 0, category.libelle)
        ws.write(row, 1, "Oui" if category.eligible else "Non")
        p, s = planned[category.code], spent[category.code]
        ws.write_formula(
            row, 2, "=" + _sumifs(BUDGET, "montant", "categorie", crit), fmt.euro, p / 100
        )
        ws.write_formula(
            row, 3, "=" + _sumifs(DEPENSES, "montant", "categorie", crit), fmt.euro, s / 100
        )
        ws.write_formula(row, 4, f"=D{r}-C{r}", fmt.euro, (s - p) / 100)
        ws.write_formula(row, 5, f'=IF(C{r}>0,D{r}/C{r},"")', fmt.percent, s / p if p > 0 else "")
    last = first + len(rules.categories) - 1
    total = last + 1
    ws.write(total, 0, "Total", fmt.total)
    ws.write_blank(total, 1, None, fmt.total)
    for col, amount in ((2, sum(planned.values())), (3, sum(spent.values()))):
        c = letters(col)
        ws.write_formula(
            total, col, f"=SUM({c}{first + 1}:{c}{last + 1})", fmt.euro_bold, amount / 100
        )
    ws.write_formula(
        total,
        4,
        f"=D{total + 1}-C{total + 1}",
        fmt.euro_bold,
        (sum(spent.values()) - sum(planned.values())) / 100,
    )
    ws.write_blank(total, 5, None, fmt.percent_bold)
    threshold = 1 + rules.ecart_budget_pourcent / 100
    ws.conditional_format(
        first,
        5,
        last,
        5,
        {
            "type": "cell",
            "criteria": ">",
            "value": threshold,
            "format": wb.add_format({"font_color": "#C00000", "bold": True}),
        },
    )
    ws.write(
        total + 2,
        0,
        f"En rouge : réalisé supérieur de plus de "
        f"{rules.ecart_budget_pourcent} % au budget prévisionnel de la catégorie.",
        fmt.note,
    )
    ws.set_column(0, 0, 48)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 5, 17)
    print_setup(ws, portrait=True)
    ws.protect("", {"format_columns": True, "format_rows": True})


# ------------------------------------------------------------------------ entry


def write_template(target: Path, rules: Rules, fill: Remplissage | None = None) -> Path:
    """Write the establishment template (blank, or pre-filled) to `target`, atomically."""
    fill = fill or Remplissage()
    title = f"Plan mentorat au lycée professionnel — classeur établissement {rules.campagne}"
    created = dt.datetime(rules.campagne, 1, 1)
    with atomic_workbook(target, title, created, output=False, Campagne=str(rules.campagne)) as wb:
        fmt = Formats(wb)
        write_notice(wb, rules, fmt)
        refs = _write_etablissement(wb, fill, fmt)
        for sheet in TABLES:
            last = _write_table(wb, sheet, fill.lignes.get(sheet.key, []), fmt)
            _define_codes(wb, sheet, last)
        _write_synthese(wb, rules, fill, refs, fmt)
        _write_lists(wb, rules, fmt)
        wb.worksheets()[0].activate()
    return Path(target)


def write_prefilled(folder: Path, rules: Rules, establishments: list[dict]) -> list[Path]:
    """One pre-filled template per establishment (UAI, name, académie, campaign, dotation in
    cents, planned students), named after its UAI and name."""
    from ..examples import slug

    paths = []
    for e in establishments:
        fill = Remplissage(etablissement={
            "uai": e["uai"], "nom": e.get("nom") or None, "academie": e.get("academie"),
            "campagne": rules.campagne, "dotation": e["dotation"],
            "eleves_prevus": e["eleves"],
        })  # fmt: skip
        name = f"{e['uai']}-{slug(e.get('nom') or 'etablissement')}.xlsx"
        paths.append(write_template(Path(folder) / name, rules, fill))
    return paths
