"""Raw sheets -> typed columns + anomalies, driven by schema.py (one workbook).

Headers are found loosely (below up to 10 title rows), each cell is typed by its
column's kind, and the constraints of one cell are checked: required, minimum, lists.
Checks across rows and sheets run on many workbooks at once, in checks.py.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from . import values as v
from .anomalies import Anomalies
from .read import RawSheet, RawWorkbook
from .rules import Rules
from .schema import (
    ETABLISSEMENT,
    IGNORED_SHEETS,
    SHEETS,
    Column,
    Kind,
    Sheet,
    header_lookup,
    list_lookup,
    sheet_for_name,
)

TITLE_ROWS = 10  # the header row may come after this many title rows (blank rows do not count)
ROW = "ligne"  # Excel row number of each typed row
KEY = "cle_"  # prefix of the upper-cased copy of a code, to match codes loosely


def matched(column: Column) -> bool:
    """Columns whose values are matched against codes (case and spaces do not matter)."""
    return column.kind is Kind.CODE or column.key == "paye_a"


PARSERS: dict[Kind, Callable[[object], object]] = {
    Kind.TEXT: v.parse_text,
    Kind.CODE: v.parse_text,
    Kind.CODES: v.parse_text,
    Kind.MONEY: v.parse_money,
    Kind.DATE: v.parse_date,
    Kind.INT: v.parse_int,
    Kind.NUMBER: v.parse_number,
    Kind.BOOL: v.parse_bool,
    Kind.UAI: v.parse_uai,
    Kind.YEAR: v.parse_year,
    Kind.SIRET: v.parse_siret,
    Kind.RNA: v.parse_rna,
}
MINIMUM_CODES = {"ge0": "VAL-NEGATIF", "gt0": "VAL-POSITIF", "ge1": "VAL-MINIMUM"}


def letters(index: int) -> str:
    """0 -> A, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


@dataclass
class Table:
    """One typed sheet: a typed column per schema key, plus the Excel row of each line."""

    sheet: Sheet
    name: str  # the sheet's name in the user's file
    columns: dict[str, object] = field(default_factory=dict)  # packed: see `pack`
    letters: dict[str, str] = field(default_factory=dict)  # column key -> A, B…
    header_row: int = 1

    def cell(self, key: str, ligne: int) -> str:
        return f"{self.letters.get(key, '')}{ligne}"

    @property
    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (built on demand: a batch concatenates the columns of
        many workbooks instead, see lot.py)."""
        return frame_of(self.sheet, [self.columns])


@dataclass
class Parsed:
    """An establishment workbook, typed, with the anomalies of reading and typing.

    This is what a batch worker sends back: plain data, no DataFrame.
    """

    path: Path
    fichier: str
    anomalies: Anomalies
    format: str = ""
    sha256: str = ""
    lisible: bool = False
    campagne: int | None = None  # of the rules the workbook was typed with
    etablissement: dict[str, object] = field(default_factory=dict)
    etablissement_cells: dict[str, str] = field(default_factory=dict)
    etablissement_sheet: str = ETABLISSEMENT.name
    tables: dict[str, Table] = field(default_factory=dict)
    raw: RawWorkbook | None = None  # kept for the annotated copy of .ods and .xls files


# ---------------------------------------------------------------- typed columns


_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min  # numpy's NaT


def pack(column: Column, data: list) -> object:
    """Typed values (None where missing) -> a compact column: numpy arrays for numbers,
    booleans and dates, a list for text. Cheap to send between processes."""
    kind = column.kind
    if kind in (Kind.MONEY, Kind.INT, Kind.YEAR, Kind.BOOL):
        if None in data:
            mask = np.array([x is None for x in data], bool)
            data = [0 if x is None else x for x in data]
        else:  # the usual column: no missing value
            mask = np.zeros(len(data), bool)
        if kind is Kind.BOOL:
            return ("boolean", np.array(data, bool), mask)
        return ("Int64", np.array(data, np.int64), mask)
    if kind is Kind.NUMBER:
        if None in data:
            data = [np.nan if x is None else x for x in data]
        return np.array(data, np.float64)
    if kind is Kind.DATE:  # via day numbers: numpy converts date objects slowly
        days = [_NAT if x is None else x.toordinal() - _EPOCH_ORDINAL for x in data]
        return np.array(days, np.int64).view("datetime64[D]").astype("datetime64[s]")
    return list(data)


def unpack(column: Column, parts: list[object]) -> object:
    """Several packed columns (one per workbook) -> one pandas array."""
    kind = column.kind
    if kind in (Kind.MONEY, Kind.INT, Kind.YEAR, Kind.BOOL):
        values = np.concatenate([p[1] for p in parts]) if parts else np.array([], np.int64)
        mask = np.concatenate([p[2] for p in parts]) if parts else np.array([], bool)
        if kind is Kind.BOOL:
            return pd.arrays.BooleanArray(values.astype(bool), mask)
        return pd.arrays.IntegerArray(values.astype(np.int64), mask)
    if kind is Kind.NUMBER:
        return pd.array(np.concatenate(parts) if parts else np.array([]), dtype="Float64")
    if kind is Kind.DATE:
        return np.concatenate(parts) if parts else np.array([], dtype="datetime64[s]")
    flat = [x for part in parts for x in part]
    return pd.array(flat, dtype="string")


def frame_of(sheet: Sheet, tables: list[dict[str, object]], ids: list[int] | None = None):
    """One DataFrame from the packed columns of one or several workbooks (with `id`)."""
    data = {c.key: unpack(c, [t[c.key] for t in tables]) for c in sheet.columns}
    for c in filter(matched, sheet.columns):
        data[KEY + c.key] = np.array([x for t in tables for x in t[KEY + c.key]], dtype=object)
    rows = [t[ROW] for t in tables]
    data[ROW] = np.concatenate(rows) if rows else np.array([], np.int64)
    if ids is not None:
        data["id"] = np.repeat(np.array(ids, np.int64), [len(r) for r in rows])
    return pd.DataFrame(data)


def empty_columns(sheet: Sheet) -> dict[str, object]:
    columns = {c.key: pack(c, []) for c in sheet.columns}
    columns.update({KEY + c.key: [] for c in sheet.columns if matched(c)})
    columns[ROW] = np.array([], np.int64)
    return columns


# ------------------------------------------------------------------------ cells


@dataclass
class TypingContext:
    anomalies: Anomalies
    rules: Rules
    lookups: dict[str, dict[str, str]] = field(default_factory=dict)

    def lookup(self, name: str) -> dict[str, str]:
        if name not in self.lookups:
            self.lookups[name] = list_lookup(name, self.rules)
        return self.lookups[name]


def _choices_text(column: Column, ctx: TypingContext) -> str:
    shown = list(dict.fromkeys(ctx.lookup(column.choices).values()))
    if column.choices == "categories":
        shown = [c.libelle for c in ctx.rules.categories]
    return ", ".join(shown)


def _report(
    ctx: TypingContext, sheet_name: str, cell: str, column: Column, raw: object, err: v.Illisible
) -> None:
    extra = {}
    if err.code in ("VAL-LISTE", "ELV-FILIERE"):
        extra["choix"] = _choices_text(column, ctx)
    ctx.anomalies.add(
        err.code, sheet_name, cell, raw, colonne=column.header, detail=err.detail, **extra
    )


# A value below the column's minimum (by the minimum's name)
_BELOW = {"ge0": lambda x: x < 0, "gt0": lambda x: x <= 0, "ge1": lambda x: x < 1}


def _report_minimum(
    ctx: TypingContext, sheet: str, cell: str, column: Column, value: object
) -> bool:
    """Report a value below the column's minimum; True when the value stays usable."""
    code = MINIMUM_CODES[column.minimum]
    if column.kind is Kind.MONEY and column.minimum == "gt0" and value < 0:  # type: ignore[operator]
        code = "VAL-AVOIR"  # a credit note typed as a negative expense: say how to record it
    shown = v.euros(value) if column.kind is Kind.MONEY else value  # type: ignore[arg-type]
    ctx.anomalies.add(code, sheet, cell, shown, colonne=column.header, minimum=1)
    # A money amount stays in the data so that every euro read is accounted for.
    return column.kind is Kind.MONEY


def _parser(column: Column, ctx: TypingContext) -> Callable[[object], object]:
    """The function that types one non-empty cell of this column (raises v.Illisible).

    List values are looked up loosely, each distinct text once per workbook."""
    if column.kind is not Kind.LIST:
        return PARSERS[column.kind]
    lookup, seen, code = ctx.lookup(column.choices), {}, column.list_code

    def parse_list(raw: object) -> object:
        if raw in seen:
            value = seen[raw]
        else:
            value = seen[raw] = lookup.get(v.norm(raw))
        if value is None:
            raise v.Illisible(code)
        return value

    return parse_list


_OUI_NON = {"Oui": True, "Non": False, True: True, False: False}


def _typed(kind: Kind, raws: list, missing: list[bool], parse, default) -> list:
    """One column typed in one comprehension; the cell class calamine gives for a
    well-typed cell is read inline (the same value `parse` would give), others through
    `parse` (which raises v.Illisible)."""
    cells = zip(raws, missing, strict=True)
    if kind in (Kind.TEXT, Kind.CODE, Kind.CODES):
        return [
            default if empty else raw.strip() if raw.__class__ is str else parse(raw)
            for raw, empty in cells
        ]
    if kind is Kind.NUMBER:
        top = v.MAX_NUMBER
        return [
            default if empty else raw if raw.__class__ is float and -top < raw < top else parse(raw)
            for raw, empty in cells
        ]
    if kind is Kind.DATE:
        return [
            default if empty else raw if raw.__class__ is date else parse(raw)
            for raw, empty in cells
        ]
    if kind is Kind.BOOL:  # as the template's list writes them, else through parse
        known = _OUI_NON
        return [
            default if empty else known[raw] if raw in known else parse(raw) for raw, empty in cells
        ]
    return [default if empty else parse(raw) for raw, empty in cells]


def _column_values(
    column: Column, raws: list, rows: list[int], letter: str, sheet: str, ctx: TypingContext
) -> tuple[list, list[bool]]:
    """Typed values of one column (None where empty or unreadable), and the missing mask.

    This runs once per cell of a batch: a column is typed in one comprehension, and only a
    column with an unreadable cell goes through the slower loop that reports it."""
    parse, default = _parser(column, ctx), column.default
    missing = [(raw.__class__ is str and not raw.strip()) or raw is None for raw in raws]
    try:
        out = _typed(column.kind, raws, missing, parse, default)
    except v.Illisible:
        out = []
        for raw, empty, ligne in zip(raws, missing, rows, strict=True):
            try:
                out.append(default if empty else parse(raw))
            except v.Illisible as err:
                _report(ctx, sheet, f"{letter}{ligne}", column, raw, err)
                out.append(None)
    if column.minimum:
        below = _BELOW[column.minimum]
        for i in [i for i, x in enumerate(out) if x is not None and below(x)]:
            if not missing[i] and not _report_minimum(
                ctx, sheet, f"{letter}{rows[i]}", column, out[i]
            ):
                out[i] = None
    return out, missing


# ----------------------------------------------------------------------- tables


def _blank_row(row: list) -> bool:
    return row.count("") == len(row) or all(v.is_empty(c) for c in row)


def filled_rows(rows: list[list], count: int = TITLE_ROWS + 1) -> list[tuple[int, list]]:
    """The first `count` rows that hold something, with their index: blank rows do not
    count among the title rows (nor do blank columns on the left: a row is searched whole)."""
    found: list[tuple[int, list]] = []
    for r, row in enumerate(rows):
        if not _blank_row(row):
            found.append((r, row))
            if len(found) >= count:
                break
    return found


def find_header(rows: list[list], lookup: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    """The header row among the first filled rows, and column index -> column key."""
    best: tuple[int, dict[int, str]] | None = None
    for r, row in filled_rows(rows):
        found = {
            i: lookup[k]
            for i, cell in enumerate(row)
            if isinstance(cell, str) and (k := v.norm(cell)) in lookup
        }
        if found and (best is None or len(set(found.values())) > len(set(best[1].values()))):
            best = (r, found)
    return best


MAX_FILLED = 1_500_000  # cells filled from merged areas, in one sheet


def _unmerged(raw: RawSheet, header_index: int, ctx: TypingContext) -> list[list]:
    """The rows, with each merged area below the header filled with its value: a merged
    cell reads as it looks, one value on every line it covers (and a warning)."""
    body_merges = [m for m in raw.merged if m[1][0] > header_index]
    if not body_merges:
        return raw.rows
    rows = [list(row) for row in raw.rows]
    width = max((len(r) for r in rows), default=0)
    budget = MAX_FILLED  # thousands of merged areas over the whole sheet would take hours
    for (r0, c0), (r1, c1) in body_merges:
        # within the cells read: an area declared to XFD1048576 fills no more than them
        r1, c1 = min(r1, len(rows) - 1), min(c1, width - 1)
        budget -= max(r1 - r0 + 1, 0) * max(c1 - c0 + 1, 0)
        if r0 > r1 or c0 > c1 or budget < 0:
            continue
        value = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, r1 + 1):
            rows[r].extend([""] * (c1 + 1 - len(rows[r])))
            for c in range(c0, c1 + 1):
                rows[r][c] = value
        area = f"{letters(c0)}{r0 + 1}:{letters(c1)}{r1 + 1}"
        ctx.anomalies.add("VAL-FUSION", raw.name, f"{letters(c0)}{r0 + 1}", value, plage=area)
    return rows


def _is_blank(row: list, indexes: list[int]) -> bool:
    if row.count("") == len(row):  # the usual empty row, checked in C
        return True
    return all(v.is_empty(row[i]) if i < len(row) else True for i in indexes)


# Tables whose emptiness is worth a warning (SPEC §5.3): what is missing, what to do.
EMPTY_TABLES = {
    "depenses": (
        "aucune dépense saisie",
        "saisissez une ligne par dépense payée sur les crédits du mentorat ; sans dépense, "
        "toute la dotation reste en reliquat",
    ),
    "eleves": (
        "aucun élève saisi",
        "saisissez une ligne par élève mentoré ; sans élève mentoré, le plafond est de 0 €",
    ),
}


def _first_filled(row: list) -> int | None:
    for i, cell in enumerate(row):
        if cell is not None and (cell.__class__ is not str or cell.strip()):
            return i
    return None


_REFUSED = ("FIC-LIGNES", "FEU-ILLISIBLE")  # a sheet left unread: already said


def _empty_table(sheet: Sheet, name: str, cell: str, ctx: TypingContext) -> None:
    refused = any(a.feuille == name and a.code in _REFUSED for a in ctx.anomalies)
    if sheet.key in EMPTY_TABLES and not refused:
        quoi, aide = EMPTY_TABLES[sheet.key]
        ctx.anomalies.add("FEU-VIDE", name, cell, quoi=quoi, aide=aide)


def _no_header(sheet: Sheet, raw: RawSheet, ctx: TypingContext) -> None:
    """A sheet without its header: one anomaly if it holds anything (never an empty table
    read in silence), the empty-sheet warning if it holds nothing."""
    first = next(((r, row) for r, row in enumerate(raw.rows) if not _blank_row(row)), None)
    if first is None:
        _empty_table(sheet, raw.name, "A1", ctx)
        return
    r, row = first
    titles = ", ".join(f"« {c.header} »" for c in sheet.columns if c.required)
    ctx.anomalies.add(
        "FEU-ENTETE",
        raw.name,
        f"{letters(_first_filled(row) or 0)}{r + 1}",
        detail=f"aucun des titres de colonne attendus, comme {titles}, dans les "
        f"{TITLE_ROWS + 1} premières lignes remplies",
    )


def type_table(sheet: Sheet, raw: RawSheet, ctx: TypingContext) -> Table:
    header = find_header(raw.rows, header_lookup(sheet))
    if header is None:
        _no_header(sheet, raw, ctx)
        return Table(sheet, raw.name, empty_columns(sheet))
    header_index, found = header
    positions: dict[str, int] = {}
    for index, key in found.items():
        if key in positions:
            ctx.anomalies.add(
                "COL-DOUBLON",
                raw.name,
                f"{letters(index)}{header_index + 1}",
                raw.rows[header_index][index],
                colonne=sheet.column(key).header,
                premiere=letters(positions[key]),
            )
        else:
            positions[key] = index
    for column in sheet.columns:
        if column.required and column.key not in positions:
            ctx.anomalies.add(
                "COL-MANQUANTE", raw.name, f"A{header_index + 1}", colonne=column.header
            )
    indexes = list(positions.values())
    rows = _unmerged(raw, header_index, ctx)
    first = indexes[0]  # find_header found at least one column
    body = [  # a row whose first column read is filled is kept without a call
        (r + 1, row)
        for r, row in enumerate(rows[header_index + 1 :], start=header_index + 1)
        if (
            first < len(row)
            and (cell := row[first]) is not None
            and (cell.__class__ is not str or cell.strip())
        )
        or not _is_blank(row, indexes)
    ]
    totals = _total_rows(sheet, body, positions, raw.name, ctx)
    if totals:
        body = [line for n, line in enumerate(body) if n not in totals]
    if not body:
        _empty_table(sheet, raw.name, f"{letters(first)}{header_index + 2}", ctx)
    lignes = [ligne for ligne, _ in body]
    width = max((len(row) for _, row in body), default=0)
    padded = (row if len(row) == width else [*row, *[""] * (width - len(row))] for _, row in body)
    # One transposition of the body: each column of the sheet as a tuple of cells.
    by_column = list(zip(*padded, strict=True))
    table = Table(sheet, raw.name, header_row=header_index + 1)
    data: dict[str, object] = {}
    for column in sheet.columns:
        if column.key not in positions:
            data[column.key] = pack(column, [column.default] * len(body))
            if matched(column):
                data[KEY + column.key] = [None] * len(body)
            continue
        i = positions[column.key]
        letter = letters(i)
        table.letters[column.key] = letter
        raws = by_column[i] if i < len(by_column) else [""] * len(body)
        typed, missing = _column_values(column, raws, lignes, letter, raw.name, ctx)
        specials = raw.special and True in missing
        for ligne, is_missing in zip(lignes, missing, strict=True) if specials else ():
            cell = f"{letter}{ligne}"
            if is_missing and cell in raw.special:  # calamine reads these as empty
                code, shown = raw.special[cell]
                ctx.anomalies.add(code, raw.name, cell, shown, colonne=column.header)
        if column.required and column.missing_code and True in missing:
            for ligne, is_missing in zip(lignes, missing, strict=True):
                if is_missing and f"{letter}{ligne}" not in raw.special:
                    ctx.anomalies.add(
                        column.missing_code,
                        raw.name,
                        f"{letter}{ligne}",
                        colonne=column.header,
                        aide=column.help,
                    )
        data[column.key] = pack(column, typed)
        if matched(column):
            data[KEY + column.key] = [x.strip().upper() if x else None for x in typed]
    data[ROW] = np.array(lignes, np.int64)
    table.columns = data
    return table


# ------------------------------------------------------------------ total rows

# On norm()ed text: « Total », « Sous-total », « TOTAUX », « Total général »…
_TOTAL_RE = re.compile(r"(?:sous )?tota(?:l|ux)\b")
_SUMMED = (Kind.MONEY, Kind.NUMBER, Kind.INT)


def _is_total_label(cell: object) -> bool:
    return (
        cell.__class__ is str
        and cell.lstrip()[:1] in ("T", "t", "S", "s")  # most cells go no further
        and _TOTAL_RE.match(v.norm(cell)) is not None
    )


def _same_number(a: object, b: object) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return a == b  # cents: exact
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)  # type: ignore[arg-type]


class _Running:
    """The sum of one numeric column over the lines above, kept as the lines go by (read
    only once a line may be a total: most tables never need it)."""

    def __init__(self, parse: Callable[[object], object]):
        self.parse = parse
        self.upto = 0  # lines [0, upto) are counted
        self.all, self.all_n = 0, 0  # every line that is not a total
        self.since, self.since_n = 0, 0  # the lines after the last total

    def advance(self, body: list, i: int, n: int, totals: set[int], first: int) -> None:
        for k in range(self.upto, n):
            row = body[k][1]
            if k in totals or i >= len(row) or v.is_empty(row[i]):
                continue
            try:
                x = self.parse(row[i])
            except v.Illisible:
                continue
            self.all, self.all_n = self.all + x, self.all_n + 1
            if k >= first:
                self.since, self.since_n = self.since + x, self.since_n + 1
        self.upto = max(self.upto, n)

    def restart(self) -> None:
        """A total was found: the next lines start a new span."""
        self.since, self.since_n = 0, 0


class _Sums:
    """The sums of the numeric columns above a line of a table, for the total rows."""

    def __init__(self, sheet: Sheet, body: list[tuple[int, list]], positions: dict[str, int]):
        self.body = body
        self.numeric = {
            i: sheet.column(k) for k, i in positions.items() if sheet.column(k).kind in _SUMMED
        }
        self.others = [i for i in positions.values() if i not in self.numeric]
        self.running: dict[int, _Running] = {}

    def restart(self) -> None:
        for running in self.running.values():
            running.restart()

    def total_of(self, n: int, row: list, totals: set[int], since: int) -> str | None:
        """What line n shows, if its only filled cells are sums of the column above (all
        the lines above, or those since the last total), one of them of two lines or more
        (a lone amount equal to the line above is a line)."""
        if any(i < len(row) and not v.is_empty(row[i]) for i in self.others):
            return None  # the usual line: its code, date or category is filled
        filled = [i for i, cell in enumerate(row) if not v.is_empty(cell)]
        if not filled or any(i not in self.numeric for i in filled):
            return None
        if all(self.numeric[i].kind is Kind.INT for i in filled):
            return None
        shown, terms = [], 0
        for i in filled:
            column = self.numeric[i]
            try:
                value = PARSERS[column.kind](row[i])
            except v.Illisible:
                return None
            running = self.running.setdefault(i, _Running(PARSERS[column.kind]))
            running.advance(self.body, i, n, totals, since)
            sums = [
                count
                for total, count in ((running.all, running.all_n), (running.since, running.since_n))
                if count and _same_number(total, value)
            ]
            if not sums:
                return None
            terms = max(terms, *sums)
            shown.append(v.euros(value) if column.kind is Kind.MONEY else v.as_text(value))
        return "somme des lignes au-dessus : " + ", ".join(shown) if terms >= 2 else None


def _total_rows(
    sheet: Sheet,
    body: list[tuple[int, list]],
    positions: dict[str, int],
    name: str,
    ctx: TypingContext,
) -> set[int]:
    """Lines a person added to total the table (SPEC §4): a first filled cell « Total »,
    « Sous-total »…, or only sums of the columns above (typed, or a formula's value).
    Each is reported (Information) and left out: its amounts are not counted twice."""
    sums = _Sums(sheet, body, positions)
    totals: set[int] = set()
    since = 0
    for n, (ligne, row) in enumerate(body):
        first = _first_filled(row)
        if first is None:
            continue
        quoi = f"« {v.as_text(row[first])} »" if _is_total_label(row[first]) else None
        if quoi is None and sums.numeric:
            quoi = sums.total_of(n, row, totals, since)
        if quoi is None:
            continue
        totals.add(n)
        since = n + 1
        sums.restart()
        cell = f"{letters(first)}{ligne}"
        ctx.anomalies.add("LIG-TOTAL", name, cell, row[first], ligne=ligne, quoi=quoi)
    return totals


# ------------------------------------------------------------- key/value sheet


def _find_key_value_columns(rows: list[list], lookup: dict[str, str]) -> tuple[int, int, int]:
    """(first data row, rubrique column, valeur column) of the Établissement sheet."""
    for r, row in filled_rows(rows):
        keys = [v.norm(c) if isinstance(c, str) else "" for c in row]
        if "rubrique" in keys and "valeur" in keys:
            return r + 1, keys.index("rubrique"), keys.index("valeur")
    # No header row: the rubriques are wherever their labels are found.
    hits = Counter(
        i
        for _, row in filled_rows(rows, 60)
        for i, c in enumerate(row)
        if isinstance(c, str) and v.norm(c) in lookup
    )
    column = hits.most_common(1)[0][0] if hits else 0
    return 0, column, column + 1


def type_etablissement(raw: RawSheet, ctx: TypingContext, classeur: Parsed) -> None:
    sheet = ETABLISSEMENT
    lookup = header_lookup(sheet)
    start, rub, val = _find_key_value_columns(raw.rows, lookup)
    found: dict[str, tuple[int, object]] = {}
    for r, row in enumerate(raw.rows[start:], start=start):
        label = row[rub] if rub < len(row) else ""
        key = lookup.get(v.norm(label)) if isinstance(label, str) else None
        if key and key not in found:
            found[key] = (r + 1, row[val] if val < len(row) else "")
    classeur.etablissement_sheet = raw.name
    letter = letters(val)
    filled = next(((r, row) for r, row in enumerate(raw.rows) if not _blank_row(row)), None)
    if not found and filled is not None:  # content, but not one rubrique: one anomaly
        r, row = filled
        ctx.anomalies.add(
            "FEU-ENTETE",
            raw.name,
            f"{letters(_first_filled(row) or 0)}{r + 1}",
            detail="ni « Rubrique » et « Valeur », ni aucune rubrique comme « UAI » ou "
            "« Campagne »",
        )
    for column in sheet.columns:
        if column.key not in found:
            classeur.etablissement[column.key] = column.default
            if column.required and (found or filled is None):
                ctx.anomalies.add("RUB-MANQUANTE", raw.name, "", colonne=column.header)
            continue
        ligne, cell_value = found[column.key]
        cell = f"{letter}{ligne}"
        classeur.etablissement_cells[column.key] = cell
        typed, missing = _column_values(column, [cell_value], [ligne], letter, raw.name, ctx)
        if missing[0] and cell in raw.special:  # a formula never calculated, or an error
            code, shown = raw.special[cell]
            ctx.anomalies.add(code, raw.name, cell, shown, colonne=column.header)
            typed[0] = None  # not the default: the value exists but could not be read
        elif missing[0] and column.required and column.missing_code:
            ctx.anomalies.add(
                column.missing_code, raw.name, cell, colonne=column.header, aide=column.help
            )
        classeur.etablissement[column.key] = typed[0]


# ---------------------------------------------------------------- the workbook


def validate(
    raw: RawWorkbook | None, parsed: Parsed, rules: Rules | Callable[[object], Rules]
) -> Parsed:
    """Type every sheet the schema knows (the checks across rows and sheets come after,
    on many workbooks at once: checks.py).

    `rules` may be a function of the campaign the workbook declares: the Établissement
    sheet is typed first, and its campaign chooses the rules for the other sheets.
    """
    if raw is None:
        return parsed
    choose = rules if callable(rules) else (lambda campagne: rules)
    ctx = TypingContext(parsed.anomalies, choose(None))
    parsed.format, parsed.sha256 = raw.format, raw.sha256
    if not any(sheet.required and sheet.key in raw.sheets for sheet in SHEETS):
        _not_a_workbook(raw, ctx)  # status Illisible: one anomaly, not one per sheet
        return parsed
    parsed.lisible, parsed.raw = True, raw
    for sheet in SHEETS:
        sheet_raw = raw.sheets.get(sheet.key)
        if sheet_raw is None:
            if sheet.required:
                ctx.anomalies.add("FEU-MANQUANTE", sheet.name)
        elif sheet.key_value:
            type_etablissement(sheet_raw, ctx, parsed)
        else:
            parsed.tables[sheet.key] = type_table(sheet, sheet_raw, ctx)
        if sheet.key_value:  # the campaign is known: its rules type the other sheets
            ctx = TypingContext(parsed.anomalies, choose(parsed.etablissement.get("campagne")))
    parsed.campagne = ctx.rules.campagne
    _copies(raw, ctx)
    return parsed


def _not_a_workbook(raw: RawWorkbook, ctx: TypingContext) -> None:
    names = raw.sheet_names
    lues = ", ".join(f"« {n} »" for n in names[:6]) + (" …" if len(names) > 6 else "")
    ctx.anomalies.add(
        "FIC-MODELE",
        attendues=", ".join(s.name for s in SHEETS if s.required),
        lues=lues or "aucune",
    )


# How spreadsheets name a copied sheet (on norm()ed names): Excel « Dépenses (2) »,
# LibreOffice « Dépenses_2 », Google Sheets « Copie de Dépenses », « Dépenses - copie ».
_COPY_RES = (
    re.compile(r"(?:copie de|copy of) (.+)"),
    re.compile(r"(.+?) (?:copie|copy)(?: \d{1,2})?"),
    re.compile(r"(.+?) \d{1,2}"),
)


def copy_of(name: str) -> Sheet | None:
    """The sheet of the schema that a sheet's name says it is a copy of, or None."""
    key = v.norm(name)
    for pattern in _COPY_RES:
        m = pattern.fullmatch(key)
        if m and m[1] not in IGNORED_SHEETS and (sheet := sheet_for_name(m[1])) is not None:
            return sheet
    return None


def _copies(raw: RawWorkbook, ctx: TypingContext) -> None:
    """A pasted copy of a sheet (« Dépenses (2) »), or a second sheet of the same name
    spelled otherwise, is not read: a warning names it, its lines are not counted."""
    read = {s.name for s in raw.sheets.values()}
    for name in raw.sheet_names:
        if name in read or v.norm(name) in IGNORED_SHEETS:
            continue
        sheet = sheet_for_name(name) or copy_of(name)
        if sheet is None:
            continue
        original = raw.sheets.get(sheet.key)
        if original is not None:
            conseil = (
                f"reportez dans « {original.name} » celles qui manquent, puis supprimez "
                "cette feuille"
            )
        else:
            conseil = f"renommez-la « {sheet.name} » (aucune feuille « {sheet.name} » n'est lue)"
        ctx.anomalies.add(
            "FEU-COPIE", name, original=original.name if original else sheet.name, conseil=conseil
        )
