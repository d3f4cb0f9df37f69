"""A campaign's rules (`campagnes/2024.toml`), loaded and checked at start.

A rules file that cannot be used raises `ReglesInvalides` with a French message;
the CLI turns it into exit code 2.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from pathlib import Path

from .values import norm, to_cents

CAMPAGNES_DIR = Path(__file__).parent / "campagnes"


class ReglesInvalides(Exception):
    """The rules file cannot be used; the message says why, in French."""


@dataclass(frozen=True)
class Categorie:
    code: str
    libelle: str
    eligible: bool
    aide: str


@dataclass(frozen=True)
class BaremeIK:
    cv_max: int
    taux_cents: tuple[int, ...]  # cents per km, one per band


@dataclass(frozen=True)
class Rules:
    campagne: int
    source: str
    forfait_cents: int
    debut: date
    fin: date
    date_limite_reversement: date
    petit_materiel_cents: int
    ecart_budget_pourcent: int
    mentores_par_mentor: int
    taux_horaire_cents: int
    tranches_km: tuple[int, ...]
    bareme_ik: tuple[BaremeIK, ...]
    categories: tuple[Categorie, ...]

    def categorie(self, text: str) -> Categorie | None:
        """A category from its label or its code, matched loosely."""
        return self._categories_by_key.get(norm(text))

    @cached_property
    def _categories_by_key(self) -> dict[str, Categorie]:
        keys: dict[str, Categorie] = {}
        for c in self.categories:
            keys[norm(c.libelle)] = c
            keys[norm(c.code)] = c
        return keys

    def taux_ik(self, cv: int) -> BaremeIK:
        """The band rates for a fiscal horsepower; the last line has no upper bound."""
        return next((b for b in self.bareme_ik if cv <= b.cv_max), self.bareme_ik[-1])


def _money(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ReglesInvalides(f'{where} : montant attendu entre guillemets, par exemple "500.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ReglesInvalides(f"{where} : montant illisible « {value} »") from None
    if not amount.is_finite() or amount < 0 or amount >= 10**9:
        raise ReglesInvalides(f"{where} : montant positif au centime attendu, lu « {value} »")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ReglesInvalides(f"{where} : montant positif au centime attendu, lu « {value} »")
    return to_cents(amount)


def _get(table: dict, key: str, kind: type | tuple[type, ...], where: str):
    if not isinstance(table, dict) or key not in table:
        raise ReglesInvalides(f"{where} : clé « {key} » manquante")
    value = table[key]
    wrong = (kind is int and isinstance(value, bool)) or (
        kind is date and isinstance(value, datetime)  # a date, not a date and time
    )
    if not isinstance(value, kind) or wrong:
        raise ReglesInvalides(f"{where} : « {key} » a un type inattendu ({value!r})")
    return value


def _bareme(table: dict, where: str) -> tuple[tuple[int, ...], tuple[BaremeIK, ...]]:
    tranches = tuple(_get(table, "tranches_km", list, where))
    if (
        not tranches
        or any(not isinstance(t, int) or t <= 0 for t in tranches)
        or list(tranches) != sorted(set(tranches))
    ):
        raise ReglesInvalides(f"{where} : tranches_km doit être une liste croissante d'entiers")
    bareme = []
    for i, row in enumerate(_get(table, "bareme", list, where), 1):
        here = f"{where}, barème n° {i}"
        taux = tuple(_money(t, here) for t in _get(row, "taux", list, here))
        if len(taux) != len(tranches) + 1:
            raise ReglesInvalides(f"{here} : {len(tranches) + 1} taux attendus, un par tranche")
        bareme.append(BaremeIK(_get(row, "cv_max", int, here), taux))
    if not bareme or [b.cv_max for b in bareme] != sorted(b.cv_max for b in bareme):
        raise ReglesInvalides(f"{where} : barème vide ou non trié par cv_max croissant")
    return tranches, tuple(bareme)


def _categories(rows: list, where: str) -> tuple[Categorie, ...]:
    categories = []
    for i, row in enumerate(rows, 1):
        here = f"{where}, catégorie n° {i}"
        categories.append(
            Categorie(
                code=_get(row, "code", str, here),
                libelle=_get(row, "libelle", str, here),
                eligible=_get(row, "eligible", bool, here),
                aide=str(row.get("aide", "")),
            )
        )
    owners: dict[str, set[int]] = {}
    for i, c in enumerate(categories):
        for key in (norm(c.code), norm(c.libelle)):
            owners.setdefault(key, set()).add(i)
    if not categories or any(len(indexes) > 1 for indexes in owners.values()):
        raise ReglesInvalides(f"{where} : catégories absentes ou en double")
    return tuple(categories)


def load(path: Path) -> Rules:
    where = Path(path).name or str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ReglesInvalides(f"{where} : fichier de règles illisible ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ReglesInvalides(f"{where} : fichier de règles mal formé ({e})") from None
    except UnicodeDecodeError:
        raise ReglesInvalides(f"{where} : enregistrez le fichier de règles en UTF-8") from None
    periode = _get(data, "periode", dict, where)
    seuils = _get(data, "seuils", dict, where)
    tranches, bareme = _bareme(_get(data, "indemnites_kilometriques", dict, where), where)
    rules = Rules(
        campagne=_get(data, "campagne", int, where),
        source=where,
        forfait_cents=_money(_get(data, "forfait_par_eleve", (str, int), where), where),
        debut=_get(periode, "debut", date, f"{where} [periode]"),
        fin=_get(periode, "fin", date, f"{where} [periode]"),
        date_limite_reversement=_get(periode, "date_limite_reversement", date, where),
        petit_materiel_cents=_money(
            _get(seuils, "petit_materiel_par_ligne", (str, int), where), where
        ),
        ecart_budget_pourcent=_get(seuils, "ecart_budget_pourcent", int, f"{where} [seuils]"),
        mentores_par_mentor=_get(seuils, "mentores_par_mentor", int, f"{where} [seuils]"),
        taux_horaire_cents=_money(
            _get(_get(data, "benevolat", dict, where), "taux_horaire", (str, int), where), where
        ),
        tranches_km=tranches,
        bareme_ik=bareme,
        categories=_categories(_get(data, "categories", list, where), where),
    )
    if rules.fin < rules.debut:
        raise ReglesInvalides(f"{where} [periode] : fin antérieure au début")
    return rules


def campagnes_connues() -> list[int]:
    return sorted(int(p.stem) for p in CAMPAGNES_DIR.glob("*.toml") if p.stem.isdigit())


@cache
def for_campagne(campagne: int) -> Rules:
    path = CAMPAGNES_DIR / f"{campagne}.toml"
    if not path.exists():
        known = ", ".join(map(str, campagnes_connues()))
        raise ReglesInvalides(f"aucune règle pour la campagne {campagne} (connues : {known})")
    return load(path)


def latest() -> Rules:
    return for_campagne(campagnes_connues()[-1])
