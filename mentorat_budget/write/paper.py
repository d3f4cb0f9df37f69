"""How a sheet of the bilan prints: A4, its header row on every page, a footer with the
campaign, the sheet and « page N / M », and a width fitted to the sheet's shape.

A sheet narrow enough is printed one page wide (portrait when it fits, else landscape) at
whatever scale the spreadsheet computes, never below MIN_SCALE since we only ask for it
when the sheet fits at that scale. A wider one is cut into groups of whole columns,
printed side by side at one fixed scale, each page with the key columns (UAI,
Établissement…) repeated on its left: print titles, manual column breaks and a fixed
scale are the page setup that Excel and LibreOffice both honour (a « fit to » scale
makes both ignore manual breaks).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from xlsxwriter.worksheet import Worksheet

MIN_SCALE = 70  # %: Calibri 11 printed at 7.7 pt, the smallest a finance officer gets
MARGIN = 0.4  # inches, left and right
# What is printable across an A4 page, in pixels at 100 % (96 per inch), with 3 % kept
# for the difference between our estimate of the column widths and the application's.
_PORTRAIT = (8.27 - 2 * MARGIN) * 96 * 0.97
_LANDSCAPE = (11.69 - 2 * MARGIN) * 96 * 0.97


# Calibri's advance widths in 1/2048 em, read from Carlito (its metric twin, the font
# LibreOffice prints it with) for the characters a bilan holds; others count as wide.
_CLASSES = (
    (452, "'"),
    (463, " \u202f"),
    (470, "ilîï"),
    (490, "j"),
    (511, ",’"),
    (516, "IÎÏ"),
    (517, "."),
    (548, ":;"),
    (596, "`"),
    (621, "()"),
    (625, "f"),
    (627, "-"),
    (628, "[]"),
    (644, "{}"),
    (653, "J"),
    (667, "!"),
    (686, "t"),
    (694, "°"),
    (714, "r"),
    (791, "/\\"),
    (801, "s"),
    (809, "z"),
    (821, '"'),
    (861, "L"),
    (866, "cç"),
    (887, "x"),
    (925, "v"),
    (927, "yÿ"),
    (931, "k"),
    (941, "FS"),
    (943, "|"),
    (949, "?"),
    (959, "Z"),
    (964, "g"),
    (981, "aàâä"),
    (998, "TY"),
    (1000, "EÉÈÊË"),
    (1019, "eéèêë"),
    (1020, "#*+<=>^_~–×"),
    (1038, "$0123456789€\u00a0"),
    (1049, "«»"),
    (1058, "P"),
    (1063, "X"),
    (1064, "K"),
    (1076, "bdhnpquùûü"),
    (1080, "oôö"),
    (1092, "CÇ"),
    (1112, "R"),
    (1114, "B"),
    (1162, "V"),
    (1185, "AÀÂÄ"),
    (1260, "D"),
    (1276, "H"),
    (1292, "G"),
    (1314, "UÙÛÜ"),
    (1322, "N"),
    (1356, "OÔÖ"),
    (1378, "Q"),
    (1397, "&"),
    (1414, "…"),
    (1464, "%w"),
    (1563, "Æ"),
    (1583, "æ"),
    (1636, "m"),
    (1740, "œ"),
    (1751, "M"),
    (1775, "Œ"),
    (1822, "W"),
    (1831, "@"),
    (1854, "—"),
)
_ADVANCE = {ch: width for width, chars in _CLASSES for ch in chars}
_UNKNOWN = 1414
_EM = 11 * 96 / 72  # pixels per em: Calibri 11 at 96 dots per inch
LINE = 15  # points per line of Calibri 11, Excel's row height


@functools.lru_cache(maxsize=1 << 16)  # names, files, categories, reasons repeat by row
def text_lines(text: object, width: float, bold: bool = False) -> int:
    """The lines a wrapped text takes in a column of that width (characters), broken as
    Excel and LibreOffice break it: at spaces and after hyphens or slashes (a piece wider
    than the column is cut anywhere)."""
    text = str(text)
    room = (column_pixels(width) - 6) * 2048 / _EM / (1.02 if bold else 1.0)
    if "\n" not in text and len(text) * 1854 <= room:
        return 1  # the common case, without measuring
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0.0
        for i, word in enumerate(paragraph.split(" ")):
            gap = 463 if i else 0  # the space before the word
            for piece in _BREAKS.split(word):
                size = sum(_ADVANCE.get(ch, _UNKNOWN) for ch in piece)
                if used and used + gap + size > room:
                    lines, used, gap = lines + 1, 0.0, 0
                if size > room and not used:
                    extra, size = divmod(size, room)
                    lines += int(extra)
                used += gap + size
                gap = 0
    return lines


_BREAKS = re.compile(r"(?<=[-/])")


def column_pixels(width: float) -> int:
    """A column width in characters as Excel draws it in pixels (Calibri 11: 7 pixels
    per digit and 5 of padding), the rule XlsxWriter uses too: the room for text."""
    return int(width * 7 + 0.5) + 5 if width >= 1 else int(width * 12 + 0.5)


def printed_pixels(width: float) -> float:
    """The same column as LibreOffice prints it, wider: it counts the width XlsxWriter
    stores (padding included) in Carlito's true digit width, 7.43 pixels (measured on
    its PDF export). Pages are planned with this one, so that they hold in both."""
    return (width + 5 / 7) * 7.45


@dataclass(frozen=True)
class Plan:
    landscape: bool
    scale: int  # %, as we estimate it
    fit: bool  # one page wide, the exact scale left to the application
    pages: tuple[tuple[int, int], ...]  # columns (first, last) of each page across
    key: int = 0  # leading columns repeated on every page across

    @property
    def across(self) -> int:
        return len(self.pages)

    @property
    def breaks(self) -> list[int]:
        """The first column of each page after the first (XlsxWriter's column breaks)."""
        return [first for first, _ in self.pages[1:]]


def plan(
    widths: Sequence[float],
    key: int = 0,
    starts: Sequence[int] = (),
    portrait: bool = False,
    extra_pixels: int = 0,
) -> Plan:
    """The print plan of columns of these widths (characters).

    `key`: how many leading columns identify a row (repeated on each page when the sheet
    is cut); `starts`: the first columns of the groups that should stay together (the
    cuts fall there, unless a group alone is wider than a page); `portrait`: the sheet
    reads best upright when it fits; `extra_pixels`: what stands out to the right of the
    last column (a chart).
    """
    pixels = [printed_pixels(w) for w in widths]
    total = sum(pixels) + extra_pixels
    last = len(widths) - 1
    if portrait and total * MIN_SCALE / 100 <= _PORTRAIT:
        return Plan(False, _scale(_PORTRAIT, total), True, ((0, last),))
    if total * MIN_SCALE / 100 <= _LANDSCAPE or key == 0:
        return Plan(True, _scale(_LANDSCAPE, total), True, ((0, last),))
    key_width = sum(pixels[:key])
    capacity = _LANDSCAPE * 100 / MIN_SCALE - key_width
    # The places a page may start: each group, and inside a group too wide for a page.
    cuts = sorted({s for s in starts if key < s <= last} | {key})
    places: list[int] = []
    for first, end in zip(cuts, [*cuts[1:], last + 1], strict=True):
        places += [a for a, _ in _pieces(first, end - 1, pixels, capacity)]
    pages = _balanced(places, last, pixels, capacity)
    widest = key_width + max(sum(pixels[a : b + 1]) for a, b in pages)
    pages[0] = (0, pages[0][1])
    return Plan(True, _scale(_LANDSCAPE, widest), False, tuple(pages), key)


def _balanced(
    places: list[int], last: int, pixels: list[float], capacity: float
) -> list[tuple[int, int]]:
    """The fewest pages that hold the columns from places[0] to `last`, each starting at
    one of the places; of those, the cut whose widest page is narrowest (the largest
    scale). A handful of places: every combination is tried."""
    width = lambda a, b: sum(pixels[a : b + 1])  # noqa: E731
    for n in range(1, len(places) + 1):
        best = None
        for inner in itertools.combinations(places[1:], n - 1):
            firsts = [places[0], *inner]
            pages = list(zip(firsts, [f - 1 for f in firsts[1:]] + [last], strict=True))
            widest = max(width(a, b) for a, b in pages)
            if widest <= capacity and (best is None or widest < best[0]):
                best = (widest, pages)
        if best is not None:
            return best[1]
    return list(zip(places, [f - 1 for f in places[1:]] + [last], strict=True))


def _scale(printable: float, pixels: float) -> int:
    return max(10, min(100, math.floor(100 * printable / pixels)))


def _pieces(first: int, end: int, pixels: list[int], capacity: float) -> list[tuple[int, int]]:
    """A group of columns, cut where it must be to fit the capacity (whole columns)."""
    pieces, start, used = [], first, 0
    for c in range(first, end + 1):
        if used and used + pixels[c] > capacity:
            pieces.append((start, c - 1))
            start, used = c, 0
        used += pixels[c]
    pieces.append((start, end))
    return pieces


def footer(campagne: int) -> str:
    """Campaign on the left, the sheet's name in the middle, « page N / M » on the right
    (numbered through the whole bilan when it is printed at once)."""
    return f"&L&10Bilan du Plan mentorat — campagne {campagne}&C&10&A&R&10page &P / &N"


def apply(
    ws: Worksheet,
    layout: Plan,
    campagne: int,
    header_row: int | None = None,
    row_breaks: Sequence[int] = (),
) -> None:
    """Set the sheet's page setup from its plan."""
    ws.set_paper(9)  # A4
    if layout.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=MARGIN, right=MARGIN, top=0.5, bottom=0.6)
    # Not scaled with the sheet in Excel; LibreOffice scales it all the same (10 pt at
    # 70 % is 7 pt there).
    ws.set_footer(footer(campagne), {"margin": 0.25, "scale_with_doc": False})
    if layout.fit and not row_breaks:
        ws.fit_to_pages(1, 0)
    else:  # manual breaks: only a fixed scale keeps them (Excel and LibreOffice)
        ws.set_print_scale(layout.scale)
    if layout.across > 1:
        ws.repeat_columns(0, layout.key - 1)
        ws.set_v_pagebreaks(layout.breaks)
        ws.print_across()  # a row band's pages one after the other
    if header_row is not None:
        ws.repeat_rows(header_row)
    if row_breaks:
        ws.set_h_pagebreaks(list(row_breaks))
