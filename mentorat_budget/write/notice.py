"""The `Notice` sheet of the template: how to fill it, generated from the schema and rules."""

from __future__ import annotations

import itertools

from xlsxwriter.workbook import Workbook

from ..rules import Rules
from ..schema import NOTICE, SHEETS, Column, Kind, Sheet
from ..values import euros, thousands
from .xlsx import Formats, print_setup

CHARS_PER_LINE = 140  # of a merged paragraph, in Calibri 11


def _euros(cents: int) -> str:
    """Like values.euros, but whole euros without their cents: « 500 € par élève »."""
    return f"{thousands(cents // 100)} €" if cents % 100 == 0 else euros(cents)


def _date(d) -> str:
    return d.strftime("%d/%m/%Y")


def rules_text(rules: Rules) -> list[str]:
    """The rules that matter to the gestionnaire, one paragraph each."""
    n = rules.campagne
    return [
        f"Forfait : au plus {_euros(rules.forfait_cents)} par élève mentoré ; la dotation "
        "notifiée par le rectorat figure dans la feuille Établissement.",
        f"Période d'éligibilité : les dépenses engagées du {_date(rules.debut)} au "
        f"{_date(rules.fin)}, et au plus tard à la date d'arrêté des comptes si elle est "
        "saisie.",
        "Justificatif : chaque dépense doit être identifiable et contrôlable (facture ou "
        "reçu conservé) ; sans justificatif, elle est inéligible.",
        "Avoir : ne saisissez pas de montant négatif ; déduisez l'avoir du montant de la "
        "facture qu'il corrige (montant net payé) et conservez-le avec la facture.",
        "Versements aux partenaires : seulement avec une convention signée, dans ses dates, "
        "après vérification du service fait, et dans la limite du montant conventionné ; "
        "saisissez le code du partenaire dans la colonne « Payé à ».",
        "Véhicule personnel : remboursé au plus selon le barème des indemnités kilométriques "
        "(" + ik_text(rules) + "), par mentor et par année civile ; saisissez les kilomètres "
        "et la puissance fiscale.",
        "Le temps des mentors ne peut pas être rémunéré ; une dépense déjà financée par un "
        "autre programme de l'État (ex. « 1 jeune 1 mentor ») est inéligible.",
        f"Petit matériel : au-delà de {_euros(rules.petit_materiel_cents)} la ligne, il "
        "s'agit d'équipement, signalé au rectorat.",
        "Mentors : pas d'étudiants ; honorabilité vérifiée par le partenaire, ou par la DSDEN "
        "(volet B3 du casier judiciaire) pour un mentor présenté par aucun partenaire.",
        f"Reliquat : avec poursuite du mentorat l'année scolaire suivante, il est reporté sur "
        f"{n + 1} ; sans poursuite, il est reversé à la DJEPVA avant le "
        f"{_date(rules.date_limite_reversement)}.",
    ]


def ik_text(rules: Rules) -> str:
    """`5 CV et moins : 0,32 €/km jusqu'à 2 000 km, … ; 6 à 7 CV : …`"""
    edges = rules.tranches_km
    spans = [f"jusqu'à {thousands(edges[0])} km"]
    spans += [f"de {thousands(a + 1)} à {thousands(b)} km" for a, b in itertools.pairwise(edges)]
    spans.append(f"au-delà de {thousands(edges[-1])} km")
    classes, low = [], 1
    for i, bareme in enumerate(rules.bareme_ik):
        if i == 0:
            cv = f"{bareme.cv_max} CV et moins"
        elif i == len(rules.bareme_ik) - 1:
            cv = f"{low} CV et plus"
        else:
            cv = f"{low} à {bareme.cv_max} CV"
        rates = (
            f"{r // 100},{r % 100:02d} €/km {span}"
            for r, span in zip(bareme.taux_cents, spans, strict=True)
        )
        classes.append(f"{cv} : " + ", ".join(rates))
        low = bareme.cv_max + 1
    return " ; ".join(classes)


def _kind_text(column: Column) -> str:
    if column.kind is Kind.LIST:
        return "liste déroulante"
    return column.kind.value


def _required_text(column: Column) -> str:
    if column.required:
        return "Oui"
    return column.condition.capitalize() if column.condition else "Non"


def _sheet_rows(sheet: Sheet) -> list[tuple[str, str, str, str]]:
    return [(c.header, _required_text(c), _kind_text(c), c.help) for c in sheet.columns]


WIDTHS = (34, 22, 20, 66)  # of the four columns, in characters


def _height(values) -> int:
    """Row height that shows every wrapped cell whole (about 1.1 characters per unit)."""
    lines = max(1 + len(str(v)) * 11 // (w * 10) for v, w in zip(values, WIDTHS, strict=False))
    return 15 * lines + 2


def write_notice(wb: Workbook, rules: Rules, fmt: Formats) -> None:
    ws = wb.add_worksheet(NOTICE)
    for col, width in enumerate(WIDTHS):
        ws.set_column(col, col, width)
    print_setup(ws)
    row = 0

    def line(text: str, cell_fmt=None) -> None:
        """A paragraph across the four columns, its height fitted to its length."""
        nonlocal row
        ws.merge_range(row, 0, row, 3, text, cell_fmt or fmt.wrap)
        big = cell_fmt is fmt.title
        ws.set_row(row, 22 if big else 15 * (1 + len(text) // CHARS_PER_LINE) + 3)
        row += 1

    line(
        f"Plan mentorat au lycée professionnel — suivi des crédits, campagne {rules.campagne}",
        fmt.title,
    )
    line(
        "Un classeur par établissement. Il décrit les élèves mentorés, les mentors, les "
        "partenaires, le budget prévisionnel annexé aux conventions et chaque dépense payée "
        "sur les crédits du mentorat. Le rectorat s'en sert pour le bilan annuel transmis à "
        "la DJEPVA.",
    )
    row += 1
    line("Comment le remplir", fmt.subtitle)
    steps = [
        "1. Établissement : vérifiez l'UAI, la dotation notifiée et le nombre d'élèves "
        "prévus ; indiquez si le mentorat se poursuit l'année scolaire suivante.",
        "2. Élèves, Mentors : une ligne par personne, avec un code (E001, M01…) et jamais de nom.",
        "3. Partenaires : une ligne par association ou entreprise, avec sa convention.",
        "4. Budget prévisionnel : l'annexe des conventions, par catégorie.",
        "5. Dépenses : une ligne par facture ou reçu. Rencontres : facultatif, une ligne par "
        "rencontre.",
        "Saisissez dans les tableaux, sous la ligne d'en-tête ; utilisez les listes "
        "déroulantes ; montants en euros (12,50), dates au format jj/mm/aaaa. Ne renommez "
        "ni les feuilles ni les colonnes. La feuille Synthèse se calcule toute seule.",
    ]
    for step in steps:
        line(step)
    row += 1
    line("Règles à connaître", fmt.subtitle)
    for text in rules_text(rules):
        line("• " + text)
    row += 1
    line("Catégories de dépenses", fmt.subtitle)
    ws.write_row(row, 0, ("Libellé", "Code", "Éligible", "Précisions"), fmt.header)
    row += 1
    for c in rules.categories:
        values = (c.libelle, c.code, "Oui" if c.eligible else "Non", c.aide)
        ws.write_row(row, 0, values, fmt.wrap)
        ws.set_row(row, _height(values))
        row += 1
    for sheet in SHEETS:
        row += 1
        title = sheet.name + ("" if sheet.required else " (facultatif)")
        line(f"Feuille « {title} » — {sheet.help}", fmt.subtitle)
        ws.write_row(
            row,
            0,
            ("Colonne" if not sheet.key_value else "Rubrique", "Obligatoire", "Type", "Aide"),
            fmt.header,
        )
        row += 1
        for values in _sheet_rows(sheet):
            ws.write_row(row, 0, values, fmt.wrap)
            ws.set_row(row, _height(values))
            row += 1
    row += 1
    line("Vérifier le classeur", fmt.subtitle)
    line(
        "Le rectorat (ou vous-même) peut lancer « mentorat-budget verifier classeur.xlsx » : "
        "chaque anomalie est signalée avec sa feuille et sa cellule (ex. Dépenses!E14), et "
        "« --annoter copie.xlsx » rend une copie du classeur où les cellules à corriger sont "
        "surlignées et commentées.",
    )
    ws.activate()
