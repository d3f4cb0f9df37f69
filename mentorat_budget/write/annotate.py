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

from xlsxwriter.worksheet import Worksheet

from ..anomalies import CODES_FICHIER_ILLISIBLE, Anomalies, Anomaly, Gravite
from ..read import RawWorkbook, read_workbook
from ..report import cell_key, sorted_anomalies
from .xlsx import ANNOTATED_PROPERTY, OPTIONS, row_height

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


# ------------------------------------------------------------------ print layout
#
# What a gestionnaire prints is the corrections list: landscape A4, one page wide, the
# messages wrapped (never cut at the page edge), the header row on every page. The
# comments of the faulty cells print after each annotated sheet (`cellComments="atEnd"`).
#
# LibreOffice (7.4 and its current sources, sc/source/filter/oox/pagesettings.cxx) turns
# its own "print comments" on, which prints them after the sheet, only for the other
# value, `asDisplayed`, which to Excel means "where they are displayed": nowhere, for
# hidden comments. One attribute cannot serve both; `atEnd` is what it means in the
# format (and what LibreOffice itself writes), so Excel prints the comments, and the
# corrections list, which holds the same text, is what prints in LibreOffice.
COMMENTS_PRINTED = "atEnd"
SUMMARY_COLUMNS = (  # header, width in characters: 147 fit A4 landscape at 100 %
    ("Feuille", 16),
    ("Cellule", 8),
    ("Gravité", 13),
    ("Code", 26),
    ("Message", 66),
    ("Valeur lue", 18),
)
SUMMARY_WRAPPED = frozenset({"Feuille", "Message", "Valeur lue"})
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6}  # inches
FOOTER_RIGHT = "Page &P / &N"


def _header_text(text: str) -> str:
    """Literal text for a page header or footer ("&" starts a code there; Excel takes at
    most 255 characters for the whole header)."""
    return text[:150].replace("&", "&&")


def _row_height(values: Sequence) -> float:
    """Points for a row of the corrections list whose wrapped cells show every line."""
    cells = zip(SUMMARY_COLUMNS, values, strict=True)
    return row_height((v, width) for (h, width), v in cells if h in SUMMARY_WRAPPED)


def _summary_rows(anomalies: Sequence[Anomaly]) -> list[tuple]:
    return [
        (a.feuille, a.cellule, str(a.gravite), a.code, a.message, a.valeur)
        for a in sorted_anomalies(anomalies)
    ]


def _print_comments_at_end(ws) -> None:
    """An openpyxl sheet prints its comments after its cells."""
    ws.page_setup.cellComments = COMMENTS_PRINTED


def _print_setup(ws, title_rows: str | None = None) -> None:
    """openpyxl: A4 landscape, one page wide and as many pages long as needed, sheet name
    and page number in the footer."""
    from openpyxl.worksheet.page import PageMargins

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(**MARGINS, header=0.3, footer=0.3)
    ws.oddFooter.left.text, ws.oddFooter.right.text = "&A", FOOTER_RIGHT
    if title_rows:
        ws.print_title_rows = title_rows


def _openpyxl_summary(wb, anomalies: Sequence[Anomaly], source_name: str):
    """The corrections list, first sheet of an openpyxl copy: the note, the header on
    row 2, one row per anomaly with a link to its cell."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    font = {"name": "Calibri", "size": 11}

    if SUMMARY_SHEET in wb.sheetnames:
        del wb[SUMMARY_SHEET]
    ws = wb.create_sheet(SUMMARY_SHEET, 0)
    top, wrap = Alignment(vertical="top"), Alignment(vertical="top", wrap_text=True)
    last = len(SUMMARY_COLUMNS)
    ws.cell(1, 1, NOTE).alignment = wrap
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    ws.row_dimensions[1].height = 32  # a merged cell is never fitted: two lines
    thin = Side(style="thin", color="808080")
    header_fill = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
    for col, (header, width) in enumerate(SUMMARY_COLUMNS, start=1):
        cell = ws.cell(2, col, header)
        cell.font, cell.fill, cell.alignment = Font(**font, bold=True), header_fill, wrap
        cell.border = Border(bottom=thin)
        ws.column_dimensions[cell.column_letter].width = width
    fills = {g: PatternFill("solid", start_color=c, end_color=c) for g, c in FILLS.items()}
    aligns = [wrap if h in SUMMARY_WRAPPED else top for h, _ in SUMMARY_COLUMNS]
    sheets, link_font = set(wb.sheetnames), Font(**font, color="0563C1", underline="single")
    for row, values in enumerate(_summary_rows(anomalies), start=3):  # no max_row: it scans
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col, value)
            cell.data_type = "s"  # text typed by the user (« =1+2 ») stays text
            cell.alignment = aligns[col - 1]
        ws.row_dimensions[row].height = _row_height(values)
        feuille, cellule = values[0], values[1]
        if feuille in sheets and cellule:
            link = ws.cell(row, 2)
            link.hyperlink = f"#'{feuille}'!{cellule}"
            link.font = link_font
        ws.cell(row, 3).fill = fills[Gravite(values[2])]
    ws.freeze_panes = "A3"
    _print_setup(ws, title_rows="2:2")
    ws.oddHeader.left.text = _header_text(f"Anomalies à corriger — {source_name}")
    return ws


def _with_openpyxl(source: Path, target: Path, anomalies: Sequence[Anomaly]) -> None:
    import openpyxl
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import PatternFill

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
        _print_comments_at_end(ws)
    ws = _openpyxl_summary(wb, anomalies, source.name)
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
            ws = wb.add_worksheet(sheet.name[:31], worksheet_class=_CommentsAtEnd)
            _xlsxwriter_print_setup(ws)
            _fit_columns(ws, sheet.rows)
            for r, row in enumerate(sheet.rows):
                for c, value in enumerate(row):
                    _write_value(ws, r, c, value, date_fmt if isinstance(value, dt.date) else None)
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
        remark = (
            "Copie reconstruite à partir des valeurs lues "
            f"({raw.format}) : la mise en forme d'origine n'est pas conservée."
        )
        sheets = {sheet.name[:31] for sheet in raw.sheets.values()}
        _xlsxwriter_summary(wb, summary, anomalies, remark, sheets, raw.path.name)
        wb.close()


class _CommentsAtEnd(Worksheet):
    """An XlsxWriter sheet whose comments print after its cells: XlsxWriter has no
    setting for `cellComments`, so it is added to the <pageSetup> element it writes."""

    def _write_page_setup(self) -> None:
        write_tag = self._xml_empty_tag

        def with_comments(tag, attributes=None):
            if tag == "pageSetup":
                attributes = [*(attributes or []), ("cellComments", COMMENTS_PRINTED)]
            write_tag(tag, attributes)

        self._xml_empty_tag = with_comments
        try:
            super()._write_page_setup()
        finally:
            del self._xml_empty_tag


def _xlsxwriter_print_setup(ws, repeat_row: int | None = None) -> None:
    """XlsxWriter: the same page setup as `_print_setup`."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(**MARGINS)
    ws.set_footer(f"&L&A&R{FOOTER_RIGHT}")
    if repeat_row is not None:
        ws.repeat_rows(repeat_row)


def _fit_columns(ws, rows: Sequence[Sequence], most: int = 60) -> None:
    """Columns of a rebuilt sheet as wide as their longest value (a date: 10), up to
    `most`, so that numbers show (not « ### ») and text is not cut at the next column.
    A row with a single value is a title: it overflows, as it did in the original."""
    import datetime as dt

    widths: list[int] = []
    for row in rows:
        if sum(1 for v in row if v not in ("", None)) < 2:
            continue
        for c, value in enumerate(row):
            n = 10 if isinstance(value, dt.date) else len(str(value)) if value is not None else 0
            if c >= len(widths):
                widths.append(0)
            widths[c] = max(widths[c], n)
    for c, n in enumerate(widths):
        if n:
            ws.set_column(c, c, min(max(n + 2, 8), most))


def _xlsxwriter_summary(wb, ws, anomalies, remark: str, sheets: set[str], source_name: str):
    """The corrections list of a rebuilt copy, laid out as `_openpyxl_summary`'s."""
    top = {"valign": "top"}
    wrap = wb.add_format({**top, "text_wrap": True})
    header = wb.add_format(
        {**top, "bold": True, "text_wrap": True, "bg_color": "#D9E1F2", "bottom": 1}
    )
    header.set_bottom_color("#808080")
    link = wb.add_format({**top, "font_color": "#0563C1", "underline": 1})
    fills = {g: wb.add_format({**top, "bg_color": "#" + c}) for g, c in FILLS.items()}
    formats = [wrap if h in SUMMARY_WRAPPED else wb.add_format(top) for h, _ in SUMMARY_COLUMNS]
    last = len(SUMMARY_COLUMNS) - 1
    ws.merge_range(0, 0, 0, last, f"{NOTE}\n{remark}", wrap)
    ws.set_row(0, 45)  # a merged cell is never fitted: three lines
    for col, (title, width) in enumerate(SUMMARY_COLUMNS):
        ws.write_string(1, col, title, header)
        ws.set_column(col, col, width)
    for row, values in enumerate(_summary_rows(anomalies), start=2):
        ws.set_row(row, _row_height(values))
        for col, value in enumerate(values):
            ws.write_string(row, col, value or "", formats[col])
        feuille, cellule, gravite = values[0], values[1], values[2]
        if feuille in sheets and cellule:
            target = "internal:'" + feuille.replace("'", "''") + "'!" + cellule
            ws.write_url(row, 1, target, link, cellule)
        ws.write_string(row, 2, gravite, fills[Gravite(gravite)])
    ws.freeze_panes(2, 0)
    _xlsxwriter_print_setup(ws, repeat_row=1)
    ws.set_header("&L" + _header_text(f"Anomalies à corriger — {source_name}"))


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


def rebuilt_copy(
    source: Path, target: Path, anomalies: Sequence[Anomaly], raw: RawWorkbook | None
) -> None:
    """The copy rebuilt from the values read, whatever the format: when openpyxl's copy
    could not be made within the limits of the reading (isolation.py)."""
    readable = not {a.code for a in anomalies if not a.feuille} & CODES_FICHIER_ILLISIBLE
    if readable and raw is None:
        raw = read_workbook(Path(source), Anomalies(str(source)))
    _rebuilt(raw or RawWorkbook(Path(source), "illisible", "", []), Path(target), anomalies)


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
