"""Raw sheets -> typed columns + anomalies, driven by schema.py (one workbook).

Headers are found loosely (below up to 10 title rows), each cell is typed by its
column's kind, and the constraints of one cell are checked: required, minimum, lists.
Checks across rows and sheets run on many workbooks at once, in checks.py.
"""

from __future__ import annotations

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
from .schema import ETABLISSEMENT, SHEETS, Column, Kind, Sheet, header_lookup, list_lookup

TITLE_ROWS = 10  # the header row may come after this many title rows
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


def find_header(rows: list[list], lookup: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    """The header row among the first rows, and column index -> column key."""
    best: tuple[int, dict[int, str]] | None = None
    for r, row in enumerate(rows[: TITLE_ROWS + 1]):
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


def type_table(sheet: Sheet, raw: RawSheet, ctx: TypingContext) -> Table:
    header = find_header(raw.rows, header_lookup(sheet))
    if header is None:
        if any(not v.is_empty(c) for row in raw.rows[: TITLE_ROWS + 1] for c in row):
            ctx.anomalies.add("COL-MANQUANTE", raw.name, "A1", colonne=sheet.columns[0].header)
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


# ------------------------------------------------------------- key/value sheet


def _find_key_value_columns(rows: list[list], lookup: dict[str, str]) -> tuple[int, int, int]:
    """(first data row, rubrique column, valeur column) of the Établissement sheet."""
    for r, row in enumerate(rows[: TITLE_ROWS + 1]):
        keys = [v.norm(c) if isinstance(c, str) else "" for c in row]
        if "rubrique" in keys and "valeur" in keys:
            return r + 1, keys.index("rubrique"), keys.index("valeur")
    # No header row: the rubriques are wherever their labels are found.
    hits = Counter(
        i
        for row in rows[:60]
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
    for column in sheet.columns:
        if column.key not in found:
            classeur.etablissement[column.key] = column.default
            if column.required:
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
    parsed.lisible, parsed.raw = True, raw
    parsed.format, parsed.sha256 = raw.format, raw.sha256
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
    return parsed
