"""An annotated copy of a user's workbook: faulty cells filled and commented.

.xlsx and .xlsm are copied with openpyxl, so the user's layout, tables and
drop-downs are kept; .ods and .xls cannot be edited that way, so their copy is
rebuilt from the values read, as is an .xlsx that openpyxl refuses or complains
about. Either way, a first sheet lists every anomaly with a link to its cell. The
input file is never opened for writing.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..anomalies import CODES_FICHIER_ILLISIBLE, Anomalies, Anomaly, Gravite
from ..read import RawWorkbook, read_workbook
from ..report import cell_key, sorted_anomalies
from .xlsx import ANNOTATED_PROPERTY, OPTIONS

SUMMARY_SHEET = "Anomalies à corriger"
FILLS = {Gravite.BLOQUANT: "FFC7CE", Gravite.AVERTISSEMENT: "FFEB9C", Gravite.INFORMATION: "DDEBF7"}
AUTHOR = "mentorat-budget"
NOTE = (
    "Copie annotée par mentorat-budget : corrigez les cellules signalées dans votre "
    "classeur d'origine, puis renvoyez-le (pas cette copie)."
)


def _comments(anomalies: Sequence[Anomaly]) -> dict[tuple[str, str], list[Anomaly]]:
    by_cell: dict[tuple[str, str], list[Anomaly]] = {}
    for a in anomalies:
        if a.feuille and a.cellule:
            by_cell.setdefault((a.feuille, a.cellule), []).append(a)
    return by_cell


def _comment_text(items: list[Anomaly]) -> str:
    return "\n".join(f"{a.gravite} ({a.code}) : {a.message}" for a in items)


def _worst(items: list[Anomaly]) -> Gravite:
    return min((a.gravite for a in items), key=list(Gravite).index)


@contextlib.contextmanager
def _temporary(target: Path):
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=target.suffix + ".tmp", dir=target.parent
    )
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _with_openpyxl(source: Path, target: Path, anomalies: Sequence[Anomaly]) -> None:
    import openpyxl
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import Font, PatternFill

    # From bytes: openpyxl refuses a path whose extension is not .xlsx (a renamed file).
    wb = openpyxl.load_workbook(
        io.BytesIO(source.read_bytes()), keep_vba=target.suffix.lower() == ".xlsm", rich_text=False
    )
    for (feuille, cellule), items in _comments(anomalies).items():
        if feuille not in wb.sheetnames:
            continue
        ws = wb[feuille]
        cell = ws[cellule]
        if isinstance(cell, MergedCell):
            merged = next((r for r in ws.merged_cells.ranges if cellule in r), None)
            cell = ws.cell(merged.min_row, merged.min_col) if merged else None
        if cell is None:
            continue
        text = _comment_text(items)
        if cell.comment is not None:
            text = f"{cell.comment.text}\n{text}"
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 420, 40 + 20 * text.count("\n") + len(text) // 3
        cell.comment = comment
        color = FILLS[_worst(items)]
        cell.fill = PatternFill("solid", start_color=color, end_color=color)
    if SUMMARY_SHEET in wb.sheetnames:
        del wb[SUMMARY_SHEET]
    ws = wb.create_sheet(SUMMARY_SHEET, 0)
    ws.append([NOTE])
    ws.append(["Feuille", "Cellule", "Gravité", "Code", "Message", "Valeur lue"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    fills = {g: PatternFill("solid", start_color=c, end_color=c) for g, c in FILLS.items()}
    sheets, link_font = set(wb.sheetnames), Font(color="0563C1", underline="single")
    for row, a in enumerate(sorted_anomalies(anomalies), start=3):  # no max_row: it scans
        values = (a.feuille, a.cellule, str(a.gravite), a.code, a.message, a.valeur)
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col, value)
            cell.data_type = "s"  # text typed by the user (« =1+2 ») stays text
        if a.feuille in sheets and a.cellule:
            link = ws.cell(row, 2)
            link.hyperlink = f"#'{a.feuille}'!{a.cellule}"
            link.font = link_font
        ws.cell(row, 3).fill = fills[a.gravite]
    for letter, width in zip("ABCDEF", (22, 10, 14, 24, 100, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A3"
    if not any(p.name == ANNOTATED_PROPERTY for p in wb.custom_doc_props):
        wb.custom_doc_props.append(StringProperty(name=ANNOTATED_PROPERTY, value="oui"))
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws
    with _temporary(target) as tmp:
        wb.save(tmp)


def _rebuilt(raw: RawWorkbook, target: Path, anomalies: Sequence[Anomaly]) -> None:
    """A copy rebuilt from the values read, for formats openpyxl cannot edit."""
    import datetime as dt

    import xlsxwriter

    by_cell = _comments(anomalies)
    with _temporary(target) as tmp:
        wb = xlsxwriter.Workbook(tmp, OPTIONS)
        wb.set_properties({"author": AUTHOR, "created": dt.datetime(2000, 1, 1)})
        wb.set_custom_property(ANNOTATED_PROPERTY, "oui")
        fills = {g: wb.add_format({"bg_color": "#" + c}) for g, c in FILLS.items()}
        date_fills = {
            g: wb.add_format({"bg_color": "#" + c, "num_format": "dd/mm/yyyy"})
            for g, c in FILLS.items()
        }
        date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
        summary = wb.add_worksheet(SUMMARY_SHEET)
        for sheet in raw.sheets.values():
            ws = wb.add_worksheet(sheet.name[:31])
            for r, row in enumerate(sheet.rows):
                for c, value in enumerate(row):
                    _write_value(ws, r, c, value, date_fmt)
            for (feuille, cellule), items in by_cell.items():
                if feuille != sheet.name:
                    continue
                r, c = cell_key(cellule)
                value = (
                    sheet.rows[r - 1][c - 1]
                    if r <= len(sheet.rows) and c <= len(sheet.rows[r - 1])
                    else None
                )
                worst = _worst(items)
                is_date = isinstance(value, dt.date)
                _write_value(
                    ws, r - 1, c - 1, value, (date_fills if is_date else fills)[worst], blank=True
                )
                ws.write_comment(
                    r - 1, c - 1, _comment_text(items), {"author": AUTHOR, "x_scale": 2}
                )
        bold = wb.add_format({"bold": True})
        summary.write_row(
            0, 0, ["Feuille", "Cellule", "Gravité", "Code", "Message", "Valeur lue"], bold
        )
        for i, a in enumerate(sorted_anomalies(anomalies), start=1):
            summary.write_row(
                i, 0, [a.feuille, a.cellule, str(a.gravite), a.code, a.message, a.valeur]
            )
        summary.set_column(0, 0, 22)
        summary.set_column(4, 4, 100)
        summary.write(
            len(anomalies) + 2,
            0,
            "Copie reconstruite à partir des valeurs lues "
            f"({raw.format}) : la mise en forme d'origine n'est pas conservée.",
        )
        wb.close()


def _write_value(ws, r: int, c: int, value: object, cell_format, blank: bool = False) -> None:
    import datetime as dt

    if isinstance(value, dt.datetime | dt.date):
        ws.write_datetime(r, c, value, cell_format)
    elif value not in ("", None) and not isinstance(value, dt.time | dt.timedelta):
        ws.write(r, c, value, cell_format)
    elif blank:
        ws.write_blank(r, c, None, cell_format)


def annotate(
    source: Path, target: Path, anomalies: Sequence[Anomaly], raw: RawWorkbook | None
) -> None:
    """Write the annotated copy of `source` to `target` (never `source` itself).

    An .xlsx or .xlsm is copied with openpyxl, unless a sheet was refused as too large
    (openpyxl would load it whole): that copy, and those of other formats, are rebuilt
    from the values read (`raw`, read here when not given).
    """
    source, target = Path(source), Path(target)
    if target.exists() and target.resolve() == source.resolve():
        raise ValueError("la copie annotée doit être un autre fichier que le classeur lu")
    # A file refused whole has nothing to copy; a refused sheet must not reach openpyxl.
    readable = not {a.code for a in anomalies if not a.feuille} & CODES_FICHIER_ILLISIBLE
    refusals = ("FIC-LIGNES", "FEU-ILLISIBLE", "FIC-CORROMPU")
    sheet_refused = any(a.code in refusals for a in anomalies)
    if readable and raw is None:
        raw = read_workbook(source, Anomalies(str(source)))
    editable = readable and raw is not None and raw.format in ("xlsx", "xlsm")
    if editable and not sheet_refused and _copied_with_openpyxl(source, target, anomalies):
        return
    _rebuilt(raw or RawWorkbook(source, "illisible", "", []), target, anomalies)


def _copied_with_openpyxl(source: Path, target: Path, anomalies: Sequence[Anomaly]) -> bool:
    """The copy made by openpyxl; False when openpyxl refuses the file (an error) or
    complains about it (a warning: part of the file would be dropped or read otherwise
    than calamine read it), and the copy is then rebuilt from the values read. Nothing
    openpyxl says reaches the user: its messages are English. An output that cannot be
    written (OSError) is the caller's to report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _with_openpyxl(source, target, anomalies)
        except OSError:
            raise
        except Exception:
            return False
    return not caught
