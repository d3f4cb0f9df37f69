"""Realistic sample workbooks, for demos, tests and the benchmark.

Deterministic: workbook i of seed s is drawn from its own generator `Random("s-i")`,
so the same seed always gives the same files, and asking for more workbooks does
not change the first ones. Workbook 0 is clean; the others carry a few of the
mistakes gestionnaires really make (see `MISTAKES`).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stdnum import luhn

from .rules import Rules
from .values import uai_key
from .write.template import Remplissage, write_template

# (département prefix, town) pairs across several académies.
TOWNS = [
    ("075", "Paris"),
    ("069", "Lyon"),
    ("013", "Marseille"),
    ("059", "Lille"),
    ("033", "Bordeaux"),
    ("031", "Toulouse"),
    ("067", "Strasbourg"),
    ("044", "Nantes"),
    ("035", "Rennes"),
    ("076", "Rouen"),
    ("093", "Saint-Denis"),
    ("092", "Nanterre"),
    ("038", "Grenoble"),
    ("034", "Montpellier"),
    ("974", "Saint-Pierre"),
    ("054", "Nancy"),
]
PATRONS = [
    "Jean Jaurès",
    "Louise Michel",
    "Marie Curie",
    "Gustave Eiffel",
    "Jules Verne",
    "Ambroise Croizat",
    "Hélène Boucher",
    "Léonard de Vinci",
    "Camille Claudel",
    "Simone Veil",
    "Denis Papin",
    "Édouard Branly",
    "Paul Langevin",
    "Nelson Mandela",
    "Frédéric Joliot-Curie",
    "Hubertine Auclert",
]
FORMATIONS = {
    "Numérique": [("Bac pro CIEL", ("Seconde", "Première", "Terminale")), ("BTS SIO", ("BTS",))],
    "Énergie": [
        ("Bac pro MELEC", ("Seconde", "Première", "Terminale")),
        ("CAP Électricien", ("CAP 1re année", "CAP 2e année")),
        ("Bac pro ICCER", ("Première", "Terminale")),
    ],
    "Mobilité": [
        ("Bac pro MV", ("Seconde", "Première", "Terminale")),
        ("CAP MV", ("CAP 1re année", "CAP 2e année")),
        ("CAP Maintenance nautique", ("CAP 1re année", "CAP 2e année")),
    ],
}
ASSOCIATIONS = [
    "Passerelles Pro",
    "Tremplin Métiers",
    "Réseau Parrains d'Avenir",
    "Cap Insertion",
    "Les Bâtisseurs de Liens",
    "Élan Jeunesse",
    "Horizons Entreprises",
    "Mentorat Solidaire",
]
COMPANIES = {
    "Numérique": ["Datavia Conseil", "Octet & Cie", "NumériSud", "Cyberlog Services"],
    "Énergie": ["Électricité Durand", "Solaris Énergies", "Thermo Réseaux", "Voltéo"],
    "Mobilité": ["Garage des Lilas", "Autonomia", "Nautic Services", "Transports Morel"],
}
SUPPLIERS = {
    "COMMUNICATION": [
        ("Imprimerie du Centre", "Flyers et affiches du programme"),
        ("Kakémono Express", "Kakémono pour le forum des métiers"),
        ("Traiteur Saveurs", "Collation de la soirée de lancement"),
    ],
    "PETIT_MATERIEL": [
        ("Bureau Vallée", "Fournitures pour les ateliers"),
        ("Papeterie Martin", "Carnets de suivi des mentorés"),
        ("Leroy Outillage", "Petit outillage pour la visite d'atelier"),
    ],
    "DEPLACEMENT_ELEVE": [
        ("Autocars Bernard", "Car pour la visite d'entreprise"),
        ("SNCF", "Billets de train, salon des métiers"),
        ("Transdev", "Car pour le salon de l'industrie"),
    ],
}


VEHICULE = "Véhicule personnel"


@dataclass(frozen=True)
class Size:
    eleves: tuple[int, int]
    mentors_ratio: float
    partenaires: tuple[int, int]
    depenses: tuple[int, int]
    rencontres_par_eleve: float


NORMAL = Size((18, 60), 2.6, (2, 4), (25, 60), 2.5)
BENCH = Size((120, 120), 3.0, (6, 6), (300, 300), 400 / 120)


def slug(text: str, limit: int = 60) -> str:
    """`Lycée Jean Jaurès (Paris)` -> `lycee-jean-jaures-paris`, at most `limit` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


def _siret(rng: random.Random) -> str:
    siren = "".join(rng.choice("0123456789") for _ in range(8))
    siren += luhn.calc_check_digit(siren)
    nic = "0001"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def _date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _cents(rng: random.Random, low: int, high: int, step: int = 1) -> int:
    """A price in cents between low and high euros."""
    return rng.randrange(low * 100, high * 100 + 1, step)


class Generator:
    """One establishment's workbook content."""

    def __init__(self, rng: random.Random, rules: Rules, size: Size, index: int):
        self.rng, self.rules, self.size, self.index = rng, rules, size, index
        self.year = rules.campagne
        self.school_start = dt.date(self.year, 9, 2)
        self.school_end = dt.date(self.year + 1, 6, 30)

    def build(self) -> Remplissage:
        rng = self.rng
        prefix, town = (
            TOWNS[self.index % len(TOWNS)] if self.index < len(TOWNS) else rng.choice(TOWNS)
        )
        digits = prefix + f"{rng.randrange(10000):04d}"
        self.filieres = rng.sample(list(FORMATIONS), k=rng.choice((1, 2, 2, 3)))
        n = rng.randint(*self.size.eleves)
        prevus = n + rng.choice((0, 0, 2, 4, -2)) if self.size is NORMAL else n
        dotation = self.rules.forfait_cents * prevus
        if rng.random() < 0.3:  # envelope short: pro-rata share
            dotation = dotation * rng.choice((80, 90, 95)) // 100 // 100 * 100
        fill = Remplissage()
        fill.etablissement = {
            "uai": digits + uai_key(digits),
            "nom": f"Lycée professionnel {rng.choice(PATRONS)} ({town})",
            "academie": None,
            "campagne": self.year,
            "dotation": dotation,
            "eleves_prevus": prevus,
            "report": 0,
            "poursuite": rng.random() < 0.8 and self.index != 2,  # one sample returns credits
            "date_arrete": dt.date(self.year + 1, 6, 30) if rng.random() < 0.3 else None,
        }
        partners = self.partners(dotation)
        mentors = self.mentors(n, partners)
        eleves = self.eleves(n, mentors)
        depenses = self.depenses(partners, mentors, dotation)
        fill.lignes = {
            "partenaires": partners,
            "mentors": mentors,
            "eleves": eleves,
            "budget": self.budget(partners, depenses),
            "depenses": depenses,
            "rencontres": self.rencontres(eleves),
        }
        return fill

    def partners(self, dotation: int) -> list[dict]:
        rng = self.rng
        rows = []
        names = rng.sample(ASSOCIATIONS, k=min(len(ASSOCIATIONS), self.size.partenaires[1]))
        for i in range(rng.randint(*self.size.partenaires)):
            association = i % 3 != 2
            filiere = rng.choice(self.filieres)
            name = names[i % len(names)] if association else rng.choice(COMPANIES[filiere])
            start = dt.date(self.year, 9, 1)
            rows.append(
                {
                    "code": f"P{i + 1:02d}",
                    "raison_sociale": name if i < len(names) else f"{name} {i}",
                    "type": "Association" if association else "Entreprise",
                    "siret": _siret(rng),
                    "rna": f"W{rng.randrange(10**9):09d}" if association else None,
                    "convention": True,
                    "reference": f"CONV-{self.year}-{i + 1:02d}",
                    "date_signature": start - dt.timedelta(days=rng.randint(5, 40)),
                    "debut": start,
                    "fin": dt.date(self.year + 1, 8, 31),
                    "montant": dotation * rng.randrange(8, 18) // 100 // 10000 * 10000,
                    "autre_financement": False,
                }
            )
        return rows

    def mentors(self, n_eleves: int, partners: list[dict]) -> list[dict]:
        rng = self.rng
        count = max(2, round(n_eleves / self.size.mentors_ratio))
        rows = []
        for i in range(count):
            filiere = rng.choice(self.filieres)
            partner = rng.choice(partners)["code"] if rng.random() < 0.85 else None
            status = rng.choices(
                ["Salarié", "Retraité", "Indépendant", "Fonction RH", "Autre"],
                weights=(60, 18, 10, 8, 4),
            )[0]
            rows.append(
                {
                    "code": f"M{i + 1:02d}",
                    "statut": status,
                    "filiere": filiere,
                    "structure": rng.choice(COMPANIES[filiere]),
                    "partenaire": partner,
                    "honorabilite": True,
                    "verifie_par": "Partenaire" if partner else "DSDEN",
                    "date_verification": _date(
                        rng, dt.date(self.year, 6, 1), dt.date(self.year, 9, 30)
                    ),
                    "formation": rng.random() < 0.75,
                    "heures": rng.randrange(6, 40),
                }
            )
        return rows

    def eleves(self, n: int, mentors: list[dict]) -> list[dict]:
        rng = self.rng
        by_filiere = {f: [m for m in mentors if m["filiere"] == f] for f in self.filieres}
        load: dict[str, int] = {m["code"]: 0 for m in mentors}
        rows = []
        for i in range(n):
            filiere = rng.choice(self.filieres)
            formation, niveaux = rng.choice(FORMATIONS[filiere])
            candidates = [m for m in by_filiere[filiere] or mentors if load[m["code"]] < 3]
            mentor = rng.choice(candidates)["code"] if candidates and rng.random() < 0.92 else None
            if mentor:
                load[mentor] += 1
            status = rng.choices(["En cours", "Terminé", "Abandon"], weights=(80, 14, 6))[0]
            start = _date(rng, self.school_start, dt.date(self.year, 11, 30))
            rows.append(
                {
                    "code": f"E{i + 1:03d}",
                    "filiere": filiere,
                    "formation": formation,
                    "niveau": rng.choice(niveaux),
                    "mentor": mentor,
                    "debut": start if mentor else None,
                    "fin": _date(rng, dt.date(self.year + 1, 3, 1), self.school_end)
                    if status != "En cours"
                    else None,
                    "statut": status if status != "En cours" or rng.random() < 0.7 else None,
                    "boursier": rng.random() < 0.45,
                    "qpv": rng.random() < 0.22,
                }
            )
        return rows

    def budget(self, partners: list[dict], depenses: list[dict]) -> list[dict]:
        """The annex of the conventions: what was planned, close to what is then spent."""
        rows = [
            {
                "partenaire": p["code"],
                "categorie": self.rules.categorie("COORDINATION").libelle,
                "montant": p["montant"],
            }
            for p in partners
        ]
        spent: dict[str, int] = {}
        for d in depenses:
            category = self.rules.categorie(d["categorie"])
            if category.code != "COORDINATION" and isinstance(d["montant"], int):
                spent[category.libelle] = spent.get(category.libelle, 0) + d["montant"]
        for label, amount in spent.items():
            planned = amount * self.rng.randrange(90, 131) // 100
            rows.append(
                {
                    "partenaire": None,
                    "categorie": label,
                    "montant": max(10_000, planned // 1000 * 1000),
                }
            )
        return rows

    def depenses(self, partners: list[dict], mentors: list[dict], dotation: int) -> list[dict]:
        rng = self.rng
        n = rng.randint(*self.size.depenses)
        makers: list[tuple[int, Callable[[], dict]]] = [
            (30, lambda: self._mileage(mentors)),
            (12, lambda: self._ticket(mentors)),
            (10, lambda: self._supplier("DEPLACEMENT_ELEVE", 150, 1200)),
            (12, lambda: self._supplier("COMMUNICATION", 40, 600)),
            (14, lambda: self._supplier("PETIT_MATERIEL", 15, 300)),
            (6, lambda: self._training()),
        ]
        weights = [w for w, _ in makers]
        rows = [self._partner_payment(p, k) for p in partners for k in (1, 2)]
        # Spend between 55 % and 102 % of the dotation (the benchmark size: exactly n lines).
        target = dotation * rng.randrange(55, 103) // 100
        spent = sum(r["montant"] for r in rows)
        while len(rows) < n or (self.size is NORMAL and spent < target and len(rows) < 250):
            row = rng.choices(makers, weights=weights)[0][1]()
            rows.append(row)
            spent += row["montant"]
        rng.shuffle(rows)
        rows.sort(key=lambda r: r["date"])
        for i, row in enumerate(rows, 1):
            row["piece"] = f"{self.year}-{i:04d}"
        return rows

    def _base(self, category: str, amount: int, label: str, paid_to: str) -> dict:
        return {
            "date": _date(self.rng, self.school_start, self.school_end),
            "categorie": self.rules.categorie(category).libelle,  # type: ignore[union-attr]
            "libelle": label,
            "montant": amount,
            "paye_a": paid_to,
            "justificatif": True,
            "service_fait": None,
            "mentor": None,
            "transport": None,
            "km": None,
            "cv": None,
            "autre_financement": None,
        }

    def _mileage(self, mentors: list[dict]) -> dict:
        rng = self.rng
        mentor = rng.choice(mentors)["code"]
        km = rng.randrange(8, 140)
        cv = rng.choice((4, 5, 5, 6, 7, 8))
        rate = self.rules.taux_ik(cv).taux_cents[0]
        amount = km * rate if rng.random() < 0.85 else km * (rate + rng.choice((5, 10, 20)))
        row = self._base(
            "DEPLACEMENT_MENTOR", amount, f"Indemnités kilométriques {km} km", f"Mentor {mentor}"
        )
        row.update({"mentor": mentor, "transport": "Véhicule personnel", "km": km, "cv": cv})
        return row

    def _ticket(self, mentors: list[dict]) -> dict:
        mentor = self.rng.choice(mentors)["code"]
        row = self._base(
            "DEPLACEMENT_MENTOR", _cents(self.rng, 2, 45), "Titres de transport", f"Mentor {mentor}"
        )
        row.update({"mentor": mentor, "transport": "Transport en commun"})
        return row

    def _supplier(self, category: str, low: int, high: int) -> dict:
        supplier, label = self.rng.choice(SUPPLIERS[category])
        row = self._base(category, _cents(self.rng, low, high), label, supplier)
        if category == "DEPLACEMENT_ELEVE" and supplier != "SNCF":
            row["transport"] = "Autocar"
        return row

    def _training(self) -> dict:
        return self._base(
            "FORMATION",
            _cents(self.rng, 80, 450),
            "Formation à l'écoute active",
            "Organisme Former+",
        )

    def _partner_payment(self, partner: dict, instalment: int) -> dict:
        amount = partner["montant"] // 2
        row = self._base(
            "COORDINATION",
            amount,
            f"Convention {partner['reference']}, versement {instalment}",
            partner["code"],
        )
        row["date"] = (
            dt.date(self.year, 10, 15) if instalment == 1 else dt.date(self.year + 1, 3, 15)
        )
        row["service_fait"] = True
        return row

    def rencontres(self, eleves: list[dict]) -> list[dict]:
        rng = self.rng
        paired = [e for e in eleves if e["mentor"]]
        if not paired:
            return []
        rows = []
        for _ in range(round(len(eleves) * self.size.rencontres_par_eleve)):
            eleve = rng.choice(paired)
            kind = rng.choices(
                ["Individuelle", "Collective", "Visite d'entreprise", "Salon ou événement"],
                weights=(70, 15, 10, 5),
            )[0]
            group = [eleve["code"]]
            if kind != "Individuelle":
                same = [e["code"] for e in paired if e["mentor"] == eleve["mentor"]]
                group = sorted(set(same) | {eleve["code"]})
            fmt = rng.choices(["Présentiel", "Distanciel", "Hybride"], weights=(75, 18, 7))[0]
            place = (
                "À distance"
                if fmt == "Distanciel"
                else {
                    "Visite d'entreprise": "Entreprise",
                    "Salon ou événement": "Extérieur",
                }.get(kind, rng.choice(["Établissement", "Établissement", "Entreprise"]))
            )
            rows.append(
                {
                    "date": _date(rng, self.school_start, self.school_end),
                    "mentor": eleve["mentor"],
                    "eleves": ", ".join(group),
                    "type": kind,
                    "format": fmt,
                    "lieu": place,
                    "duree": rng.choice((1, 1, 1.5, 2, 2, 3)),
                    "temps_scolaire": rng.random() < 0.6,
                }
            )
        rows.sort(key=lambda r: r["date"])
        return rows


# ------------------------------------------------------------------- mistakes


def _pick(rng: random.Random, rows: list[dict], **where: object) -> dict | None:
    candidates = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
    return rng.choice(candidates) if candidates else None


def _text_amount(fill: Remplissage, rng: random.Random) -> None:
    """An amount typed as French text: valid, read as typed."""
    row = rng.choice(fill.lignes["depenses"])
    euros, cents = divmod(row["montant"], 100)
    row["montant"] = f"{euros:,}".replace(",", "\u00a0") + f",{cents:02d} €"


def _unreadable_amount(fill: Remplissage, rng: random.Random) -> None:
    rng.choice(fill.lignes["depenses"])["montant"] = "12,5,0"


def _text_date(fill: Remplissage, rng: random.Random) -> None:
    row = rng.choice(fill.lignes["depenses"])
    row["date"] = row["date"].strftime("%d/%m/%Y")


def _impossible_date(fill: Remplissage, rng: random.Random) -> None:
    rng.choice(fill.lignes["depenses"])["date"] = f"31/02/{fill.etablissement['campagne'] + 1}"


def _unknown_mentor(fill: Remplissage, rng: random.Random) -> None:
    row = _pick(rng, fill.lignes["eleves"]) or {}
    row["mentor"] = "M99"


def _student_mentor(fill: Remplissage, rng: random.Random) -> None:
    rng.choice(fill.lignes["mentors"])["statut"] = "Étudiant"


def _no_receipt(fill: Remplissage, rng: random.Random) -> None:
    rng.choice(fill.lignes["depenses"])["justificatif"] = None


def _out_of_period(fill: Remplissage, rng: random.Random) -> None:
    row = rng.choice(fill.lignes["depenses"])
    row["date"] = dt.date(fill.etablissement["campagne"] + 2, 1, 15)  # type: ignore[operator]


def _bad_uai_key(fill: Remplissage, rng: random.Random) -> None:
    uai = str(fill.etablissement["uai"])
    wrong = next(c for c in "ABCDEFGH" if c != uai[7])
    fill.etablissement["uai"] = uai[:7] + wrong


def _unsigned_convention(fill: Remplissage, rng: random.Random) -> None:
    partner = rng.choice(fill.lignes["partenaires"])
    partner.update({"convention": False, "date_signature": None, "reference": None})


def _duplicate_piece(fill: Remplissage, rng: random.Random) -> None:
    rows = fill.lignes["depenses"]
    rows[-1]["piece"] = rows[len(rows) // 2]["piece"]


def _outside_filiere(fill: Remplissage, rng: random.Random) -> None:
    rng.choice(fill.lignes["eleves"])["filiere"] = "Bâtiment"


def _mentor_not_checked_by_dsden(fill: Remplissage, rng: random.Random) -> None:
    row = rng.choice(fill.lignes["mentors"])
    row.update({"partenaire": None, "verifie_par": "Partenaire"})


def _bad_siret(fill: Remplissage, rng: random.Random) -> None:
    partner = rng.choice(fill.lignes["partenaires"])
    partner["siret"] = partner["siret"][:-1] + str((int(partner["siret"][-1]) + 1) % 10)


def _paid_mentor(fill: Remplissage, rng: random.Random) -> None:
    row = rng.choice(fill.lignes["depenses"])
    row.update(
        {
            "categorie": "Rémunération des mentors",
            "libelle": "Vacation de mentorat",
            "transport": None,
            "km": None,
            "cv": None,
        }
    )


MISTAKES: list[Callable[[Remplissage, random.Random], None]] = [
    _text_amount,
    _unreadable_amount,
    _text_date,
    _impossible_date,
    _unknown_mentor,
    _student_mentor,
    _no_receipt,
    _out_of_period,
    _bad_uai_key,
    _unsigned_convention,
    _duplicate_piece,
    _outside_filiere,
    _mentor_not_checked_by_dsden,
    _bad_siret,
    _paid_mentor,
]


# ------------------------------------------------------- the benchmark's density

# The benchmark's workbooks carry the density of mistakes of a real campaign (SPEC §8:
# about 90 anomalies and 55 rejected lines per workbook), on top of the samples' few: per
# workbook, a range of how many lines or rows each habit touches. Calibrated by measuring
# 50 workbooks (scripts/bench.py prints the means of the workbooks it times).
BENCH_HABITS: dict[str, tuple[int, int]] = {
    "ik_au_dela": (22, 34),  # car trips claimed above the allowance (DEP-IK)
    "ik_sans_km": (1, 3),  # no kilometres or horsepower (DEP-IK-DONNEES)
    "sans_justificatif": (2, 6),  # no receipt (DEP-JUSTIFICATIF)
    "hors_periode": (1, 3),  # dated after the period (DEP-PERIODE)
    "categorie": (1, 3),  # paid mentors, « Autre » (DEP-CATEGORIE)
    "cumul": (0, 2),  # also funded by another State programme (DEP-CUMUL)
    "service_fait": (0, 1),  # a partner's invoice not checked (DEP-SERVICE-FAIT)
    "au_dela_convention": (0, 1),  # a partner paid above its convention (DEP-PLAFOND-…)
    "petit_materiel": (0, 2),  # supplies above 800 € a line (DEP-PETIT-MATERIEL)
    "budget_depasse": (0, 2),  # a category 20 % above its planned amount (BUD-ECART)
    "piece_en_double": (0, 2),  # a receipt number typed twice (VAL-DOUBLON)
    "filiere_mentor": (6, 14),  # a mentor of none of their mentees' filières (MEN-FILIERE)
    "sans_formation": (2, 6),  # more mentors not trained (MEN-FORMATION)
    "mentor_charge": (0, 2),  # a mentor with a fourth mentee (MEN-MENTORES)
    "eleve_inconnu": (2, 8),  # a meeting naming a student not listed (VAL-REFERENCE)
    "partenaire_cofinance": (0, 1),  # a partner funded elsewhere (PAR-AUTRE-FINANCEMENT)
}


def _some(rng: random.Random, rows: list[dict], habit: str) -> list[dict]:
    low, high = BENCH_HABITS[habit]
    return rng.sample(rows, k=min(len(rows), rng.randint(low, high)))


def bench_mistakes(fill: Remplissage, rng: random.Random, rules: Rules) -> None:
    """The habits of BENCH_HABITS, drawn from their own generator (the samples' mistakes
    and the normal mode's workbooks are left as they are)."""
    lines = [d for d in fill.lignes["depenses"] if isinstance(d["montant"], int)]
    cars = [d for d in lines if d["transport"] == VEHICULE and d["km"] and d["cv"]]
    exact = [d for d in cars if d["montant"] == d["km"] * rules.taux_ik(d["cv"]).taux_cents[0]]
    for d in _some(rng, exact, "ik_au_dela"):
        d["montant"] = d["km"] * (rules.taux_ik(d["cv"]).taux_cents[0] + rng.choice((5, 10, 20)))
    for d in _some(rng, [d for d in cars if d not in exact], "ik_sans_km"):
        d[rng.choice(("km", "cv"))] = None
    others = [d for d in lines if d["transport"] != VEHICULE and d["service_fait"] is None]
    picked = rng.sample(others, k=min(len(others), 20))
    for habit, change in (
        ("sans_justificatif", {"justificatif": None}),
        ("hors_periode", {"date": dt.date(rules.campagne + 2, 1, rng.randint(5, 25))}),
        ("cumul", {"autre_financement": True}),
    ):
        for d in _some(rng, picked[:5], habit):
            d.update(change)
        picked = picked[5:]
    for d in _some(rng, picked, "categorie"):
        label = rng.choice(("Rémunération des mentors", "Autre"))
        d.update(categorie=label, libelle="Vacation de mentorat" if "Rém" in label else "Divers")
    payments = [d for d in lines if d["service_fait"]]
    for d in _some(rng, payments, "service_fait"):
        d["service_fait"] = False
    for d in _some(rng, [d for d in payments if d["service_fait"]], "au_dela_convention"):
        d["montant"] += rng.randrange(200, 800) * 100
    supplies = [d for d in lines if d["categorie"] == "Petit matériel et fournitures"]
    for d in _some(rng, supplies, "petit_materiel"):
        d["montant"] = _cents(rng, 820, 1400)
    for d in _some(rng, lines[1:], "piece_en_double"):
        d["piece"] = lines[0]["piece"]
    planned = [b for b in fill.lignes["budget"] if b["partenaire"] is None]
    for b in _some(rng, planned, "budget_depasse"):
        b["montant"] = max(10_000, b["montant"] * 7 // 10 // 1000 * 1000)
    for p in _some(rng, fill.lignes["partenaires"], "partenaire_cofinance"):
        p["autre_financement"] = True
    _mentor_habits(fill, rng)


def _mentor_habits(fill: Remplissage, rng: random.Random) -> None:
    eleves, mentors = fill.lignes["eleves"], fill.lignes["mentors"]
    theirs: dict[str, set] = {}
    for e in eleves:
        if e["mentor"]:
            theirs.setdefault(e["mentor"], set()).add(e["filiere"])
    with_mentees = [m for m in mentors if m["code"] in theirs]
    for m in _some(rng, with_mentees, "filiere_mentor"):
        m["filiere"] = next(f for f in (*FORMATIONS, "Autre") if f not in theirs[m["code"]])
    for m in _some(rng, [m for m in mentors if m["formation"]], "sans_formation"):
        m["formation"] = False
    alone = [e for e in eleves if not e["mentor"] and e["filiere"] in FORMATIONS]
    for e in _some(rng, alone, "mentor_charge"):
        busy = [m for m in with_mentees if sum(x["mentor"] == m["code"] for x in eleves) >= 3]
        if busy:
            e.update(mentor=rng.choice(busy)["code"], statut="En cours", fin=None)
    meetings = fill.lignes["rencontres"]
    for r in _some(rng, meetings, "eleve_inconnu"):
        r["eleves"] = f"{r['eleves']}, E{len(eleves) + rng.randint(1, 50):03d}"


def example(index: int, graine: int, rules: Rules, bench: bool = False) -> Remplissage:
    rng = random.Random(f"{graine}-{index}")
    fill = Generator(rng, rules, BENCH if bench else NORMAL, index).build()
    if index > 0:
        for mistake in rng.sample(MISTAKES, k=rng.choice((1, 2, 3))):
            mistake(fill, rng)
    if bench:
        bench_mistakes(fill, random.Random(f"{graine}-{index}-banc"), rules)
    return fill


def write_examples(
    folder: Path, nombre: int, graine: int, rules: Rules, bench: bool = False
) -> list[Path]:
    paths, used = [], set()
    for i in range(nombre):
        fill = example(i, graine, rules, bench)
        fill.etablissement["uai"] = _unused_uai(fill.etablissement["uai"], used)
        name = f"{fill.etablissement['uai']}-{slug(str(fill.etablissement['nom']))}.xlsx"
        paths.append(write_template(Path(folder) / name, rules, fill))
    return paths


def _unused_uai(uai: object, used: set) -> object:
    """The UAI, or the next number of its département not yet drawn (thousands of
    samples draw the same number twice); its key letter stays right, or stays wrong."""
    text = str(uai)
    if len(text) == 8 and text[:7].isdigit():
        right = text[7] == uai_key(text[:7])
        while text in used:
            digits = f"{text[:3]}{(int(text[3:7]) + 1) % 10_000:04d}"
            key = uai_key(digits)
            text = digits + (key if right else next(c for c in "ABCDEFGH" if c != key))
        uai = text
    used.add(text)
    return uai
