"""Cell -> value: pure functions, no I/O.

Each parser takes what python-calamine returns for a cell (str, float, int, bool,
date, datetime, time, timedelta) and returns the typed value, or raises
`Illisible` with the anomaly code that explains why. Empty cells (`""` or None)
never reach a parser: callers treat them as missing first.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

UAI_KEY_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
EXCEL_EPOCH = date(1899, 12, 30)
CENT = Decimal("0.01")


class Illisible(ValueError):
    """A cell that cannot be read; `code` is the anomaly code, `detail` a French hint."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


# --------------------------------------------------------------------------- text


MAX_KEY = 256  # characters of a text that a loose key reads: no header or list value is longer


def norm(text: object) -> str:
    """Loose key for headers, sheet names and list values.

    Case, accents, punctuation, repeated spaces and a trailing unit such as
    `(€)` do not matter: `"  Montant  (€) "` and `"montant"` give the same key. Only the
    first MAX_KEY characters are read (cell text may hold 32 767: time and the cache stay
    bounded).
    """
    if text.__class__ is str and len(text) > MAX_KEY:  # type: ignore[arg-type]
        text = text[:MAX_KEY]  # type: ignore[index]
    return _norm(text)


@lru_cache(maxsize=8192)
def _norm(text: object) -> str:
    s = str(text).strip().lower()
    s = re.sub(r"\((?:€|eur|euros?|h|km|cv|%)\)\s*$", "", s)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("œ", "oe").replace("æ", "ae")
    return " ".join(re.findall(r"[a-z0-9]+", s))


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: object) -> str:
    """A cell as text: `12.0` typed as a number gives `"12"`, not `"12.0"`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if value.time() else value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return " ".join(str(value).split())


# -------------------------------------------------------------------------- numbers

_SPACES = "\u0020\u00a0\u202f\u2009\u2007\u2008\u200a\t"
_SPACE_RE = re.compile(f"[{_SPACES}]+")
_CURRENCIES = ("euros", "euro", "eur", "€")  # longest first
_MINUS = "-\u2212\u2013"
# Text is bounded before it is parsed (SPEC §8): no number or date is typed in more
# characters than this, spaces and currency included; longer text is refused unread.
MAX_TYPED = 64


def _without_currency(s: str) -> str:
    """`€ 12` and `12 EUR` -> `12` (stripped at both ends; no regular expression)."""
    lower = s.lower()
    for unit in _CURRENCIES:
        if lower.startswith(unit):
            s, lower = s[len(unit) :].lstrip(), lower[len(unit) :].lstrip()
            break
    for unit in _CURRENCIES:
        if lower.endswith(unit):
            s = s[: -len(unit)].rstrip()
            break
    return s


def parse_decimal_text(text: str) -> Decimal:
    """French or English number typed as text -> Decimal.

    Accepts `1 234,56` (any space as grouping), `1.234,56`, `1,234.56`, `1234.56`,
    `12,5`, a leading sign, and `€`/`EUR`. A lone separator is the decimal mark;
    repeated ones are grouping and must separate groups of three digits, so
    `12,5,0` is refused.
    """
    if len(text) > MAX_TYPED:
        raise Illisible("VAL-NOMBRE")
    s = _without_currency(_SPACE_RE.sub(" ", text).strip())
    if not s or len(s) > 40:
        raise Illisible("VAL-NOMBRE")
    negative = False
    if s[:1] in _MINUS or s[:1] == "+":
        negative = s[0] != "+"
        s = s[1:].lstrip()
    elif s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if not s or not re.fullmatch(r"[0-9][0-9 .,']*", s) or not s[-1].isdigit():
        raise Illisible("VAL-NOMBRE")
    commas, points = s.count(","), s.count(".")
    if commas and points:
        decimal_mark = "," if s.rfind(",") > s.rfind(".") else "."
    elif commas == 1 and points == 0:
        decimal_mark = ","
    elif points == 1 and commas == 0:
        decimal_mark = "."
    else:
        decimal_mark = ""
    if decimal_mark:
        integer, _, fraction = s.rpartition(decimal_mark)
        if not fraction.isdigit() or not integer:
            raise Illisible("VAL-NOMBRE")
    else:
        integer, fraction = s, ""
    groups = re.split(r"[ .,']", integer)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise Illisible("VAL-NOMBRE")
    if not all(g.isdigit() for g in groups):
        raise Illisible("VAL-NOMBRE")
    value = Decimal("".join(groups) + ("." + fraction if fraction else ""))
    return -value if negative else value


def thousands(n: int) -> str:
    """1048576 -> `1 048 576`, with narrow no-break spaces, as French typography wants."""
    return f"{n:,}".replace(",", "\u202f")


def euros(cents: int) -> str:
    """12345 -> `123,45 €`, with a narrow no-break space between thousands."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{thousands(units)},{rest:02d} €"


def to_cents(amount: Decimal) -> int:
    """Decimal euros -> integer cents, rounded half up once."""
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100)


MAX_EUROS = 10**12  # no amount of the plan comes near; beyond, it is a typing accident


def parse_money(value: object) -> int:
    """A cell -> integer cents. Text with more than two decimals is ambiguous."""
    if isinstance(value, bool):
        raise Illisible("VAL-MONTANT")
    if isinstance(value, int):
        if abs(value) >= MAX_EUROS:
            raise Illisible("VAL-MONTANT")
        return value * 100
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= MAX_EUROS:
            raise Illisible("VAL-MONTANT")
        cents = round(value * 100)
        if abs(value * 100 - cents) < 1e-6:  # at most two decimals: exact
            return cents
        return to_cents(Decimal(repr(value)))
    if isinstance(value, str):
        try:
            amount = parse_decimal_text(value)
        except Illisible:
            raise Illisible("VAL-MONTANT") from None
        if abs(amount) >= MAX_EUROS:
            raise Illisible("VAL-MONTANT")
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise Illisible("VAL-MONTANT-AMBIGU")
        return to_cents(amount)
    raise Illisible("VAL-MONTANT")


MAX_NUMBER = 10**7  # km, hours, students, horsepower: beyond, a typing accident


def parse_number(value: object) -> float:
    if isinstance(value, bool):
        raise Illisible("VAL-NOMBRE")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        number = float(parse_decimal_text(value))
    else:
        raise Illisible("VAL-NOMBRE")
    if not math.isfinite(number):
        raise Illisible("VAL-NOMBRE")
    if abs(number) >= MAX_NUMBER:
        raise Illisible("VAL-DEMESURE")
    return number


def parse_int(value: object) -> int:
    try:
        number = parse_number(value)
    except Illisible as err:
        raise Illisible("VAL-DEMESURE" if err.code == "VAL-DEMESURE" else "VAL-ENTIER") from None
    if not number.is_integer():
        raise Illisible("VAL-ENTIER")
    return int(number)


def parse_year(value: object) -> int:
    try:
        year = parse_int(value)
    except Illisible:
        raise Illisible("VAL-ANNEE") from None
    if not 2000 <= year <= 2100:
        raise Illisible("VAL-ANNEE")
    return year


# ---------------------------------------------------------------------------- dates

_MONTHS = {
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_DMY = re.compile(
    r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?", re.ASCII
)
_YMD = re.compile(
    r"(\d{4})[\-/.](\d{1,2})[\-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_LONG = re.compile(r"(\d{1,2})(?:er)? ([a-z]+) (\d{4})", re.ASCII)  # on norm(text): 1er mars 2025
# Serial numbers accepted in a date column: 1990-01-01 .. 2100-12-31.
_SERIAL_MIN, _SERIAL_MAX = 32874, 73415


def _make_date(year: int, month: int, day: int) -> date:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        raise Illisible("VAL-DATE") from None


def parse_date(value: object) -> date:
    """A cell -> date. Text is read day first (`12/03/2025`) or ISO (`2025-03-12`)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise Illisible("VAL-DATE")
    if isinstance(value, int | float):
        if value == value and _SERIAL_MIN <= value <= _SERIAL_MAX:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise Illisible("VAL-DATE")
    if isinstance(value, str) and len(value) <= MAX_TYPED:
        s = " ".join(value.split())
        if m := _YMD.fullmatch(s):
            return _make_date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(s):
            return _make_date(int(m[3]), int(m[2]), int(m[1]))
        if (m := _LONG.fullmatch(norm(s))) and m[2] in _MONTHS:
            return _make_date(int(m[3]), _MONTHS[m[2]], int(m[1]))
    raise Illisible("VAL-DATE")


# -------------------------------------------------------------------------- Oui/Non

_YES = frozenset({"oui", "o", "x", "yes", "y", "vrai", "true", "1"})
_NO = frozenset({"non", "n", "no", "faux", "false", "0"})


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and len(value) <= MAX_TYPED:
        key = norm(value)
        if key in _YES:
            return True
        if key in _NO:
            return False
    raise Illisible("VAL-OUINON")


# ------------------------------------------------------------------ identifiers


def uai_key(digits: str) -> str:
    return UAI_KEY_LETTERS[int(digits) % 23]


def parse_uai(value: object) -> str:
    """`0750655e` -> `0750655E`; the key letter is checked."""
    s = re.sub(r"\s+", "", as_text(value)).upper()
    if not re.fullmatch(r"[0-9]{7}[A-Z]", s):
        raise Illisible("VAL-UAI", "7 chiffres suivis d'une lettre attendus, par exemple 0750655E")
    expected = uai_key(s[:7])
    if s[7] != expected:
        raise Illisible("VAL-UAI", f"la clé de {s[:7]} est {expected}, pas {s[7]}")
    return s


def parse_siret(value: object) -> str:
    from stdnum.exceptions import ValidationError
    from stdnum.fr import siret

    s = re.sub(r"[\s.\-]+", "", as_text(value))
    try:
        return siret.validate(s)
    except ValidationError:
        if not re.fullmatch(r"\d{14}", s):
            raise Illisible("VAL-SIRET", "14 chiffres attendus") from None
        raise Illisible("VAL-SIRET", "clé de contrôle incorrecte") from None


def parse_rna(value: object) -> str:
    s = re.sub(r"\s+", "", as_text(value)).upper()
    if not re.fullmatch(r"W[0-9]{9}", s):
        raise Illisible("VAL-RNA")
    return s


def parse_text(value: object) -> str:
    """Text as typed, trimmed; a number or a date typed where text is expected reads as
    it shows (`12`, not `12.0`). Also identifiers: `E001`, or `12` typed as a number."""
    if value.__class__ is str:
        return value.strip()  # type: ignore[union-attr]
    return as_text(value)
