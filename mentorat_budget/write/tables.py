"""A plain table on a worksheet: header, typed rows, and a total row made of formulas
whose cached values are computed here, so Excel and LibreOffice both show them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .paper import LINE, text_lines
from .xlsx import LINE_HEIGHT, Formats, print_setup, row_height

MONEY, INT, PCT, DATE, TEXT, NUMBER = "money", "int", "pct", "date", "text", "number"
WRAP = "wrap"  # text wrapped within the column's width, the row as tall as it needs


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = TEXT
    width: int = 14
    # Total row: "sum" (of the rows kept), "rate:NUM/DEN" (two other headers), or "".
    total: str = ""
    # Text wrapped within the width, its row's height measured in Calibri's widths (the
    # bilan's tables; the WRAP kind counts characters instead).
    wrap: bool = False


@dataclass
class Placed:
    """Where a written table landed (zero-based rows)."""

    first: int
    last: int  # last data row; first - 1 when there is no row
    total: int | None
    columns: Sequence[Col]

    def col(self, header: str) -> int:
        return [c.header for c in self.columns].index(header)

    def letter(self, header: str) -> str:
        return xl_col_to_name(self.col(header))

    def total_ref(self, sheet: str, header: str) -> str:
        """Absolute reference to the total cell of a column, for formulas elsewhere."""
        assert self.total is not None
        return f"{quote(sheet)}!${self.letter(header)}${self.total + 1}"


def quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _cell_format(kind: str, fmt: Formats, bold: bool = False, wrap: bool = False):
    if bold:
        return {
            MONEY: fmt.euro_bold,
            PCT: fmt.percent_bold,
            INT: fmt.integer_bold,
            NUMBER: fmt.number_bold,
        }.get(kind, fmt.total)
    return {
        MONEY: fmt.euro,
        PCT: fmt.percent,
        DATE: fmt.date,
        WRAP: fmt.wrap,
        INT: fmt.integer,
        NUMBER: fmt.number,
    }.get(kind, fmt.wrap if wrap else fmt.text)


def as_date(value):
    """A pandas Timestamp (or a datetime) as the date it stands for; None stays None."""
    return value.date() if isinstance(value, dt.datetime) else value


def write_value(ws: Worksheet, row: int, col: int, kind: str, value, cell_format) -> None:
    """Money arrives in integer cents and is written in euros; None is an empty cell."""
    if value is None or (isinstance(value, float) and value != value):
        ws.write_blank(row, col, None, cell_format)
    elif kind == MONEY:
        ws.write_number(row, col, value / 100, cell_format)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, cell_format)
    elif isinstance(value, bool):
        ws.write_string(row, col, "Oui" if value else "Non", cell_format)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)


def write_table(
    ws: Worksheet,
    fmt: Formats,
    columns: Sequence[Col],
    rows: Sequence[Sequence],
    top: int = 0,
    total_label: str = "Total",
    filter_on: tuple[str, str] | None = None,
    whole_sheet: bool = True,
) -> Placed:
    """Header at `top`, rows below, then a total row if any column has a total.

    With `filter_on` (a header and a value), the totals count only the rows whose column
    differs from the value (e.g. Statut <> Doublon): the SUMIFS formula and its cached
    value select the same rows. A table that is the sheet (`whole_sheet`) also sets the
    column widths, freezes its header, gets a filter and a print setup; one among other
    content (the Synthèse) leaves the sheet as it is.
    """
    ws.write_row(top, 0, [c.header for c in columns], fmt.header)
    ws.set_row(top, max(45, LINE * max(text_lines(c.header, c.width, True) for c in columns)))
    formats = [_cell_format(c.kind, fmt, wrap=c.wrap) for c in columns]
    for r, row in enumerate(rows, start=top + 1):
        for c, (column, value) in enumerate(zip(columns, row, strict=True)):
            write_value(ws, r, c, column.kind, value, formats[c])
    _fit_wrapped_rows(ws, columns, rows, top + 1)
    first, last = top + 1, top + len(rows)
    if whole_sheet:
        for c, column in enumerate(columns):
            ws.set_column(c, c, column.width)
        ws.freeze_panes(top + 1, 0)
        ws.autofilter(top, 0, max(last, top), len(columns) - 1)
        print_setup(ws, (top, top), wide=len(columns) > 14)
    placed = Placed(first, last, None, columns)
    if not any(c.total for c in columns):
        return placed
    placed.total = last + 1
    _write_totals(ws, fmt, placed, rows, total_label, filter_on)
    return placed


def _fit_wrapped_rows(ws: Worksheet, columns: Sequence[Col], rows, first: int) -> None:
    """Neither Excel nor LibreOffice fits a row to its wrapped text on opening a file."""
    counted = [(c, column.width) for c, column in enumerate(columns) if column.kind == WRAP]
    measured = [(c, column.width) for c, column in enumerate(columns) if column.wrap]
    if not counted and not measured:
        return
    for r, row in enumerate(rows, start=first):
        height = row_height((row[c], width) for c, width in counted) if counted else 0
        lines = max((text_lines(row[c], w) for c, w in measured if row[c] is not None), default=1)
        height = max(height, LINE * lines)
        if height > LINE_HEIGHT:
            ws.set_row(r, height)


def write_note(ws: Worksheet, fmt: Formats, row: int, text: str, widths: Sequence[float]) -> None:
    """A note under a table, wrapped across the width of these columns (merged: a wrapped
    cell never spills into its neighbours), its row as high as its lines."""
    if len(widths) > 1:
        ws.merge_range(row, 0, row, len(widths) - 1, text, fmt.note)
    else:
        ws.write_string(row, 0, text, fmt.note)
    ws.set_row(row, LINE * text_lines(text, sum(widths) + 1.5 * (len(widths) - 1)))


def _write_totals(ws, fmt, placed: Placed, rows, label, filter_on) -> None:
    columns, total = placed.columns, placed.total
    kept = rows
    if filter_on is not None:
        at = placed.col(filter_on[0])
        kept = [row for row in rows if row[at] != filter_on[1]]
    sums: dict[str, float] = {}
    ws.write_string(total, 0, label, fmt.total)
    for c, column in enumerate(columns):
        if c == 0:
            continue
        bold = _cell_format(column.kind, fmt, bold=True)
        letter = xl_col_to_name(c)
        span = f"{letter}{placed.first + 1}:{letter}{max(placed.last, placed.first) + 1}"
        if column.total == "sum":
            value = sum(row[c] or 0 for row in kept)
            sums[column.header] = value
            cached = value / 100 if column.kind == MONEY else value
            if not rows:
                ws.write_number(total, c, 0, bold)
            elif filter_on is None:
                ws.write_formula(total, c, f"=SUM({span})", bold, cached)
            else:
                key = xl_col_to_name(placed.col(filter_on[0]))
                crit = f"{key}{placed.first + 1}:{key}{placed.last + 1}"
                ws.write_formula(
                    total, c, f'=SUMIFS({span},{crit},"<>{filter_on[1]}")', bold, cached
                )
        elif column.total.startswith("rate:"):
            num, den = column.total[5:].split("/")
            value = sums.get(num, 0) / sums[den] if sums.get(den) else 0
            n, d = placed.letter(num), placed.letter(den)
            ws.write_formula(
                total, c, f"=IF({d}{total + 1}>0,{n}{total + 1}/{d}{total + 1},0)", bold, value
            )
        else:
            ws.write_blank(total, c, None, fmt.total)


ANOMALY_COLUMNS = [
    Col("Feuille", TEXT, 18),
    Col("Cellule", TEXT, 8),
    Col("Gravité", TEXT, 13),
    Col("Code", TEXT, 26),
    Col("Message", WRAP, 70),
    Col("Valeur lue", WRAP, 20),
]


def write_anomalies(ws: Worksheet, fmt: Formats, anomalies) -> Placed:
    """One workbook's anomalies, in sheet and cell order (fiches, notifications)."""
    from ..report import sorted_anomalies

    rows = [
        [a.feuille, a.cellule, str(a.gravite), a.code, a.message, a.valeur]
        for a in sorted_anomalies(anomalies)
    ]
    return write_table(ws, fmt, ANOMALY_COLUMNS, rows)
