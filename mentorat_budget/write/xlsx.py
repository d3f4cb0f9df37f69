"""The one safe way to write a workbook, and the formats every writer shares.

- strings are never turned into formulas or links (SPEC §10);
- fixed document properties, so identical inputs give identical bytes;
- written to a temporary file beside the target, then renamed (atomic).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import xlsxwriter
from xlsxwriter.workbook import Workbook

from .. import __version__

OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": "dd/mm/yyyy",
}
EURO = '#,##0.00 "€";-#,##0.00 "€"'
PERCENT = "0.0%"
DATE = "dd/mm/yyyy"

# Document property that marks a file written by this tool as an output (bilan, fiche,
# notification), so that a batch never reads it back as an establishment workbook.
OUTPUT_PROPERTY = "mentorat-budget-sortie"
# And this one marks an annotated copy of a user's workbook: not read back either (the
# establishment corrects its own workbook, not the copy).
ANNOTATED_PROPERTY = "mentorat-budget-copie-annotee"


class Formats:
    """The shared cell formats of one workbook."""

    def __init__(self, wb: Workbook):
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        self.text = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True})
        self.bold = wb.add_format({**base, "bold": True})
        self.title = wb.add_format({**base, "bold": True, "font_size": 14, "font_color": "#1F3864"})
        self.subtitle = wb.add_format(
            {**base, "bold": True, "font_size": 12, "font_color": "#1F3864"}
        )
        self.note = wb.add_format(
            {**base, "italic": True, "font_color": "#595959", "text_wrap": True}
        )
        self.header = wb.add_format(
            {**base, "bold": True, "text_wrap": True, "bg_color": "#D9E1F2", "border": 1}
        )
        self.euro = wb.add_format({**base, "num_format": EURO})
        self.euro_bold = wb.add_format({**base, "num_format": EURO, "bold": True, "top": 1})
        self.percent = wb.add_format({**base, "num_format": PERCENT})
        self.percent_bold = wb.add_format({**base, "num_format": PERCENT, "bold": True, "top": 1})
        self.date = wb.add_format({**base, "num_format": DATE, "align": "left"})
        self.integer = wb.add_format({**base, "num_format": "0"})
        self.integer_bold = wb.add_format({**base, "num_format": "0", "bold": True, "top": 1})
        self.number = wb.add_format({**base, "num_format": "#,##0.00"})
        self.number_bold = wb.add_format({**base, "num_format": "#,##0.00", "bold": True, "top": 1})
        self.total = wb.add_format({**base, "bold": True, "top": 1})
        self.input = wb.add_format(
            {**base, "bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF"}
        )
        self.input_euro = wb.add_format(
            {
                **base,
                "bg_color": "#FFF2CC",
                "border": 1,
                "border_color": "#BFBFBF",
                "num_format": EURO,
            }
        )
        self.input_date = wb.add_format(
            {
                **base,
                "bg_color": "#FFF2CC",
                "border": 1,
                "border_color": "#BFBFBF",
                "num_format": DATE,
                "align": "left",
            }
        )


def print_setup(
    ws, repeat_rows: tuple[int, int] | None = None, portrait: bool = False, wide: bool = False
) -> None:
    """A4 (A3 for wide tables), one page wide, header rows repeated: what a finance
    officer prints."""
    ws.set_paper(8 if wide else 9)
    if not portrait:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer("&L&A&RPage &P / &N")
    if repeat_rows:
        ws.repeat_rows(*repeat_rows)


def fixed_properties(title: str, created: dt.datetime, output: bool, **extra: str) -> dict:
    custom = {"Outil": f"mentorat-budget {__version__}", **extra}
    if output:
        custom[OUTPUT_PROPERTY] = "oui"
    return {
        "properties": {
            "title": title,
            "author": "mentorat-budget",
            "company": "Plan mentorat au lycée professionnel",
            "created": created,
        },
        "custom": custom,
    }


@contextlib.contextmanager
def atomic_workbook(
    target: Path, title: str, created: dt.datetime, output: bool = True, **custom: str
) -> Iterator[Workbook]:
    """A workbook written to a temporary file beside `target`, renamed on success.

    On any error the temporary file is removed and `target` is left as it was.
    Raises OSError when the folder is not writable.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".xlsx.tmp", dir=target.parent)
    os.close(fd)
    try:
        wb = xlsxwriter.Workbook(tmp, OPTIONS)
        props = fixed_properties(title, created, output, **custom)
        wb.set_properties(props["properties"])
        for name, value in props["custom"].items():
            wb.set_custom_property(name, value)
        yield wb
        wb.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def output_workbook(target: Path, title: str, campagne: int, document: str):
    """A bilan, fiche or notification: marked as our output (never read back as an
    establishment), dated the first day of its campaign so that its bytes never vary."""
    return atomic_workbook(
        target,
        title,
        dt.datetime(campagne, 1, 1),
        output=True,
        Document=document,
        Campagne=str(campagne),
    )


# ------------------------------------------------------------------ wrapped text
#
# Neither Excel nor LibreOffice fits a row to its wrapped text when it opens a file (a
# file written by XlsxWriter or openpyxl has no row heights): text wrapped in a cell
# prints cut unless the row height is written. A column of width w (in widths of « 0 »)
# holds about 1.2 w characters of French text in Calibri or Carlito 11 (measured on
# LibreOffice's PDF); lines are counted by a greedy word wrap at 1.1 w, which errs
# towards one line too many, never one too few.
LINE_HEIGHT = 15.0  # points, Calibri 11


def wrapped_lines(text: object, width: float) -> int:
    """Lines that `text` takes in a wrapped cell `width` characters wide."""
    import textwrap

    if text is None or text == "":
        return 1
    per_line = max(1, int(width * 1.1))
    return sum(max(1, len(textwrap.wrap(part, per_line))) for part in str(text).split("\n"))


def row_height(cells, line: float = LINE_HEIGHT) -> float:
    """Points for a row whose wrapped cells, given as (text, width) pairs, show whole."""
    return line * max((wrapped_lines(text, width) for text, width in cells), default=1)
