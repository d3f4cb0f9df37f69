"""Raw sheets -> typed DataFrames + anomalies, driven by schema.py.

Headers are found loosely (below up to 10 title rows), each cell is typed by its
column's kind, and the generic constraints of the schema are checked: required,
minimum, unique, lists and references. Domain checks live in checks.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import values as v
from .anomalies import Anomalies
from .read import RawSheet, RawWorkbook
from .rules import Rules
from .schema import ETABLISSEMENT, SHEETS, Column, Kind, Sheet, header_lookup, list_lookup

TITLE_ROWS = 10  # the header row may come after this many title rows
ROW = "ligne"  # Excel row number of each typed row

PARSERS: dict[Kind, Callable[[object], object]] = {
    Kind.TEXT: v.as_text,
    Kind.CODE: v.parse_code,
    Kind.CODES: v.as_text,
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
DTYPES = {
    Kind.MONEY: "Int64",
    Kind.INT: "Int64",
    Kind.YEAR: "Int64",
    Kind.NUMBER: "Float64",
    Kind.BOOL: "boolean",
    Kind.DATE: "datetime64[s]",
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
    """One typed sheet: a frame whose columns are the schema keys, plus `_ligne`."""

    sheet: Sheet
    name: str  # the sheet's name in the user's file
    frame: pd.DataFrame
    letters: dict[str, str] = field(default_factory=dict)  # column key -> A, B…
    header_row: int = 1

    def cell(self, key: str, ligne: int) -> str:
        return f"{self.letters.get(key, '')}{ligne}"


@dataclass
class Classeur:
    """An establishment workbook, typed, with the anomalies found so far."""

    path: Path
    fichier: str
    anomalies: Anomalies
    format: str = ""
    sha256: str = ""
    lisible: bool = False
    etablissement: dict[str, object] = field(default_factory=dict)
    etablissement_cells: dict[str, str] = field(default_factory=dict)
    etablissement_sheet: str = ETABLISSEMENT.name
    tables: dict[str, Table] = field(default_factory=dict)
    raw: RawWorkbook | None = None  # kept for the annotated copy of .ods and .xls files
    eligibilite: Any = None  # set downstream by eligibility.compute (verify.py)

    def table(self, key: str) -> Table:
        """The typed table, or an empty one when the sheet is missing."""
        if key not in self.tables:
            sheet = next(s for s in SHEETS if s.key == key)
            self.tables[key] = Table(sheet, sheet.name, empty_frame(sheet))
        return self.tables[key]


def empty_frame(sheet: Sheet) -> pd.DataFrame:
    data = {c.key: pd.Series([], dtype=DTYPES.get(c.kind, "string")) for c in sheet.columns}
    return pd.DataFrame({**data, ROW: pd.Series([], dtype="int64")})


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


def _parse_cell(column: Column, raw: object, ctx: TypingContext) -> object:
    """One non-empty cell -> typed value; raises v.Illisible."""
    if column.kind is Kind.LIST:
        value = ctx.lookup(column.choices).get(v.norm(raw))
        if value is None:
            raise v.Illisible(column.list_code)
        return value
    return PARSERS[column.kind](raw)


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


def _below_minimum(column: Column, value: object) -> bool:
    if column.minimum == "ge0":
        return value < 0  # type: ignore[operator]
    if column.minimum == "gt0":
        return value <= 0  # type: ignore[operator]
    return column.minimum == "ge1" and value < 1  # type: ignore[operator]


def _check_minimum(
    ctx: TypingContext, sheet: str, cell: str, column: Column, value: object
) -> bool:
    """Report a value below the column's minimum; True when the value stays usable."""
    if not column.minimum or value is None or not _below_minimum(column, value):
        return True
    code = MINIMUM_CODES[column.minimum]
    shown = v.euros(value) if column.kind is Kind.MONEY else value  # type: ignore[arg-type]
    ctx.anomalies.add(code, sheet, cell, shown, colonne=column.header, minimum=1)
    # A money amount stays in the data so that every euro read is accounted for.
    return column.kind is Kind.MONEY


def _column_values(
    column: Column, raws: list, rows: list[int], letter: str, sheet: str, ctx: TypingContext
) -> tuple[list, list[bool]]:
    """Typed values of one column (None where empty or unreadable), and the missing mask."""
    out: list = []
    missing: list[bool] = []
    for raw, ligne in zip(raws, rows, strict=True):
        if v.is_empty(raw):
            out.append(column.default)
            missing.append(True)
            continue
        missing.append(False)
        try:
            value = _parse_cell(column, raw, ctx)
        except v.Illisible as err:
            _report(ctx, sheet, f"{letter}{ligne}", column, raw, err)
            out.append(None)
            continue
        ok = _check_minimum(ctx, sheet, f"{letter}{ligne}", column, value)
        out.append(value if ok else None)
    return out, missing


def _series(column: Column, data: list) -> pd.Series:
    dtype = DTYPES.get(column.kind, "string")
    if dtype == "datetime64[s]":
        return pd.Series(np.array(data, dtype="datetime64[D]").astype("datetime64[s]"))
    return pd.Series(data, dtype=dtype)


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


def _unmerged(raw: RawSheet, header_index: int, ctx: TypingContext) -> list[list]:
    """The rows, with each merged area below the header filled with its value: a merged
    cell reads as it looks, one value on every line it covers (and a warning)."""
    body_merges = [m for m in raw.merged if m[1][0] > header_index]
    if not body_merges:
        return raw.rows
    rows = [list(row) for row in raw.rows]
    width = max((len(r) for r in rows), default=0)
    for (r0, c0), (r1, c1) in body_merges:
        while len(rows) <= r1:
            rows.append([""] * width)
        value = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, r1 + 1):
            rows[r].extend([""] * (c1 + 1 - len(rows[r])))
            for c in range(c0, c1 + 1):
                rows[r][c] = value
        area = f"{letters(c0)}{r0 + 1}:{letters(c1)}{r1 + 1}"
        ctx.anomalies.add("VAL-FUSION", raw.name, f"{letters(c0)}{r0 + 1}", value, plage=area)
    return rows


def _is_blank(row: list, indexes: list[int]) -> bool:
    return all(v.is_empty(row[i]) if i < len(row) else True for i in indexes)


def type_table(sheet: Sheet, raw: RawSheet, ctx: TypingContext) -> Table:
    header = find_header(raw.rows, header_lookup(sheet))
    if header is None:
        if any(not v.is_empty(c) for row in raw.rows[: TITLE_ROWS + 1] for c in row):
            ctx.anomalies.add("COL-MANQUANTE", raw.name, "A1", colonne=sheet.columns[0].header)
        return Table(sheet, raw.name, empty_frame(sheet))
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
    body = [
        (r + 1, row)
        for r, row in enumerate(rows[header_index + 1 :], start=header_index + 1)
        if not _is_blank(row, indexes)
    ]
    lignes = [ligne for ligne, _ in body]
    table = Table(sheet, raw.name, pd.DataFrame(), header_row=header_index + 1)
    data: dict[str, pd.Series] = {}
    for column in sheet.columns:
        if column.key not in positions:
            data[column.key] = _series(column, [column.default] * len(body))
            continue
        i = positions[column.key]
        letter = letters(i)
        table.letters[column.key] = letter
        raws = [row[i] if i < len(row) else "" for _, row in body]
        typed, missing = _column_values(column, raws, lignes, letter, raw.name, ctx)
        if column.required and column.missing_code:
            for ligne, is_missing in zip(lignes, missing, strict=True):
                if is_missing:
                    ctx.anomalies.add(
                        column.missing_code,
                        raw.name,
                        f"{letter}{ligne}",
                        colonne=column.header,
                        aide=_aide(column),
                    )
        data[column.key] = _series(column, typed)
    data[ROW] = pd.Series(lignes, dtype="int64")
    table.frame = pd.DataFrame(data)
    return table


def _aide(column: Column) -> str:
    return column.help


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


def type_etablissement(raw: RawSheet, ctx: TypingContext, classeur: Classeur) -> None:
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
        if missing[0] and column.required and column.missing_code:
            ctx.anomalies.add(
                column.missing_code, raw.name, cell, colonne=column.header, aide=_aide(column)
            )
        classeur.etablissement[column.key] = typed[0]


# ---------------------------------------------------------------- the workbook


def _check_unique(table: Table, ctx: TypingContext) -> None:
    column = table.sheet.code_column
    if column is None or table.frame.empty:
        return
    codes = table.frame[column.key].str.upper()
    duplicated = codes.duplicated(keep="first") & codes.notna()
    if not duplicated.any():
        return
    first_row = dict(zip(codes[~duplicated], table.frame.loc[~duplicated, ROW], strict=True))
    for code, ligne, shown in zip(
        codes[duplicated],
        table.frame.loc[duplicated, ROW],
        table.frame.loc[duplicated, column.key],
        strict=True,
    ):
        ctx.anomalies.add(
            "VAL-DOUBLON",
            table.name,
            table.cell(column.key, ligne),
            shown,
            colonne=column.header,
            premiere=first_row[code],
        )


def _check_references(classeur: Classeur, ctx: TypingContext) -> None:
    for table in classeur.tables.values():
        for column in table.sheet.columns:
            if not column.ref or column.key not in table.letters:
                continue
            target = classeur.tables.get(column.ref)
            if target is None:  # missing sheet: already reported
                continue
            code_key = target.sheet.code_column.key  # type: ignore[union-attr]
            known = set(target.frame[code_key].dropna().str.upper())
            series = table.frame[column.key]
            for ligne, text in zip(table.frame[ROW], series, strict=True):
                if text is None or text is pd.NA:
                    continue
                codes = v.split_codes(text) if column.kind is Kind.CODES else [text]
                for code in codes:
                    if code.upper() not in known:
                        ctx.anomalies.add(
                            "VAL-REFERENCE",
                            table.name,
                            table.cell(column.key, ligne),
                            code,
                            gravite=column.ref_gravite,
                            colonne=column.header,
                            cible=target.name,
                        )


def validate(raw: RawWorkbook | None, classeur: Classeur, rules: Rules) -> Classeur:
    """Type every sheet the schema knows and run the generic checks."""
    if raw is None:
        return classeur
    ctx = TypingContext(classeur.anomalies, rules)
    classeur.lisible, classeur.raw = True, raw
    classeur.format, classeur.sha256 = raw.format, raw.sha256
    for sheet in SHEETS:
        sheet_raw = raw.sheets.get(sheet.key)
        if sheet_raw is None:
            if sheet.required:
                ctx.anomalies.add("FEU-MANQUANTE", sheet.name)
            continue
        if sheet.key_value:
            type_etablissement(sheet_raw, ctx, classeur)
        else:
            classeur.tables[sheet.key] = type_table(sheet, sheet_raw, ctx)
    for table in classeur.tables.values():
        _check_unique(table, ctx)
    _check_references(classeur, ctx)
    return classeur
