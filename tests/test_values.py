"""Cell -> value parsers (`mentorat_budget.values`): SPEC §4 and §10 "French numbers"/"Money".

Money is integer cents. Every refusal is an `Illisible` carrying the anomaly code the
gestionnaire will see; no parser may fail with any other exception.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mentorat_budget.values import (
    Illisible,
    is_empty,
    norm,
    parse_bool,
    parse_date,
    parse_int,
    parse_money,
    parse_number,
    parse_rna,
    parse_siret,
    parse_uai,
    parse_year,
)

NBSP, NNBSP = "\u00a0", "\u202f"


def refused(parser, value) -> Illisible:
    """The `Illisible` raised by `parser(value)` (the test fails if it returns)."""
    with pytest.raises(Illisible) as info:
        parser(value)
    return info.value


# ---------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("cell", "cents"),
    [
        (12.5, 1250),
        (12, 1200),
        (0, 0),
        (0.1 + 0.2, 30),  # 0.30000000000000004
        (19.95 * 0.9, 1796),  # 17.955000000000002
        (1234.56, 123456),
        (33.333333, 3333),
        (0.005, 1),  # half up, not half to even
        (0.015, 2),
        (2.675, 268),  # the decimal repr 2.675, not the binary 2.67499999...
        (1.005, 101),
        (-0.005, -1),
        (-12.5, -1250),
    ],
)
def test_money_from_excel_numbers(cell, cents):
    assert parse_money(cell) == cents


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1 234,56 €", 123456),
        (f"1{NBSP}234,56{NBSP}€", 123456),
        (f"1{NNBSP}234,56{NNBSP}€", 123456),
        ("1.234,56", 123456),
        ("1,234.56", 123456),
        ("1234.56", 123456),
        ("1234,56", 123456),
        ("1 234 567,89", 123456789),
        ("12,5", 1250),
        ("12.5", 1250),
        ("-12,50", -1250),
        ("EUR 12", 1200),
        ("12 €", 1200),
        ("12€", 1200),
        ("12 euros", 1200),
        ("  12,50  ", 1250),
        ("1 234", 123400),
        ("0,05", 5),
    ],
)
def test_money_from_text(text, cents):
    assert parse_money(text) == cents


@pytest.mark.parametrize(
    "cell",
    [
        "12,5,0",
        "abc",
        "1 23,45",  # a grouping space must separate groups of three digits
        "12,,5",
        "12 34",
        "1,2,3",
        "12.5.0",
        "-",
        "+",
        "€",  # empty-ish junk: only a currency sign
        " € ",
        "EUR",
        "euros",
        "12 € 50",
        "douze",
        "12a",
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        None,
        date(2025, 3, 12),
    ],
)
def test_money_refused(cell):
    assert refused(parse_money, cell).code == "VAL-MONTANT"


@pytest.mark.parametrize("text", ["1.234", "12,500", "0,001", "12,345"])
def test_money_with_three_decimals_is_ambiguous(text):
    # `1.234` may be 1 234 € (grouping) or 1,234 € (decimal): the tool must not guess.
    assert refused(parse_money, text).code == "VAL-MONTANT-AMBIGU"


@pytest.mark.parametrize("cell", [1e307, -1e307, 1.7e308])
def test_money_huge_excel_number_is_read_or_refused_cleanly(cell):
    # Excel stores numbers up to 9.99e307; such a cell must not crash the reader.
    try:
        cents = parse_money(cell)
    except Illisible as e:
        assert e.code == "VAL-MONTANT"
    else:
        assert cents == int(cell) * 100


@pytest.mark.parametrize("digits", [26, 27, 30])
def test_money_long_digit_string_is_read_or_refused_cleanly(digits):
    text = "1" * digits
    try:
        cents = parse_money(text)
    except Illisible as e:
        assert e.code in {"VAL-MONTANT", "VAL-MONTANT-AMBIGU"}
    else:
        assert cents == int(text) * 100


SEPARATORS = st.sampled_from([" ", NBSP, NNBSP, "."])


@given(st.integers(min_value=0, max_value=10**11 - 1), SEPARATORS, st.sampled_from(["", " €"]))
def test_money_french_text_round_trip(cents, sep, unit):
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", sep) + f",{rest:02d}" + unit
    assert parse_money(text) == cents


@given(st.integers(min_value=-(10**11) + 1, max_value=10**11 - 1))
def test_money_two_decimal_float_round_trip(cents):
    # What Excel stores for an amount typed with two decimals reads back to the cent.
    assert parse_money(cents / 100) == cents


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12/03/2025", date(2025, 3, 12)),
        ("2025-03-12", date(2025, 3, 12)),
        ("12-03-2025", date(2025, 3, 12)),
        ("12.03.2025", date(2025, 3, 12)),
        ("12/03/25", date(2025, 3, 12)),
        ("1/3/2025", date(2025, 3, 1)),
        (" 12/03/2025 ", date(2025, 3, 12)),
        ("2025-03-12T10:30:00", date(2025, 3, 12)),
        ("12/03/2025 10:30", date(2025, 3, 12)),
        ("1er mars 2025", date(2025, 3, 1)),
        ("12 mars 2025", date(2025, 3, 12)),
        ("12 Février 2025", date(2025, 2, 12)),
        ("3 août 2024", date(2024, 8, 3)),
        (datetime(2025, 3, 12, 10, 30), date(2025, 3, 12)),
        (date(2025, 3, 12), date(2025, 3, 12)),
        (45728, date(2025, 3, 12)),
        (45728.0, date(2025, 3, 12)),
        (45728.75, date(2025, 3, 12)),  # a date-time serial: the day
        (32874, date(1990, 1, 1)),
        (73415, date(2100, 12, 31)),
    ],
)
def test_date_read(cell, expected):
    got = parse_date(cell)
    assert got == expected
    assert type(got) is date


@pytest.mark.parametrize(
    "cell",
    [
        "31/02/2025",
        "13/13/2025",
        "29/02/2025",
        "00/03/2025",
        "demain",
        "12 foo 2025",
        "32 mars 2025",
        "2025",
        "12/03",
        True,
        False,
        12,  # a serial far outside 1990..2100: a number typed in a date column
        32873,
        73416,
        -45728,
        float("nan"),
        float("inf"),
        None,
    ],
)
def test_date_refused(cell):
    assert refused(parse_date, cell).code == "VAL-DATE"


# -------------------------------------------------------------------------- Oui/Non


@pytest.mark.parametrize(
    "cell", ["Oui", "oui", "OUI", " oui ", "O", "o", "X", "x", "Yes", "Vrai", "1", "True", 1, 1.0]
)
def test_bool_yes(cell):
    assert parse_bool(cell) is True


@pytest.mark.parametrize("cell", ["Non", "non", "N", "n", "no", "Faux", "0", "False", 0, 0.0])
def test_bool_no(cell):
    assert parse_bool(cell) is False


def test_bool_passes_real_booleans_through():
    assert parse_bool(True) is True
    assert parse_bool(False) is False


@pytest.mark.parametrize("cell", ["peut-être", "ouii", "2", 2, 0.5, float("nan"), "?"])
def test_bool_refused(cell):
    assert refused(parse_bool, cell).code == "VAL-OUINON"


# ------------------------------------------------------------- integers and numbers


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("12", 12), (12, 12), (12.0, 12), ("1 234", 1234), (f"1{NBSP}234", 1234), ("-3", -3)],
)
def test_int_read(cell, expected):
    got = parse_int(cell)
    assert got == expected
    assert type(got) is int


@pytest.mark.parametrize(
    "cell", [12.5, "12,5", "abc", True, float("nan"), float("inf"), "1 23", None]
)
def test_int_refused(cell):
    assert refused(parse_int, cell).code == "VAL-ENTIER"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12,5", 12.5),
        ("12.5", 12.5),
        ("1 234,5", 1234.5),
        (f"1{NNBSP}234,5", 1234.5),
        ("1.234,5", 1234.5),
        (3, 3.0),
        (1.5, 1.5),
        ("-0,5", -0.5),
    ],
)
def test_number_read(cell, expected):
    got = parse_number(cell)
    assert got == expected
    assert type(got) is float


@pytest.mark.parametrize("cell", ["abc", "12,5,0", True, float("nan"), "€", None])
def test_number_refused(cell):
    assert refused(parse_number, cell).code == "VAL-NOMBRE"


@pytest.mark.parametrize(
    ("cell", "expected"), [(2024, 2024), ("2024", 2024), (2024.0, 2024), (2000, 2000), (2100, 2100)]
)
def test_year_read(cell, expected):
    assert parse_year(cell) == expected


@pytest.mark.parametrize("cell", [1999, 2101, 24, "vingt", 2024.5, True, "2 024,5"])
def test_year_refused(cell):
    assert refused(parse_year, cell).code == "VAL-ANNEE"


# ---------------------------------------------------------------------- identifiers

REAL_UAI = [
    "0750655E",
    "0750654D",
    "0690026D",
    "0750658H",
    "0750652B",
    "6200001G",
    "7200009X",
    "9760127J",
]


@pytest.mark.parametrize("uai", REAL_UAI)
def test_uai_real_codes(uai):
    assert parse_uai(uai) == uai
    assert parse_uai(uai.lower()) == uai
    assert parse_uai(f" {uai[:4]} {uai[4:7]} {uai[7].lower()} ") == uai


def test_uai_wrong_key_names_the_right_one():
    error = refused(parse_uai, "0750655F")
    assert error.code == "VAL-UAI"
    assert "0750655" in error.detail
    assert re.search(r"\bE\b", error.detail), error.detail


@pytest.mark.parametrize(
    "cell", ["075065E", "07506555E", "0750655", "E0750655", "O750655E", "0750655EE", 750655]
)
def test_uai_wrong_shape(cell):
    error = refused(parse_uai, cell)
    assert error.code == "VAL-UAI"
    assert error.detail  # a French hint for the gestionnaire


@pytest.mark.parametrize(
    "cell",
    [
        "\uff10\uff17\uff15\uff10\uff16\uff15\uff15E",  # full-width digits
        "\u0660\u0667\u0665\u0660\u0666\u0665\u0665E",  # Arabic-Indic digits
    ],
)
def test_uai_non_ascii_digits_are_not_a_valid_uai(cell):
    # A UAI is 7 ASCII digits and a letter: the académie is looked up from its first
    # three characters, so any other digits must be refused (or converted).
    try:
        got = parse_uai(cell)
    except Illisible as e:
        assert e.code == "VAL-UAI"
    else:
        assert got == "0750655E"


@pytest.mark.parametrize(
    "cell", ["73282932000074", "732 829 320 00074", " 73282932000074 ", 73282932000074.0]
)
def test_siret_valid(cell):
    assert parse_siret(cell) == "73282932000074"


def test_siret_wrong_checksum():
    error = refused(parse_siret, "73282932000075")
    assert error.code == "VAL-SIRET"
    assert "clé" in error.detail


@pytest.mark.parametrize("cell", ["7328293200007", "732829320000745", "7328293200007A", "abc"])
def test_siret_wrong_length(cell):
    error = refused(parse_siret, cell)
    assert error.code == "VAL-SIRET"
    assert "14 chiffres" in error.detail


@pytest.mark.parametrize("cell", ["W751234567", "w751234567", " W751 234 567 "])
def test_rna_valid(cell):
    assert parse_rna(cell) == "W751234567"


@pytest.mark.parametrize("cell", ["W12345", "W7512345678", "751234567", "X751234567", "W75123456A"])
def test_rna_refused(cell):
    assert refused(parse_rna, cell).code == "VAL-RNA"


# ---------------------------------------------------------------------------- norm


@pytest.mark.parametrize(
    ("a", "b", "key"),
    [
        ("Montant (€)", "montant", "montant"),
        ("  Montant   prévu  (€) ", "MONTANT PREVU", "montant prevu"),
        ("Élèves", "eleves", "eleves"),
        ("Filière", "FILIÈRE", "filiere"),
        ("Nom de l’établissement", "Nom de l'établissement", "nom de l etablissement"),
        ("Durée (h)", "duree", "duree"),
        ("Puissance fiscale (CV)", "puissance fiscale", "puissance fiscale"),
        ("Budget\u00a0prévisionnel", "budget previsionnel", "budget previsionnel"),
    ],
)
def test_norm_loose_keys(a, b, key):
    assert norm(a) == key
    assert norm(b) == key


def test_norm_keeps_words_apart():
    assert norm("Code élève") != norm("Code mentor")
    assert norm("Date de début") != norm("Date de fin")


# ----------------------------------------------------------- never another exception

# Empty cells never reach a parser (the module's contract): callers test `is_empty` first.
TEXT = st.text().filter(lambda s: not is_empty(s))
CELLS = st.one_of(TEXT, st.integers(), st.booleans(), st.dates(), st.datetimes())

PARSERS = [
    pytest.param(parse_money, lambda v: type(v) is int, id="money"),
    pytest.param(parse_number, lambda v: type(v) is float, id="number"),
    pytest.param(parse_int, lambda v: type(v) is int, id="int"),
    pytest.param(parse_year, lambda v: type(v) is int and 2000 <= v <= 2100, id="year"),
    pytest.param(parse_date, lambda v: type(v) is date, id="date"),
    pytest.param(parse_bool, lambda v: type(v) is bool, id="bool"),
    pytest.param(parse_uai, lambda v: re.fullmatch(r"[0-9]{7}[A-Z]", v), id="uai"),
    pytest.param(parse_siret, lambda v: re.fullmatch(r"[0-9]{14}", v), id="siret"),
    pytest.param(parse_rna, lambda v: re.fullmatch(r"W[0-9]{9}", v), id="rna"),
]


def reads_or_refuses(parser, well_typed, cell) -> None:
    """`parser(cell)` returns a well-typed value or raises `Illisible`, nothing else."""
    try:
        got = parser(cell)
    except Illisible as e:
        assert e.code.startswith("VAL-")
    else:
        assert well_typed(got), f"{parser.__name__}({cell!r}) -> {got!r}"


@pytest.mark.parametrize(("parser", "well_typed"), PARSERS)
@given(cell=CELLS)
def test_parser_reads_or_refuses_any_cell(parser, well_typed, cell):
    reads_or_refuses(parser, well_typed, cell)


@pytest.mark.parametrize(("parser", "well_typed"), PARSERS)
@given(cell=st.floats())  # nan, ±inf and the extremes included
@example(cell=float("nan"))
@example(cell=float("inf"))
@example(cell=float("-inf"))
@example(cell=1e307)  # Excel accepts numbers up to 9.99e307
@example(cell=-1.7976931348623157e308)
@example(cell=5e-324)
def test_parser_reads_or_refuses_any_float(parser, well_typed, cell):
    reads_or_refuses(parser, well_typed, cell)


NUMBER_CHARS = " \u00a0\u202f€EURuros-+(),.'0123456789"


@pytest.mark.parametrize(("parser", "well_typed"), PARSERS[:4])
@given(cell=st.text(alphabet=NUMBER_CHARS, max_size=12).filter(str.strip))
@example(cell="€")
@example(cell="EUR")
def test_number_like_junk_reads_or_refuses(parser, well_typed, cell):
    # Text made only of the characters the number parsers look at.
    reads_or_refuses(parser, well_typed, cell)


# ------------------------------------------------ round trips and the other cell types
# (the hostile-input suite: what a gestionnaire types reads back to the same value)

MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre"]  # fmt: skip
DATE_FORMATS = [
    lambda d: f"{d:%d/%m/%Y}",
    lambda d: d.isoformat(),
    lambda d: f"{d:%d.%m.%Y}",
    lambda d: f"{d:%d-%m-%Y}",
    lambda d: f"{d.day}{'er' if d.day == 1 else ''} {MOIS[d.month - 1]} {d.year}",
    lambda d: f"{d.day}/{d.month}/{d:%y}",
]


@pytest.mark.parametrize(("parser", "well_typed"), PARSERS)
@given(cell=st.one_of(st.times(), st.timedeltas()))
def test_parser_reads_or_refuses_times_and_durations(parser, well_typed, cell):
    # calamine gives time and timedelta values for cells formatted as times or durations.
    reads_or_refuses(parser, well_typed, cell)


@given(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from(" \u00a0\u202f\u2009\u2007\u2008\u200a"),
    st.sampled_from(["fr", "en", "plain"]),
    st.sampled_from(["", " €", "€", " EUR", " euros"]),
)
def test_money_text_round_trip_with_every_grouping(cents, space, style, unit):
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}"
    text = {
        "fr": grouped.replace(",", space) + f",{rest:02d}",
        "en": grouped + f".{rest:02d}",
        "plain": f"{euros}.{rest:02d}",
    }[style]
    assert parse_money(("-" if cents < 0 else "") + text + unit) == cents


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(DATE_FORMATS))  # fmt: skip
def test_date_text_round_trip(day, fmt):
    assert parse_date(fmt(day)) == day


@given(st.sampled_from(["oui", "o", "x", "non", "n"]), st.data())
def test_bool_in_any_case_and_spacing(word, data):
    cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
    pad = data.draw(st.sampled_from(["", " ", "\u00a0", "\t"]))
    assert parse_bool(pad + cased + pad) is (word not in ("non", "n"))


@given(st.integers(min_value=0, max_value=9_999_999), st.sampled_from("ABCDEFGHJKLMNPRSTUVWXYZ"))
def test_uai_key_letter_decides(number, letter):
    digits = f"{number:07d}"
    key = "ABCDEFGHJKLMNPRSTUVWXYZ"[number % 23]
    if letter == key:
        assert parse_uai(digits + letter.lower()) == digits + key
    else:
        error = refused(parse_uai, digits + letter)
        assert error.code == "VAL-UAI" and f"est {key}" in error.detail


def _luhn_digit(digits: str) -> str:
    total = sum(
        sum(divmod(int(d) * (2 if i % 2 == 0 else 1), 10)) for i, d in enumerate(reversed(digits))
    )
    return str(-total % 10)


@given(st.integers(min_value=0, max_value=10**8 - 1), st.integers(min_value=0, max_value=9999),
       st.integers(min_value=1, max_value=9))  # fmt: skip
def test_siret_check_digits_decide(siren, nic, shift):
    """A SIRET is a Luhn-valid SIREN (9 digits) and a NIC, Luhn-valid on all 14 digits."""
    siren = f"{siren:08d}" + _luhn_digit(f"{siren:08d}")
    if siren == "356000000":  # La Poste's SIRETs follow another rule
        return
    digits = siren + f"{nic:04d}"
    good = digits + _luhn_digit(digits)
    assert parse_siret(f"{good[:3]} {good[3:6]} {good[6:9]} {good[9:]}") == good
    bad = digits + str((int(good[-1]) + shift) % 10)
    assert refused(parse_siret, bad).code == "VAL-SIRET"
