"""The one description of the establishment workbook (SPEC §4).

Every sheet and column is declared here once, as data. The template writer, the
reader, the validation and the Notice sheet are all generated from it: adding a
column is one edit to this file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import TYPE_CHECKING

from .academies import ACADEMIES
from .anomalies import Gravite
from .values import norm

if TYPE_CHECKING:
    from .rules import Rules


class Kind(Enum):
    TEXT = "texte"
    CODE = "code"
    LIST = "liste"
    MONEY = "montant en euros"
    DATE = "date"
    INT = "nombre entier"
    NUMBER = "nombre"
    BOOL = "Oui ou Non"
    UAI = "UAI"
    YEAR = "année"
    SIRET = "SIRET (14 chiffres)"
    RNA = "RNA (W + 9 chiffres)"
    CODES = "codes séparés par des virgules"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind
    help: str
    required: bool = False
    condition: str = ""  # when required only sometimes: said in the Notice, checked in checks.py
    unique: bool = False
    choices: str = ""  # name of a list (see `lists`)
    ref: str = ""  # key of the sheet whose code this column references
    ref_gravite: Gravite = Gravite.BLOQUANT
    minimum: str = ""  # "ge0", "gt0" or "ge1"
    # What an empty required cell is; "" when an eligibility rule already answers it.
    missing_code: str = "VAL-OBLIGATOIRE"
    list_code: str = "VAL-LISTE"  # what a value outside the list is
    default: object = None
    aliases: tuple[str, ...] = ()
    width: int = 16

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(norm(h) for h in (self.header, *self.aliases)))


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    help: str
    columns: tuple[Column, ...]
    table: str = ""  # Excel table name in the template
    required: bool = True
    key_value: bool = False  # two columns Rubrique / Valeur instead of a table
    template_rows: int = 0
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(norm(n) for n in (self.name, *self.aliases)))

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def code_column(self) -> Column | None:
        """The column that identifies a row and that other sheets reference."""
        return next((c for c in self.columns if c.unique), None)

    def __reduce__(self):
        """A sheet of the schema is sent between processes by its key (a typed table
        names its sheet: ~2 KB of columns per table otherwise, pickled and rebuilt)."""
        if BY_KEY.get(self.key) is self:
            return _schema_sheet, (self.key,)
        return Sheet, tuple(getattr(self, f.name) for f in fields(self))


C = Column
K = Kind

# ------------------------------------------------------------------------- lists

STATIC_LISTS: dict[str, tuple[str, ...]] = {
    "oui_non": ("Oui", "Non"),
    "filieres": ("Numérique", "Énergie", "Mobilité"),
    "filieres_mentor": ("Numérique", "Énergie", "Mobilité", "Autre"),
    "niveaux": ("CAP 1re année", "CAP 2e année", "Seconde", "Première", "Terminale", "BTS"),
    "statuts_eleve": ("En cours", "Terminé", "Abandon"),
    "statuts_mentor": ("Salarié", "Indépendant", "Retraité", "Fonction RH", "Étudiant", "Autre"),
    "verifie_par": ("Partenaire", "DSDEN"),
    "types_partenaire": ("Association", "Entreprise", "Autre"),
    "transports": ("Transport en commun", "Véhicule personnel", "Autocar", "Autre"),
    "types_rencontre": ("Individuelle", "Collective", "Visite d'entreprise", "Salon ou événement"),
    "formats": ("Présentiel", "Distanciel", "Hybride"),
    "lieux": ("Établissement", "Entreprise", "Extérieur", "À distance"),
    "academies": ACADEMIES,
}

# Other spellings users type, matched loosely, for list values.
LIST_ALIASES: dict[str, dict[str, str]] = {
    "niveaux": {
        "1cap": "CAP 1re année",
        "2cap": "CAP 2e année",
        "2nde": "Seconde",
        "1re": "Première",
        "1ere": "Première",
        "tle": "Terminale",
        "terminale bac pro": "Terminale",
    },
    "transports": {
        "voiture personnelle": "Véhicule personnel",
        "vehicule perso": "Véhicule personnel",
        "car": "Autocar",
        "transports en commun": "Transport en commun",
    },
    "types_rencontre": {"visite": "Visite d'entreprise", "salon": "Salon ou événement"},
    "statuts_mentor": {
        "etudiante": "Étudiant",
        "salariee": "Salarié",
        "retraitee": "Retraité",
        "rh": "Fonction RH",
        "independante": "Indépendant",
    },
}


def lists(rules: Rules) -> dict[str, tuple[str, ...]]:
    """Every list shown in drop-downs, the categories coming from the campaign's rules."""
    return {**STATIC_LISTS, "categories": tuple(c.libelle for c in rules.categories)}


def list_lookup(name: str, rules: Rules) -> dict[str, str]:
    """Loose key -> stored value. Categories are stored as their code."""
    if name == "categories":
        return {norm(k): c.code for c in rules.categories for k in (c.code, c.libelle)}
    lookup = {norm(v): v for v in STATIC_LISTS[name]}
    lookup.update({norm(k): v for k, v in LIST_ALIASES.get(name, {}).items()})
    return lookup


# ------------------------------------------------------------------------ sheets

ETABLISSEMENT = Sheet(
    "etablissement",
    "Établissement",
    "Une ligne par rubrique : identité de l'établissement et données de la campagne.",
    key_value=True,
    table="Etablissement",
    aliases=("Etablissement", "EPLE"),
    columns=(
        C(
            "uai",
            "UAI",
            K.UAI,
            "Code UAI de l'établissement : 7 chiffres et une lettre (ex. 0750655E).",
            required=True,
            aliases=("Code UAI", "RNE"),
        ),
        C(
            "nom",
            "Nom de l'établissement",
            K.TEXT,
            "Nom officiel du lycée.",
            required=True,
            aliases=("Établissement", "Nom"),
        ),
        C("academie", "Académie", K.LIST, "Déduite de l'UAI si vide.", choices="academies"),
        C(
            "campagne",
            "Campagne",
            K.YEAR,
            "Année budgétaire des crédits (ex. 2024).",
            required=True,
        ),
        C(
            "dotation",
            "Dotation notifiée (€)",
            K.MONEY,
            "Montant notifié par le rectorat.",
            required=True,
            minimum="ge0",
            aliases=("Dotation",),
        ),
        C(
            "eleves_prevus",
            "Nombre d'élèves prévus",
            K.INT,
            "Élèves prévus dans la notification.",
            required=True,
            minimum="ge0",
            aliases=("Élèves prévus",),
        ),
        C(
            "report",
            "Report de l'exercice précédent (€)",
            K.MONEY,
            "Reliquat de l'année précédente reporté sur cette campagne ; 0 si aucun.",
            minimum="ge0",
            default=0,
            aliases=("Report N-1", "Report"),
        ),
        C(
            "poursuite",
            "Poursuite du mentorat l'année scolaire suivante",
            K.BOOL,
            "Oui : le reliquat est reporté. Non : il est reversé à la DJEPVA.",
            required=True,
            choices="oui_non",
            aliases=("Poursuite",),
        ),
        C(
            "date_arrete",
            "Date d'arrêté des comptes",
            K.DATE,
            "Date de fin des dépenses "
            "prises en compte ; par défaut, la fin de la période d'éligibilité.",
            aliases=("Date d'arrêté",),
        ),
    ),
)

ELEVES = Sheet(
    "eleves",
    "Élèves",
    "Une ligne par élève mentoré. Aucun nom : le code est propre à l'établissement.",
    table="Eleves",
    template_rows=150,
    aliases=("Eleves", "Mentorés"),
    columns=(
        C(
            "code",
            "Code élève",
            K.CODE,
            "Code propre à l'établissement, sans nom (ex. E001).",
            required=True,
            unique=True,
            aliases=("Code eleve", "Identifiant élève", "N° élève"),
        ),
        C(
            "filiere",
            "Filière",
            K.LIST,
            "Numérique, Énergie ou Mobilité.",
            required=True,
            choices="filieres",
            list_code="ELV-FILIERE",
        ),
        C("formation", "Formation", K.TEXT, "Diplôme préparé (ex. Bac pro MELEC).", width=22),
        C("niveau", "Niveau", K.LIST, "Année de formation.", choices="niveaux"),
        C(
            "mentor",
            "Code mentor",
            K.CODE,
            "Code du mentor (feuille Mentors) ; vide si l'élève n'a pas encore de mentor.",
            ref="mentors",
        ),
        C("debut", "Date de début", K.DATE, "Début du mentorat."),
        C("fin", "Date de fin", K.DATE, "Fin du mentorat."),
        C(
            "statut",
            "Statut",
            K.LIST,
            "En cours si vide.",
            choices="statuts_eleve",
            default="En cours",
        ),
        C("boursier", "Boursier", K.BOOL, "Élève boursier.", choices="oui_non"),
        C(
            "qpv",
            "Résidant QPV",
            K.BOOL,
            "Réside dans un quartier prioritaire de la ville.",
            choices="oui_non",
            aliases=("QPV",),
        ),
    ),
)

MENTORS = Sheet(
    "mentors",
    "Mentors",
    "Une ligne par mentor. Aucun nom : le code est propre à l'établissement.",
    table="Mentors",
    template_rows=60,
    columns=(
        C(
            "code",
            "Code mentor",
            K.CODE,
            "Code propre à l'établissement, sans nom (ex. M01).",
            required=True,
            unique=True,
        ),
        C(
            "statut",
            "Statut professionnel",
            K.LIST,
            "Les étudiants ne peuvent pas être mentors.",
            required=True,
            choices="statuts_mentor",
            width=20,
        ),
        C(
            "filiere",
            "Filière d'exercice",
            K.LIST,
            "Filière du métier exercé.",
            choices="filieres_mentor",
        ),
        C("structure", "Structure", K.TEXT, "Employeur ou ancien employeur.", width=24),
        C(
            "partenaire",
            "Code partenaire",
            K.CODE,
            "Partenaire qui présente le mentor ; vide si aucun.",
            ref="partenaires",
        ),
        C(
            "honorabilite",
            "Honorabilité vérifiée",
            K.BOOL,
            "Vérifiée par le partenaire, ou par la DSDEN pour un mentor sans partenaire.",
            required=True,
            choices="oui_non",
        ),
        C(
            "verifie_par",
            "Vérifiée par",
            K.LIST,
            "Partenaire ou DSDEN.",
            choices="verifie_par",
            condition="si l'honorabilité est vérifiée",
        ),
        C("date_verification", "Date de vérification", K.DATE, "Date de la vérification."),
        C(
            "formation",
            "Formation suivie",
            K.BOOL,
            "Le mentor a suivi une formation.",
            choices="oui_non",
        ),
        C(
            "heures",
            "Heures de mentorat",
            K.NUMBER,
            "Heures de mentorat de l'année, pour la valorisation du bénévolat.",
            minimum="ge0",
            aliases=("Heures",),
        ),
    ),
)

PARTENAIRES = Sheet(
    "partenaires",
    "Partenaires",
    "Une ligne par association ou entreprise partenaire.",
    table="Partenaires",
    template_rows=20,
    columns=(
        C(
            "code",
            "Code partenaire",
            K.CODE,
            "Code court, repris dans « Payé à » des dépenses (ex. P01).",
            required=True,
            unique=True,
        ),
        C(
            "raison_sociale",
            "Raison sociale",
            K.TEXT,
            "Nom du partenaire.",
            required=True,
            width=28,
        ),
        C(
            "type",
            "Type",
            K.LIST,
            "Association, Entreprise ou Autre.",
            required=True,
            choices="types_partenaire",
        ),
        C("siret", "SIRET", K.SIRET, "14 chiffres.", width=18),
        C("rna", "RNA", K.RNA, "Associations : W suivi de 9 chiffres.", width=14),
        C(
            "convention",
            "Convention signée",
            K.BOOL,
            "Sans convention signée, aucun versement au partenaire n'est éligible.",
            required=True,
            choices="oui_non",
        ),
        C("reference", "Référence de la convention", K.TEXT, "Référence interne."),
        C("date_signature", "Date de signature", K.DATE, "Date de signature."),
        C(
            "debut",
            "Début de la convention",
            K.DATE,
            "Premier jour couvert.",
            condition="si la convention est signée",
        ),
        C(
            "fin",
            "Fin de la convention",
            K.DATE,
            "Dernier jour couvert.",
            condition="si la convention est signée",
        ),
        C(
            "montant",
            "Montant conventionné (€)",
            K.MONEY,
            "Montant maximal versé au partenaire.",
            minimum="ge0",
            condition="si la convention est signée",
            width=18,
        ),
        C(
            "autre_financement",
            "Autre financement public de l'action",
            K.BOOL,
            "Ex. « 1 jeune 1 mentor » : fléchez les crédits par action.",
            choices="oui_non",
            width=20,
        ),
    ),
)

BUDGET = Sheet(
    "budget",
    "Budget prévisionnel",
    "Annexe des conventions : montants prévus par catégorie, par partenaire ou pour "
    "l'établissement lui-même.",
    table="Budget",
    template_rows=30,
    aliases=("Budget", "Budget previsionnel"),
    columns=(
        C(
            "partenaire",
            "Code partenaire",
            K.CODE,
            "Vide pour les dépenses de l'établissement lui-même.",
            ref="partenaires",
        ),
        C(
            "categorie",
            "Catégorie",
            K.LIST,
            "Catégorie de dépense.",
            required=True,
            choices="categories",
            width=34,
        ),
        C(
            "montant",
            "Montant prévu (€)",
            K.MONEY,
            "Montant prévu.",
            required=True,
            minimum="ge0",
            aliases=("Montant prévisionnel", "Montant"),
        ),
    ),
)

DEPENSES = Sheet(
    "depenses",
    "Dépenses",
    "Une ligne par dépense payée sur les crédits du mentorat.",
    table="Depenses",
    template_rows=300,
    aliases=("Depenses",),
    columns=(
        C(
            "piece",
            "N° de pièce",
            K.CODE,
            "Référence de la facture ou du reçu ; unique.",
            required=True,
            unique=True,
            aliases=("Numéro de pièce", "N° pièce", "Pièce"),
        ),
        C("date", "Date", K.DATE, "Date de la dépense.", required=True),
        C(
            "categorie",
            "Catégorie",
            K.LIST,
            "Catégorie (libellé ou code).",
            required=True,
            choices="categories",
            width=34,
        ),
        C("libelle", "Libellé", K.TEXT, "Objet de la dépense.", width=30),
        C(
            "montant",
            "Montant (€)",
            K.MONEY,
            "Montant TTC.",
            required=True,
            minimum="gt0",
            aliases=("Montant TTC",),
        ),
        C(
            "paye_a",
            "Payé à",
            K.TEXT,
            "Code partenaire (ou sa raison sociale, ou son SIRET) pour un versement au "
            "partenaire ; sinon le fournisseur.",
        ),
        C(
            "justificatif",
            "Justificatif",
            K.BOOL,
            "Facture ou reçu conservé ; sans justificatif, la dépense est inéligible.",
            required=True,
            choices="oui_non",
            missing_code="",  # DEP-JUSTIFICATIF answers it (eligibility)
        ),
        C(
            "service_fait",
            "Service fait vérifié",
            K.BOOL,
            "Obligatoire pour un versement au partenaire.",
            choices="oui_non",
            condition="pour un versement à un partenaire",
        ),
        C("mentor", "Code mentor", K.CODE, "Mentor qui s'est déplacé.", ref="mentors"),
        C(
            "transport",
            "Mode de transport",
            K.LIST,
            "Pour les déplacements.",
            choices="transports",
            width=20,
        ),
        C(
            "km",
            "Kilomètres",
            K.NUMBER,
            "Distance parcourue.",
            minimum="ge0",
            condition="pour un véhicule personnel",
            aliases=("km", "Distance"),
        ),
        C(
            "cv",
            "Puissance fiscale (CV)",
            K.INT,
            "Chevaux fiscaux de la voiture ; les deux-roues utilisent le mode Autre.",
            minimum="ge1",
            condition="pour un véhicule personnel",
            aliases=("CV", "Puissance fiscale"),
        ),
        C(
            "autre_financement",
            "Autre financement public",
            K.BOOL,
            "Même dépense financée par un autre programme de l'État : inéligible.",
            choices="oui_non",
            width=18,
        ),
    ),
)

RENCONTRES = Sheet(
    "rencontres",
    "Rencontres",
    "Facultatif : une ligne par rencontre mentor / élèves.",
    table="Rencontres",
    template_rows=300,
    required=False,
    columns=(
        C("date", "Date", K.DATE, "Date de la rencontre."),
        C(
            "mentor",
            "Code mentor",
            K.CODE,
            "Mentor présent.",
            ref="mentors",
            ref_gravite=Gravite.AVERTISSEMENT,
        ),
        C(
            "eleves",
            "Codes élèves",
            K.CODES,
            "Codes des élèves séparés par des virgules.",
            ref="eleves",
            ref_gravite=Gravite.AVERTISSEMENT,
            width=20,
        ),
        C("type", "Type", K.LIST, "Nature de la rencontre.", choices="types_rencontre", width=20),
        C("format", "Format", K.LIST, "Présentiel, distanciel ou hybride.", choices="formats"),
        C("lieu", "Lieu", K.LIST, "Lieu de la rencontre.", choices="lieux"),
        C("duree", "Durée (h)", K.NUMBER, "Durée en heures.", minimum="gt0", aliases=("Durée",)),
        C(
            "temps_scolaire",
            "Sur temps scolaire",
            K.BOOL,
            "Rencontre sur la grille horaire.",
            choices="oui_non",
        ),
    ),
)

SHEETS: tuple[Sheet, ...] = (
    ETABLISSEMENT,
    ELEVES,
    MENTORS,
    PARTENAIRES,
    BUDGET,
    DEPENSES,
    RENCONTRES,
)
TABLES: tuple[Sheet, ...] = tuple(s for s in SHEETS if not s.key_value)
BY_KEY: dict[str, Sheet] = {s.key: s for s in SHEETS}

# Sheets of the template that the reader ignores.
NOTICE, SYNTHESE, LISTES = "Notice", "Synthèse", "Listes"
IGNORED_SHEETS = frozenset(norm(n) for n in (NOTICE, SYNTHESE, LISTES))


def _schema_sheet(key: str) -> Sheet:
    return BY_KEY[key]


def sheet_for_name(name: str) -> Sheet | None:
    key = norm(name)
    return next((s for s in SHEETS if key in s.keys), None)


def header_lookup(sheet: Sheet) -> dict[str, str]:
    """Loose header key -> column key, for one sheet (the first declaration wins)."""
    lookup: dict[str, str] = {}
    for column in sheet.columns:
        for key in column.keys:
            lookup.setdefault(key, column.key)
    return lookup
