"""Campaign rules (`mentorat_budget.rules`): SPEC §5 and §7.3.

The bundled 2024 file must load with the FAQ's values, in integer cents; a rules file
that cannot be used must raise `ReglesInvalides` with a French message naming the
problem, which the CLI shows with exit code 2 and no traceback.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from mentorat_budget import rules as rules_mod
from mentorat_budget.cli import main
from mentorat_budget.rules import ReglesInvalides

BUNDLED = rules_mod.CAMPAGNES_DIR / "2024.toml"

CODES = [
    "DEPLACEMENT_MENTOR",
    "DEPLACEMENT_ELEVE",
    "COMMUNICATION",
    "COORDINATION",
    "FORMATION",
    "PETIT_MATERIEL",
    "REMUNERATION_MENTOR",
    "AUTRE",
]


@pytest.fixture(scope="module")
def regles():
    return rules_mod.load(BUNDLED)


# ------------------------------------------------------------------ the 2024 rules


def test_2024_amounts_and_period(regles):
    assert regles.campagne == 2024
    assert regles.source == "2024.toml"
    assert regles.forfait_cents == 50_000
    assert regles.debut == date(2024, 1, 1)
    assert regles.fin == date(2025, 12, 31)
    assert regles.date_limite_reversement == date(2025, 12, 31)
    assert regles.petit_materiel_cents == 80_000
    assert regles.ecart_budget_pourcent == 20
    assert regles.mentores_par_mentor == 3
    assert regles.taux_horaire_cents == 1_165
    assert regles.tranches_km == (2000, 10000)


def test_amounts_are_integer_cents(regles):
    for amount in (regles.forfait_cents, regles.petit_materiel_cents, regles.taux_horaire_cents):
        assert type(amount) is int
    for bareme in regles.bareme_ik:
        assert all(type(t) is int for t in bareme.taux_cents)


@pytest.mark.parametrize(
    ("cv", "taux_cents"),
    [
        (1, (32, 40, 23)),
        (4, (32, 40, 23)),
        (5, (32, 40, 23)),
        (6, (41, 51, 30)),
        (7, (41, 51, 30)),
        (8, (45, 55, 32)),
        (12, (45, 55, 32)),
        (150, (45, 55, 32)),  # the last line has no upper bound
    ],
)
def test_2024_mileage_rates(regles, cv, taux_cents):
    # SPEC §5.2: €/km up to 2 000 km, 2 001-10 000 km, beyond 10 000 km.
    assert regles.taux_ik(cv).taux_cents == taux_cents


def test_2024_categories(regles):
    assert [c.code for c in regles.categories] == CODES
    assert [c.libelle for c in regles.categories] == [
        "Déplacements des mentors",
        "Déplacements des élèves",
        "Communication",
        "Coordination et sourçage des mentors",
        "Formation des mentors",
        "Petit matériel et fournitures",
        "Rémunération des mentors",
        "Autre",
    ]
    assert {c.code for c in regles.categories if not c.eligible} == {
        "REMUNERATION_MENTOR",
        "AUTRE",
    }
    assert all(c.aide for c in regles.categories)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Déplacements des mentors", "DEPLACEMENT_MENTOR"),
        ("deplacements des mentors", "DEPLACEMENT_MENTOR"),
        ("  DÉPLACEMENTS   DES MENTORS ", "DEPLACEMENT_MENTOR"),
        ("DEPLACEMENT_MENTOR", "DEPLACEMENT_MENTOR"),
        ("deplacement_mentor", "DEPLACEMENT_MENTOR"),
        ("Déplacements des élèves", "DEPLACEMENT_ELEVE"),
        ("Coordination et sourcage des mentors", "COORDINATION"),
        ("Petit materiel et fournitures", "PETIT_MATERIEL"),
        ("Rémunération des mentors", "REMUNERATION_MENTOR"),
        ("REMUNERATION_MENTOR", "REMUNERATION_MENTOR"),
        ("autre", "AUTRE"),
        ("Communication (€)", "COMMUNICATION"),
    ],
)
def test_categorie_found_loosely(regles, text, code):
    found = regles.categorie(text)
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize("text", ["Voyage", "Déplacements", "Rémunération", "", "DEPLACEMENT"])
def test_categorie_unknown(regles, text):
    assert regles.categorie(text) is None


def test_for_campagne_is_the_bundled_file(regles):
    assert 2024 in rules_mod.campagnes_connues()
    assert rules_mod.for_campagne(2024) == regles


def test_unknown_campaign():
    with pytest.raises(ReglesInvalides) as info:
        rules_mod.for_campagne(1999)
    message = str(info.value)
    assert "1999" in message
    assert "2024" in message  # the campaigns that are known


# ------------------------------------------------------------- broken rules files


def broken(tmp_path: Path, old: str, new: str, name: str = "regles.toml") -> Path:
    """The bundled rules with `old` replaced by `new`, written to tmp_path."""
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text, f"the bundled rules no longer contain {old!r}"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


FORFAIT = 'forfait_par_eleve = "500.00"'
TAUX_5CV = 'taux = ["0.32", "0.40", "0.23"]'

BROKEN = {
    "syntaxe": ("campagne = 2024", "campagne = = 2024", ["mal formé"]),
    "cle_manquante": (FORFAIT, "", ["forfait_par_eleve", "manquante"]),
    "montant_flottant": (FORFAIT, "forfait_par_eleve = 500.0", ["forfait_par_eleve"]),
    "taux_flottants": (TAUX_5CV, "taux = [0.32, 0.40, 0.23]", ["barème n° 1", "guillemets"]),
    "taux_manquant": (TAUX_5CV, 'taux = ["0.32", "0.40"]', ["barème n° 1", "3 taux"]),
    "taux_en_trop": (TAUX_5CV, 'taux = ["0.32", "0.40", "0.23", "0.10"]', ["3 taux"]),
    "code_en_double": ('code = "AUTRE"', 'code = "COMMUNICATION"', ["catégories", "double"]),
    "libelle_en_double": (
        'libelle = "Autre"',
        'libelle = "Communication"',
        ["catégories", "double"],
    ),
    "fin_avant_debut": ("fin = 2025-12-31", "fin = 2023-12-31", ["fin antérieure au début"]),
    "montant_negatif": (FORFAIT, 'forfait_par_eleve = "-500.00"', ["-500.00"]),
    "millimes": (FORFAIT, 'forfait_par_eleve = "500.001"', ["500.001", "centime"]),
    "montant_texte": (FORFAIT, 'forfait_par_eleve = "cinq cents"', ["cinq cents"]),
    "montant_nan": (FORFAIT, 'forfait_par_eleve = "NaN"', ["NaN"]),
    "montant_infini": (FORFAIT, 'forfait_par_eleve = "Infinity"', ["Infinity"]),
    "montant_enorme": (FORFAIT, f'forfait_par_eleve = "{"9" * 30}"', ["9" * 30]),
    "debut_date_heure": ("debut = 2024-01-01", "debut = 2024-01-01T08:00:00", ["debut"]),
    "campagne_texte": ("campagne = 2024", 'campagne = "2024"', ["campagne"]),
    "tranches_decroissantes": ("tranches_km = [2000, 10000]", "tranches_km = [10000, 2000]", []),
}


@pytest.mark.parametrize(("old", "new", "words"), list(BROKEN.values()), ids=list(BROKEN))
def test_broken_rules_are_refused_in_french(tmp_path, old, new, words):
    path = broken(tmp_path, old, new)
    with pytest.raises(ReglesInvalides) as info:
        rules_mod.load(path)
    message = str(info.value)
    assert message.startswith("regles.toml"), message  # names the file
    for word in words:
        assert word in message, message


def test_missing_file(tmp_path):
    with pytest.raises(ReglesInvalides) as info:
        rules_mod.load(tmp_path / "absent.toml")
    message = str(info.value)
    assert "absent.toml" in message
    assert "illisible" in message


def test_rules_saved_in_windows_1252(tmp_path):
    # Edited with an old Windows editor: `Déplacements` is no longer UTF-8.
    path = tmp_path / "regles.toml"
    path.write_bytes(BUNDLED.read_text(encoding="utf-8").encode("cp1252"))
    with pytest.raises(ReglesInvalides) as info:
        rules_mod.load(path)
    assert str(info.value).startswith("regles.toml")


def test_duplicate_code_does_not_change_what_a_code_means(tmp_path):
    # If a duplicate code were ever accepted, "COMMUNICATION" must not silently become
    # the ineligible category that reused the code.
    path = broken(tmp_path, 'code = "AUTRE"', 'code = "COMMUNICATION"')
    try:
        loaded = rules_mod.load(path)
    except ReglesInvalides:
        return
    assert loaded.categorie("COMMUNICATION").eligible is True


# ----------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("cle_manquante", ["forfait_par_eleve", "manquante"]),
        ("syntaxe", ["mal formé"]),
        ("fin_avant_debut", ["fin antérieure au début"]),
        ("montant_nan", ["NaN"]),
        ("code_en_double", ["double"]),
    ],
)
def test_cli_broken_rules_exit_2_in_french(tmp_path, case, words):
    old, new, _ = BROKEN[case]
    rules_path = broken(tmp_path, old, new)
    out = tmp_path / "modele.xlsx"
    result = CliRunner().invoke(main, ["modele", "-o", str(out), "--regles", str(rules_path)])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    assert "Erreur" in result.output
    assert "regles.toml" in result.output
    for word in words:
        assert word in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_missing_rules_file_exit_2(tmp_path):
    out = tmp_path / "modele.xlsx"
    absent = tmp_path / "absent.toml"
    result = CliRunner().invoke(main, ["modele", "-o", str(out), "--regles", str(absent)])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2
    assert "absent.toml" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_good_rules_file_writes_the_template(tmp_path):
    # The contrast case: the bundled file copied elsewhere is accepted.
    rules_path = tmp_path / "regles.toml"
    rules_path.write_bytes(BUNDLED.read_bytes())
    out = tmp_path / "modele.xlsx"
    result = CliRunner().invoke(main, ["modele", "-o", str(out), "--regles", str(rules_path)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
