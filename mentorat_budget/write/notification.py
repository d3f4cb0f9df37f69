"""The notification workbook of `repartir`, and reading one back (`modele --depuis`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..allocation import Repartition
from ..anomalies import Anomalies
from ..read import RawSheet, read_any
from ..rules import Rules
from ..schema import Column, Kind, Sheet, header_lookup
from ..validate import TypingContext, find_header, type_table
from ..values import norm
from .tables import INT, MONEY, TEXT, Col, write_anomalies, write_table
from .xlsx import Formats, output_workbook, print_setup

SHEET = "Répartition"
COLUMNS = [
    Col("UAI", TEXT, 11),
    Col("Établissement", TEXT, 44),
    Col("Académie", TEXT, 18),
    Col("Élèves prévus", INT, 10, "sum"),
    Col("Plafond (€)", MONEY, 14, "sum"),
    Col("Dotation notifiée (€)", MONEY, 16, "sum"),
]

NOTIFICATION = Sheet(
    "repartition",
    SHEET,
    "Dotations notifiées.",
    columns=(
        Column("uai", "UAI", Kind.UAI, "Code UAI.", required=True),
        Column("nom", "Établissement", Kind.TEXT, "Nom."),
        Column("academie", "Académie", Kind.TEXT, "Académie."),
        Column("eleves", "Élèves prévus", Kind.INT, "Élèves prévus.", required=True, minimum="ge0"),
        Column(
            "dotation",
            "Dotation notifiée (€)",
            Kind.MONEY,
            "Dotation.",
            required=True,
            minimum="ge0",
        ),
    ),
)
# The first row written below the table: it and all that follows are not establishments.
_FOOTER_LABELS = ("total",)


def write_notification(target: Path, result: Repartition, rules: Rules) -> Path:
    title = f"Notification des dotations du Plan mentorat — campagne {rules.campagne}"
    with output_workbook(target, title, rules.campagne, "notification") as wb:
        fmt = Formats(wb)
        ws = wb.add_worksheet(SHEET)
        rows = [
            [a.uai, a.nom, a.academie, a.eleves, a.plafond * 100, a.dotation * 100]
            for a in result.lignes
        ]
        placed = write_table(ws, fmt, COLUMNS, rows)
        below = placed.total + 2
        ws.write_string(below, 0, "Enveloppe (€)", fmt.bold)
        ws.write_number(below, 5, result.enveloppe, fmt.euro_bold)
        if result.non_reparti:
            ws.write_string(below + 1, 0, "Non réparti (€)", fmt.bold)
            dotation = placed.letter("Dotation notifiée (€)")
            ws.write_formula(
                below + 1,
                5,
                f"={dotation}{below + 1}-{dotation}{placed.total + 1}",
                fmt.euro_bold,
                result.non_reparti,
            )
            ws.merge_range(
                below + 2,
                0,
                below + 2,
                5,
                "L'enveloppe dépasse la somme des plafonds "
                f"({rules.forfait_cents // 100} € par élève prévu) : chaque "
                "établissement reçoit son plafond.",
                fmt.note,
            )
        else:
            ws.merge_range(
                below + 1,
                0,
                below + 1,
                5,
                "Répartition au prorata des plafonds, à l'euro près ; "
                "les euros restants vont aux plus forts restes (à égalité, dans "
                "l'ordre des UAI).",
                fmt.note,
            )
        if result.anomalies:
            write_anomalies(wb.add_worksheet("Anomalies"), fmt, result.anomalies)
        _parameters_sheet(wb, fmt, result, rules)
        ws.activate()
    return Path(target)


def _parameters_sheet(wb, fmt, result: Repartition, rules: Rules) -> None:
    ws = wb.add_worksheet("Paramètres")
    ws.write_row(0, 0, ("Paramètre", "Valeur"), fmt.header)
    rows = [
        ("Campagne", rules.campagne, fmt.text),
        ("Fichier de règles", rules.source, fmt.text),
        ("Forfait par élève prévu (€)", rules.forfait_cents / 100, fmt.euro),
        ("Enveloppe (€)", result.enveloppe, fmt.euro),
        ("Somme des plafonds (€)", result.plafonds, fmt.euro),
        ("Établissements dotés", len(result.lignes), fmt.text),
    ]
    for i, (label, value, cell_format) in enumerate(rows, start=1):
        ws.write_string(i, 0, label)
        ws.write(i, 1, value, cell_format)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 18)
    print_setup(ws, portrait=True)


def read_notification(path: Path, rules: Rules) -> tuple[list[dict], Anomalies]:
    """The establishments of a notification (or any sheet with UAI, Élèves prévus and
    Dotation notifiée columns), with the anomalies found."""
    anomalies = Anomalies(str(path))
    raw = read_any(Path(path), anomalies)
    if raw is None:
        return [], anomalies
    lookup = header_lookup(NOTIFICATION)
    for sheet in raw.sheets.values():
        found = find_header(sheet.rows, lookup)
        if found and {"uai", "dotation"} <= set(found[1].values()):
            # The total row and what follows it are blanked (not removed, so that row
            # numbers stay the user's).
            end = next((r for r, row in enumerate(sheet.rows) if _is_footer(row)), None)
            rows = (
                sheet.rows
                if end is None
                else [*sheet.rows[:end], *([""] * len(row) for row in sheet.rows[end:])]
            )
            table = type_table(
                NOTIFICATION, RawSheet(sheet.name, rows), TypingContext(anomalies, rules)
            )
            records = table.frame.to_dict("records")
            return [r for r in records if not pd.isna(r["uai"])], anomalies
    first = raw.sheet_names[0] if raw.sheet_names else ""
    anomalies.add("COL-MANQUANTE", first, "A1", colonne="Dotation notifiée (€)")
    return [], anomalies


def notification_campaign(path: Path) -> int | None:
    """The campaign written in a notification's Paramètres sheet, if any."""
    raw = read_any(Path(path), Anomalies(str(path)))
    sheet = raw.sheets.get("Paramètres") if raw else None
    for row in sheet.rows if sheet else []:
        if len(row) > 1 and isinstance(row[0], str) and norm(row[0]) == "campagne":
            value = row[1]
            return int(value) if isinstance(value, int | float) else None
    return None


def _is_footer(row: list) -> bool:
    return bool(row) and isinstance(row[0], str) and norm(row[0]).startswith(_FOOTER_LABELS)
