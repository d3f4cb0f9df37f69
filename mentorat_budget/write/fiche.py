"""One establishment's fiche: its own figures, rejected lines and anomalies, nothing else."""

from __future__ import annotations

from pathlib import Path

from ..batch import Resultat
from ..eligibility import MOTIFS
from ..examples import slug
from ..rules import Rules
from .tables import DATE, MONEY, PCT, TEXT, Col, as_date, write_anomalies, write_table
from .xlsx import Formats, output_workbook, print_setup


def fiche_name(result: Resultat) -> str:
    uai = result.uai or "sans-uai"
    return f"fiche-{uai}-{slug(str(result.etablissement.get('nom') or result.fichier))}.xlsx"


def _indicators(result: Resultat, rules: Rules) -> list[tuple[str, object, str]]:
    e, f = result.etablissement, result.figures
    assert f is not None
    poursuite = {True: "Oui", False: "Non"}.get(f.poursuite, "Non renseignée")
    rows: list[tuple[str, object, str]] = [
        ("UAI", e.get("uai"), TEXT),
        ("Établissement", e.get("nom"), TEXT),
        ("Académie", e.get("academie"), TEXT),
        ("Campagne", rules.campagne, TEXT),
        ("Fichier", result.fichier, TEXT),
        ("Statut du classeur", result.statut, TEXT),
        ("Élèves prévus", f.eleves_prevus, TEXT),
        ("Élèves mentorés", f.eleves_mentores, TEXT),
        ("Mentors", f.mentors, TEXT),
        ("Dotation notifiée (€)", f.dotation, MONEY),
        ("Plafond (€)", f.plafond, MONEY),
        ("Report N-1 (€)", f.report, MONEY),
        ("Crédits disponibles (€)", f.disponibles, MONEY),
        ("Dépenses éligibles (€)", f.eligibles, MONEY),
        ("dont reversements aux partenaires (€)", f.reversements, MONEY),
        ("Dépenses inéligibles (€)", f.ineligibles, MONEY),
        ("Reliquat (€)", f.reliquat, MONEY),
        ("Dépassement (€)", f.depassement, MONEY),
        ("Poursuite", poursuite, TEXT),
        ("Reliquat reporté (€)", f.reliquat_reporte, MONEY),
        ("À reverser à la DJEPVA (€)", f.a_reverser, MONEY),
    ]
    if f.a_reverser:
        rows.append(("Date limite de reversement", rules.date_limite_reversement, DATE))
    rows.append(("Taux de consommation", f.taux or 0, PCT))
    for c in rules.categories:
        if c.eligible:
            rows.append((f"{c.libelle} (€)", f.par_categorie.get(c.code, 0), MONEY))
    rows.append(("Bénévolat valorisé (€)", f.benevolat, MONEY))
    return rows


def write_fiche(target: Path, result: Resultat, rules: Rules) -> Path:
    title = f"Fiche de l'établissement {result.uai or ''} — campagne {rules.campagne}"
    with output_workbook(target, title, rules.campagne, "fiche") as wb:
        fmt = Formats(wb)
        ws = wb.add_worksheet("Synthèse")
        ws.write(0, 0, title, fmt.title)
        rows = (
            _indicators(result, rules)
            if result.figures
            else [("Fichier", result.fichier, TEXT), ("Statut du classeur", result.statut, TEXT)]
        )
        ws.write_row(2, 0, ("Indicateur", "Valeur"), fmt.header)
        for i, (label, value, kind) in enumerate(rows, start=3):
            ws.write_string(i, 0, label)
            if kind == MONEY:
                ws.write_number(i, 1, value / 100, fmt.euro)
            elif kind == PCT:
                ws.write_number(i, 1, value, fmt.percent)
            elif kind == DATE:
                ws.write_datetime(i, 1, value, fmt.date)
            else:
                ws.write(i, 1, value, fmt.text)
        ws.set_column(0, 0, 42)
        ws.set_column(1, 1, 44)
        print_setup(ws, portrait=True)
        labels = {c.code: c.libelle for c in rules.categories}
        rejets = [
            [
                x["cellule"],
                x.get("piece"),
                as_date(x.get("date")),
                labels.get(x.get("categorie"), x.get("categorie")),
                x.get("libelle"),
                x.get("paye_a"),
                x.get("montant"),
                x["cents"],
                MOTIFS[x["code"]],
            ]
            for x in result.rejets
        ]
        write_table(
            wb.add_worksheet("Dépenses inéligibles"),
            fmt,
            [
                Col("Cellule", TEXT, 12),
                Col("N° de pièce", TEXT, 11),
                Col("Date", DATE, 11),
                Col("Catégorie", TEXT, 26),
                Col("Libellé", TEXT, 32),
                Col("Payé à", TEXT, 22),
                Col("Montant de la ligne (€)", MONEY, 13),
                Col("Part inéligible (€)", MONEY, 13, "sum"),
                Col("Motif", TEXT, 44),
            ],
            rejets,
        )
        write_anomalies(wb.add_worksheet("Anomalies"), fmt, result.anomalies)
        ws.activate()
    return target
