"""Anomalies as data: the record, the severities, and the catalogue of codes.

Every stage (read, validate, eligibility, batch) appends anomalies to a list
instead of raising; the list travels with the data to the reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Gravite(StrEnum):
    BLOQUANT = "Bloquant"
    AVERTISSEMENT = "Avertissement"
    INFORMATION = "Information"


B, A, INFO = Gravite.BLOQUANT, Gravite.AVERTISSEMENT, Gravite.INFORMATION

# code -> (default severity, French message template). Templates are formatted
# with the keyword arguments given to `Anomalies.add`; `{valeur}` is the value read.
CATALOGUE: dict[str, tuple[Gravite, str]] = {
    # The file as a whole.
    "FIC-VIDE": (B, "le fichier est vide (0 octet) ; renvoyez le classeur enregistré"),
    "FIC-FORMAT": (
        B,
        "ce fichier n'est pas un classeur lisible ({detail}) ; enregistrez-le au format "
        ".xlsx, .xlsm, .ods ou .xls",
    ),
    "FIC-CORROMPU": (
        B,
        "classeur endommagé, impossible de le lire ({detail}) ; ouvrez-le dans Excel ou "
        "LibreOffice et enregistrez-le à nouveau",
    ),
    "FIC-CHIFFRE": (
        B,
        "classeur protégé par un mot de passe ; enregistrez une copie sans mot de passe "
        "(Excel : Fichier > Informations > Protéger le classeur > Chiffrer avec mot de passe, "
        "videz le mot de passe ; LibreOffice : Fichier > Enregistrer sous, décochez "
        "« Enregistrer avec mot de passe ») et renvoyez cette copie",
    ),
    "FIC-MODELE": (
        B,
        "ce fichier n'est pas un classeur d'établissement du plan mentorat : aucune des "
        "feuilles attendues ({attendues}) n'y figure (feuilles lues : {lues}) ; remplissez le "
        "modèle de classeur (mentorat-budget modele) et renvoyez-le",
    ),
    "FIC-TAILLE": (
        B,
        "fichier trop volumineux ({detail}) ; la limite est de {limite} : retirez les "
        "feuilles, images ou lignes inutiles",
    ),
    "FIC-COMPRESSION": (
        B,
        "contenu compressé anormal ({detail}) : fichier refusé par sécurité ; enregistrez "
        "le classeur à nouveau depuis Excel ou LibreOffice",
    ),
    "FIC-LIGNES": (
        B,
        "feuille trop grande ({detail}) ; la limite est de {limite} : supprimez les lignes "
        "et colonnes vides ou inutiles, en bas et à droite de la feuille",
    ),
    "FIC-RESSOURCES": (B, "lecture du fichier interrompue : {detail}"),
    # Sheets and columns.
    "FEU-ANOMALIES": (
        B,
        "{nombre} autres anomalies {code} sur la feuille « {feuille} » ne sont pas détaillées "
        "ici (les {limite} premières le sont) ; corrigez d'abord celles-ci, puis vérifiez à "
        "nouveau le classeur",
    ),
    "FEU-ILLISIBLE": (
        B,
        "feuille « {feuille} » illisible ({detail}) : aucune de ses lignes n'est lue ; "
        "enregistrez le classeur à nouveau depuis Excel ou LibreOffice",
    ),
    "FEU-ENTETE": (
        B,
        "feuille « {feuille} » : ligne d'en-tête introuvable ({detail}) : aucune de ses "
        "lignes n'est lue ; recopiez la ligne d'en-tête du modèle au-dessus des données",
    ),
    "FEU-VIDE": (
        A,
        "feuille « {feuille} » sans aucune ligne : {quoi} ; {aide}",
    ),
    "FEU-COPIE": (
        A,
        "feuille « {feuille} » : copie de la feuille « {original} », non lue (ses lignes ne "
        "sont pas comptées) ; {conseil}",
    ),
    "LIG-TOTAL": (
        INFO,
        "ligne {ligne} lue comme une ligne de total ({quoi}) : elle est ignorée, ses "
        "montants ne sont pas comptés une seconde fois",
    ),
    "FEU-MANQUANTE": (
        B,
        "feuille « {feuille} » introuvable ; ajoutez-la (copiez-la depuis le modèle) ou "
        "renommez la feuille existante",
    ),
    "COL-MANQUANTE": (
        B,
        "colonne obligatoire « {colonne} » introuvable dans la ligne d'en-tête ; ajoutez-la "
        "ou renommez la colonne existante",
    ),
    "COL-DOUBLON": (
        A,
        "colonne « {colonne} » présente deux fois ; seule la première (colonne {premiere}) "
        "est lue : supprimez ou renommez celle-ci",
    ),
    "RUB-MANQUANTE": (
        B,
        "rubrique « {colonne} » introuvable ; ajoutez la ligne « {colonne} » dans la "
        "colonne Rubrique",
    ),
    # Values.
    "VAL-OBLIGATOIRE": (B, "« {colonne} » est vide : à compléter. {aide}"),
    "VAL-FUSION": (
        A,
        "cellules fusionnées {plage} : la valeur « {valeur} » est reprise sur chacune de "
        "leurs lignes ; défusionnez-les et saisissez une valeur par ligne",
    ),
    "VAL-FORMULE": (
        B,
        "« {colonne} » : formule sans valeur calculée (le classeur n'a jamais été recalculé) ; "
        "ouvrez-le dans Excel ou LibreOffice, enregistrez-le, puis renvoyez-le",
    ),
    "VAL-ERREUR": (
        B,
        "« {colonne} » : cellule en erreur « {valeur} » ; corrigez la formule ou saisissez "
        "la valeur",
    ),
    "VAL-MONTANT": (B, "montant illisible « {valeur} » ; saisissez un nombre, par exemple 12,50"),
    "VAL-MONTANT-AMBIGU": (
        B,
        "montant ambigu « {valeur} » (plus de deux décimales) ; saisissez par exemple 1234 ou 1,23",
    ),
    "VAL-DATE": (
        B,
        "date illisible « {valeur} » ; saisissez une date, par exemple 12/03/2025",
    ),
    "VAL-OUINON": (B, "réponse illisible « {valeur} » ; saisissez Oui ou Non"),
    "VAL-ENTIER": (
        B,
        "« {valeur} » n'est pas un nombre entier ; saisissez un entier, par exemple 12",
    ),
    "VAL-NOMBRE": (B, "nombre illisible « {valeur} » ; saisissez un nombre, par exemple 12,5"),
    "VAL-DEMESURE": (
        B,
        "« {colonne} » : « {valeur} » est hors de toute mesure (10 millions ou plus) ; "
        "vérifiez la saisie",
    ),
    "VAL-ANNEE": (B, "année illisible « {valeur} » ; saisissez une année, par exemple 2024"),
    "VAL-LISTE": (B, "valeur « {valeur} » hors liste ; choisissez parmi : {choix}"),
    "VAL-NEGATIF": (B, "« {colonne} » ne peut pas être négatif ({valeur}) ; corrigez le signe"),
    "VAL-POSITIF": (
        B,
        "« {colonne} » doit être strictement positif ({valeur}) ; supprimez la ligne ou "
        "saisissez le montant réel",
    ),
    "VAL-AVOIR": (
        B,
        "montant négatif ({valeur}) : un avoir ne se saisit pas en négatif ; déduisez-le du "
        "montant de la facture qu'il corrige (saisissez le montant net payé et conservez "
        "l'avoir avec la facture), ou supprimez la ligne de la facture si l'avoir l'annule "
        "en entier",
    ),
    "VAL-MINIMUM": (B, "« {colonne} » doit valoir au moins {minimum} (lu : {valeur})"),
    "VAL-DOUBLON": (
        B,
        "« {valeur} » figure déjà en ligne {premiere} ; chaque {colonne} doit être unique",
    ),
    "VAL-REFERENCE": (
        B,
        "{colonne} « {valeur} » inconnu : absent de la feuille {cible} ; ajoutez-le dans "
        "{cible} ou corrigez le code",
    ),
    "VAL-UAI": (B, "UAI « {valeur} » invalide : {detail}"),
    "VAL-SIRET": (
        B,
        "SIRET « {valeur} » invalide ({detail}) ; recopiez les 14 chiffres depuis l'avis de "
        "situation SIRENE",
    ),
    "VAL-RNA": (
        B,
        "numéro RNA « {valeur} » invalide ; il s'écrit W suivi de 9 chiffres, par exemple "
        "W751234567",
    ),
    # Establishment.
    "ETA-ACADEMIE": (
        A,
        "académie « {valeur} » différente de celle de l'UAI ({attendue}) ; vérifiez l'UAI "
        "ou l'académie",
    ),
    "ETA-CAMPAGNE": (
        B,
        "campagne {valeur} différente de la campagne traitée ({attendue}) ; utilisez le "
        "modèle de la campagne {attendue}",
    ),
    "ETA-CAMPAGNE-DATES": (
        B,
        "campagne {valeur} : {hors} des {datees} dépenses datées sont hors de sa période "
        "({periode}) mais dans celle de la campagne {autre} ; utilisez le modèle de la "
        "campagne {autre}, ou corrigez la campagne ou les dates",
    ),
    "ETA-DOTATION-PREVUS": (
        A,
        "dotation {valeur} supérieure au forfait de {forfait} × {eleves} élèves prévus "
        "({plafond}) ; vérifiez la dotation notifiée",
    ),
    "ETA-DOTATION-MENTORES": (
        INFO,
        "dotation {valeur} supérieure au forfait de {forfait} × {eleves} élèves mentorés "
        "({plafond}) : l'écart restera en reliquat si les dépenses ne suivent pas",
    ),
    "ETA-DOUBLON": (
        B,
        "UAI {valeur} déjà présente dans « {premier} » : ce classeur est écarté des totaux ; "
        "retirez le doublon ou corrigez l'UAI",
    ),
    "REP-DOUBLON": (
        B,
        "UAI {valeur} déjà listée en ligne {premiere} : cette ligne ne reçoit rien ; "
        "supprimez le doublon",
    ),
    # Year N+1: the report declared against last year's bilan (bilan --precedent).
    "PRE-REPORT": (
        B,
        "report déclaré {valeur} différent du reliquat reporté au bilan {campagne} "
        "({attendu}) ; corrigez le report de l'exercice précédent",
    ),
    "PRE-REVERSE": (
        B,
        "report déclaré {valeur}, mais le bilan {campagne} prévoyait le reversement de "
        "{reverse} à la DJEPVA (pas de poursuite) : aucun report possible ; saisissez 0",
    ),
    "PRE-ABSENT": (
        A,
        "report déclaré {valeur}, mais l'établissement est absent du bilan {campagne} : "
        "report à justifier auprès du rectorat",
    ),
    # Students.
    "ELV-FILIERE": (
        B,
        "filière « {valeur} » hors du plan ; le plan mentorat ne couvre que Numérique, "
        "Énergie et Mobilité",
    ),
    # Mentors.
    "MEN-ETUDIANT": (
        B,
        "mentor « {ident} » déclaré Étudiant : les étudiants ne peuvent pas être mentors "
        "(FAQ, profil des mentors) ; retirez ce mentor ou corrigez son statut",
    ),
    "MEN-HONORABILITE": (
        B,
        "honorabilité du mentor « {ident} » non vérifiée ; elle doit l'être avant toute "
        "rencontre (FAQ, honorabilité)",
    ),
    "MEN-DSDEN": (
        B,
        "mentor « {ident} » sans partenaire : son honorabilité doit être vérifiée par la "
        "DSDEN (volet B3 du casier judiciaire) ; saisissez DSDEN une fois la vérification "
        "faite",
    ),
    "MEN-MENTORES": (
        A,
        "mentor « {ident} » suit {nombre} élèves en cours (seuil : {seuil}) ; vérifiez qu'il "
        "peut consacrer le temps nécessaire à chacun",
    ),
    "MEN-FILIERE": (
        INFO,
        "mentor « {ident} » ({valeur}) sans filière commune avec ses mentorés ({filieres}) : "
        "dérogation possible (FAQ), à justifier",
    ),
    "MEN-FORMATION": (
        INFO,
        "mentor « {ident} » sans formation suivie ; une formation en ligne est proposée",
    ),
    # Partners.
    "PAR-DATES": (
        B,
        "fin de convention ({valeur}) antérieure à son début ({debut}) ; corrigez les dates",
    ),
    "PAR-AUTRE-FINANCEMENT": (
        A,
        "partenaire « {ident} » financé par ailleurs pour la même action : fléchez les "
        "crédits par action pour éviter un double financement de l'État (FAQ)",
    ),
    # Expenses: ineligible euros, said on the cell that decides (warnings: the money is
    # already counted as ineligible, SPEC §5.3).
    "DEP-CATEGORIE": (
        A,
        "dépense inéligible {partie} ({montant}) : catégorie « {valeur} » non éligible. {aide}",
    ),
    "DEP-JUSTIFICATIF": (
        A,
        "dépense inéligible {partie} ({montant}) : pas de justificatif ; saisissez Oui si la "
        "facture ou le reçu est conservé",
    ),
    "DEP-PERIODE": (
        A,
        "dépense inéligible {partie} ({montant}) : datée du {valeur}, hors de {periode} ; "
        "vérifiez la date",
    ),
    "DEP-CUMUL": (
        A,
        "dépense inéligible {partie} ({montant}) : déjà financée par un autre programme de "
        "l'État (pas de double financement, FAQ)",
    ),
    "DEP-CONVENTION": (
        A,
        "versement inéligible {partie} ({montant}) : le partenaire « {valeur} » n'a pas de "
        "convention signée ; joignez la convention et saisissez Oui dans Partenaires",
    ),
    "DEP-SERVICE-FAIT": (
        A,
        "versement inéligible {partie} ({montant}) : service fait non vérifié ; vérifiez la "
        "prestation facturée puis saisissez Oui",
    ),
    "DEP-CONVENTION-PERIODE": (
        A,
        "versement inéligible {partie} ({montant}) : daté du {valeur}, {dates}",
    ),
    "DEP-IK-DONNEES": (
        A,
        "indemnité kilométrique inéligible {partie} ({montant}) : kilomètres ou puissance "
        "fiscale manquants ou illisibles ; complétez-les pour calculer l'indemnité",
    ),
    "DEP-IK": (
        A,
        "indemnité kilométrique de {valeur} plafonnée au barème : {eligible} éligibles, "
        "{ineligible} au-delà du barème (par mentor et par année civile)",
    ),
    "DEP-PLAFOND-CONVENTION": (
        A,
        "versement au partenaire « {valeur} » au-delà du montant conventionné ({plafond}) : "
        "{ineligible} inéligibles sur {montant}",
    ),
    # Warnings that do not change the money.
    "DEP-PARTENAIRE-INCONNU": (
        B,
        "« Payé à » : « {valeur} » a la forme d'un code partenaire ({exemples}) mais ne "
        "figure pas dans la feuille {cible} ; déclarez ce partenaire (avec sa convention) "
        "dans {cible}, ou corrigez le code ; un fournisseur s'écrit en toutes lettres",
    ),
    "DEP-BUDGET": (
        A,
        "catégorie « {valeur} » absente du budget prévisionnel ; ajoutez-la au budget annexé "
        "à la convention",
    ),
    "DEP-PETIT-MATERIEL": (
        A,
        "petit matériel de {valeur} sur une ligne (seuil : {seuil}) : au-delà, c'est de "
        "l'équipement ; vérifiez la catégorie",
    ),
    "BUD-ECART": (
        A,
        "« {categorie} » réalisée à {realise} pour {valeur} prévus (+{ecart} %, seuil "
        "{seuil} %) ; expliquez l'écart ou amendez le budget prévisionnel",
    ),
}

# code -> short French label, for the bilan's « Anomalies par code » table. Kept apart
# from CATALOGUE so that adding a code is two small, separate edits (a test fails when a
# code has no label).
LIBELLES: dict[str, str] = {
    "FIC-VIDE": "Fichier vide",
    "FIC-FORMAT": "Fichier qui n'est pas un classeur",
    "FIC-CORROMPU": "Classeur endommagé",
    "FIC-CHIFFRE": "Classeur protégé par un mot de passe",
    "FIC-TAILLE": "Fichier trop volumineux",
    "FIC-COMPRESSION": "Contenu compressé anormal",
    "FIC-LIGNES": "Feuille trop grande",
    "FIC-MODELE": "Fichier sans les feuilles du classeur",
    "FIC-RESSOURCES": "Lecture interrompue (mémoire, durée)",
    "FEU-ANOMALIES": "Anomalies trop nombreuses, non listées",
    "FEU-ILLISIBLE": "Feuille illisible",
    "FEU-MANQUANTE": "Feuille introuvable",
    "FEU-ENTETE": "Ligne d'en-tête introuvable",
    "FEU-VIDE": "Feuille sans aucune ligne",
    "FEU-COPIE": "Copie d'une feuille, non lue",
    "LIG-TOTAL": "Ligne de total ignorée",
    "COL-MANQUANTE": "Colonne obligatoire introuvable",
    "COL-DOUBLON": "Colonne présente deux fois",
    "RUB-MANQUANTE": "Rubrique introuvable",
    "VAL-OBLIGATOIRE": "Valeur obligatoire manquante",
    "VAL-FUSION": "Cellules fusionnées",
    "VAL-FORMULE": "Formule sans valeur calculée",
    "VAL-ERREUR": "Cellule en erreur",
    "VAL-MONTANT": "Montant illisible",
    "VAL-MONTANT-AMBIGU": "Montant ambigu",
    "VAL-DATE": "Date illisible",
    "VAL-OUINON": "Réponse Oui/Non illisible",
    "VAL-ENTIER": "Nombre entier attendu",
    "VAL-NOMBRE": "Nombre illisible",
    "VAL-DEMESURE": "Valeur hors de toute mesure",
    "VAL-ANNEE": "Année illisible",
    "VAL-LISTE": "Valeur hors liste",
    "VAL-NEGATIF": "Valeur négative",
    "VAL-POSITIF": "Montant nul ou négatif",
    "VAL-AVOIR": "Avoir saisi en négatif",
    "VAL-MINIMUM": "Valeur sous le minimum",
    "VAL-DOUBLON": "Code ou n° de pièce en double",
    "VAL-REFERENCE": "Code inconnu",
    "VAL-UAI": "UAI invalide",
    "VAL-SIRET": "SIRET invalide",
    "VAL-RNA": "Numéro RNA invalide",
    "ETA-ACADEMIE": "Académie différente de celle de l'UAI",
    "ETA-CAMPAGNE": "Campagne différente de celle traitée",
    "ETA-CAMPAGNE-DATES": "Dépenses datées d'une autre campagne",
    "ETA-DOTATION-PREVUS": "Dotation au-delà du forfait des élèves prévus",
    "ETA-DOTATION-MENTORES": "Dotation au-delà du forfait des élèves mentorés",
    "ETA-DOUBLON": "UAI en double dans le lot",
    "REP-DOUBLON": "UAI en double dans la liste",
    "PRE-REPORT": "Report différent du bilan précédent",
    "PRE-REVERSE": "Report de crédits à reverser",
    "PRE-ABSENT": "Report sans ligne au bilan précédent",
    "ELV-FILIERE": "Filière hors du plan",
    "MEN-ETUDIANT": "Mentor étudiant",
    "MEN-HONORABILITE": "Honorabilité du mentor non vérifiée",
    "MEN-DSDEN": "Honorabilité à vérifier par la DSDEN",
    "MEN-MENTORES": "Mentor au-delà du seuil d'élèves suivis",
    "MEN-FILIERE": "Mentor sans filière commune avec ses mentorés",
    "MEN-FORMATION": "Mentor sans formation suivie",
    "PAR-DATES": "Convention finissant avant son début",
    "PAR-AUTRE-FINANCEMENT": "Partenaire financé par ailleurs",
    "DEP-CATEGORIE": "Catégorie de dépense non éligible",
    "DEP-JUSTIFICATIF": "Dépense sans justificatif",
    "DEP-PERIODE": "Dépense hors période d'éligibilité",
    "DEP-CUMUL": "Dépense déjà financée par l'État",
    "DEP-CONVENTION": "Versement sans convention signée",
    "DEP-SERVICE-FAIT": "Service fait non vérifié",
    "DEP-CONVENTION-PERIODE": "Versement hors des dates de la convention",
    "DEP-IK-DONNEES": "Kilomètres ou puissance fiscale manquants",
    "DEP-IK": "Indemnité kilométrique plafonnée au barème",
    "DEP-PLAFOND-CONVENTION": "Versement au-delà du montant conventionné",
    "DEP-PARTENAIRE-INCONNU": "Code partenaire non déclaré",
    "DEP-BUDGET": "Catégorie absente du budget prévisionnel",
    "DEP-PETIT-MATERIEL": "Petit matériel au-delà du seuil",
    "BUD-ECART": "Écart au budget prévisionnel",
}

CODES_FICHIER_ILLISIBLE = frozenset(
    {
        "FIC-VIDE",
        "FIC-FORMAT",
        "FIC-CORROMPU",
        "FIC-CHIFFRE",
        "FIC-TAILLE",
        "FIC-COMPRESSION",
        "FIC-MODELE",
        "FIC-RESSOURCES",
    }
)
# Anomalies of one code on one sheet listed (SPEC §5.3): beyond, one FEU-ANOMALIES says
# how many more there are (a header cell repeated across a row would give thousands).
MAX_PER_CODE = 50


@dataclass(frozen=True, slots=True)
class Anomaly:
    fichier: str
    feuille: str
    cellule: str
    gravite: Gravite
    code: str
    message: str
    valeur: str = ""

    @property
    def lieu(self) -> str:
        """`Dépenses!E14`, `Dépenses` or the empty string."""
        if self.feuille and self.cellule:
            return f"{self.feuille}!{self.cellule}"
        return self.feuille

    def as_dict(self) -> dict[str, str]:
        d = asdict(self)
        d["gravite"] = str(self.gravite)
        return d


def shown(value: object) -> str:
    """How a value read from a cell is quoted back to the user."""
    if value is None:
        return ""
    if isinstance(value, float):  # as a French spreadsheet shows it: 12,5
        return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


class Anomalies(list):
    """The anomalies of one workbook, collected in order; at most MAX_PER_CODE of one code
    on one sheet, then one FEU-ANOMALIES that counts the others."""

    def __init__(self, fichier: str):
        super().__init__()
        self.fichier = fichier
        self._counts: dict[tuple[str, str], int] = {}  # (code, sheet) -> anomalies added
        self._beyond: dict[tuple[str, str], int] = {}  # -> index of its FEU-ANOMALIES

    def add(
        self,
        code: str,
        feuille: str = "",
        cellule: str = "",
        valeur: object = "",
        gravite: Gravite | None = None,
        **fields: object,
    ) -> Anomaly:
        default, template = CATALOGUE[code]
        key = (code, feuille)
        counted = self._counts[key] = self._counts.get(key, 0) + 1
        if counted > MAX_PER_CODE and feuille:
            return self._beyond_limit(key, counted - MAX_PER_CODE, gravite or default)
        text = shown(valeur)
        message = template.format(valeur=text, feuille=feuille, **fields)
        anomaly = Anomaly(self.fichier, feuille, cellule, gravite or default, code, message, text)
        self.append(anomaly)
        return anomaly

    def _beyond_limit(self, key: tuple[str, str], more: int, gravite: Gravite) -> Anomaly:
        code, feuille = key
        message = CATALOGUE["FEU-ANOMALIES"][1].format(
            nombre=f"{more:,}".replace(",", "\u202f"),
            code=code,
            feuille=feuille,
            limite=MAX_PER_CODE,
        )
        if key in self._beyond:  # the most severe of those left out
            gravite = min(gravite, self[self._beyond[key]].gravite, key=list(Gravite).index)
        else:
            self._beyond[key] = len(self)
            self.append(None)
        anomaly = Anomaly(self.fichier, feuille, "", gravite, "FEU-ANOMALIES", message)
        self[self._beyond[key]] = anomaly
        return anomaly

    def mark(self) -> tuple:
        """What `restore` brings the list back to: its length and its counts."""
        summaries = {i: self[i] for i in self._beyond.values()}
        return len(self), dict(self._counts), dict(self._beyond), summaries

    def restore(self, mark: tuple) -> None:
        """Drop what was added since `mark` (a lot that failed is checked again)."""
        length, counts, beyond, summaries = mark
        self._counts, self._beyond = dict(counts), dict(beyond)
        del self[length:]
        for i, anomaly in summaries.items():
            self[i] = anomaly

    def nombre(self, gravite: Gravite) -> int:
        return sum(1 for a in self if a.gravite is gravite)

    @property
    def bloquantes(self) -> int:
        return self.nombre(Gravite.BLOQUANT)
