"""Write the generated parts of the user documentation (docs/*.md, in French).

The prose of docs/classeur.md, docs/regles.md and docs/anomalies.md is written by hand;
the tables between `<!-- début : NOM -->` and `<!-- fin : NOM -->` come from the code that
decides (schema.py, the campaigns' TOML files, read.py's limits, the anomaly catalogue,
eligibility's reasons), so that the documentation cannot drift from it:

    python scripts/docs.py             # rewrite the generated blocks
    python scripts/docs.py --verifier  # exit 1 if a block is stale (tests/test_docs.py)
"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mentorat_budget import read
from mentorat_budget import rules as rules_mod
from mentorat_budget.anomalies import CATALOGUE, Gravite
from mentorat_budget.eligibility import MOTIFS
from mentorat_budget.rules import Rules
from mentorat_budget.schema import (
    BY_KEY,
    LIST_ALIASES,
    LISTES,
    NOTICE,
    SHEETS,
    STATIC_LISTS,
    SYNTHESE,
    Column,
    Kind,
    Sheet,
)
from mentorat_budget.values import euros, thousands

DOCS = Path(__file__).resolve().parents[1] / "docs"
FILES = ("classeur.md", "regles.md", "anomalies.md")
BLOCK_RE = re.compile(
    r"(?P<open><!-- début : (?P<name>[a-z0-9-]+) -->\n).*?(?P<close><!-- fin : (?P=name) -->)",
    re.S,
)


def _quote(values) -> str:
    return ", ".join(f"« {v} »" for v in values)


def _cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


# ------------------------------------------------------------------ the workbook

MINIMUMS = {"ge0": "positif ou nul", "gt0": "strictement positif", "ge1": "au moins 1"}
KIND_TEXT = {
    Kind.TEXT: "texte",
    Kind.CODE: "code (texte)",
    Kind.CODES: "codes",
    Kind.LIST: "liste",
    Kind.MONEY: "montant (€)",
    Kind.DATE: "date",
    Kind.INT: "nombre entier",
    Kind.NUMBER: "nombre",
    Kind.BOOL: "Oui/Non",
    Kind.UAI: "UAI",
    Kind.YEAR: "année",
    Kind.SIRET: "SIRET",
    Kind.RNA: "RNA",
}
ACCEPTED = {
    Kind.MONEY: "un nombre, ou du texte comme « 1 234,56 € » (espace, espace insécable, "
    "virgule ou point décimal), au centime",
    Kind.DATE: "une date, ou du texte comme « 12/03/2025 », « 2025-03-12 », « 1er mars 2025 »",
    Kind.INT: "un nombre entier",
    Kind.NUMBER: "un nombre (virgule ou point décimal)",
    Kind.BOOL: "Oui ou Non, en majuscules ou minuscules ; aussi O/N, X pour oui",
    Kind.UAI: "7 chiffres et la lettre clé, contrôlée (ex. 0750655E)",
    Kind.YEAR: "une année, ex. 2024",
    Kind.SIRET: "14 chiffres, espaces et points permis ; clé de contrôle vérifiée",
    Kind.RNA: "W suivi de 9 chiffres (ex. W751234567)",
    Kind.CODES: "un ou plusieurs codes élèves séparés par « , » ou « ; »",
    Kind.CODE: "majuscules, minuscules et espaces autour indifférents",
    Kind.TEXT: "texte libre",
}


def _required(column: Column) -> str:
    if column.required:
        return "oui"
    if column.condition:
        return column.condition
    if column.default not in (None, ""):
        return f"non (vide : {column.default})"
    return "non"


def _accepted(column: Column, sheet: Sheet, rules: Rules) -> str:
    parts = [ACCEPTED.get(column.kind, "")]
    if column.key == "paye_a":
        parts = [
            "le code d'un partenaire de la feuille Partenaires (majuscules et espaces "
            "indifférents), sa raison sociale ou son SIRET : c'est alors un versement à ce "
            "partenaire ; une valeur qui a la forme d'un code partenaire sans en être un "
            "(« P03 » à côté de P01 et P02) est bloquante ; autrement, le nom du fournisseur "
            "ou de la personne payée"
        ]
    if column.choices == "categories":
        parts = ["le libellé ou le code d'une catégorie : " + _quote(
            c.libelle for c in rules.categories
        )]  # fmt: skip
    elif column.kind is Kind.LIST:
        parts = [_quote(STATIC_LISTS[column.choices])]
        aliases = LIST_ALIASES.get(column.choices, {})
        if aliases:
            parts.append("aussi " + ", ".join(f"« {k} » ({v})" for k, v in aliases.items()))
        parts.append("majuscules et accents indifférents")
    if column.minimum:
        parts.append(MINIMUMS[column.minimum])
    if column.ref:
        parts.append(f"doit figurer dans la feuille {BY_KEY[column.ref].name}")
    if column.unique:
        parts.append("unique dans la feuille")
    return " ; ".join(parts)


def sheet_section(sheet: Sheet, rules: Rules) -> str:
    title = f"### Feuille « {sheet.name} »" + ("" if sheet.required else " (facultative)")
    lines = [title, "", sheet.help, ""]
    if sheet.aliases:
        lines += [f"Nom de feuille accepté aussi : {_quote(sheet.aliases)}.", ""]
    if sheet.key_value:
        lines += [
            "Deux colonnes, `Rubrique` et `Valeur` : une ligne par rubrique, dans n'importe "
            "quel ordre.",
            "",
            "| Rubrique | Type | Obligatoire | Valeurs acceptées | Autres intitulés | Aide |",
        ]
    else:
        lines += ["| Colonne | Type | Obligatoire | Valeurs acceptées | Autres intitulés | Aide |"]
    lines.append("|---|---|---|---|---|---|")
    for column in sheet.columns:
        cells = (
            f"**{column.header}**",
            KIND_TEXT[column.kind],
            _required(column),
            _accepted(column, sheet, rules),
            _quote(column.aliases) if column.aliases else "",
            column.help,
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def block_feuilles() -> str:
    rules = rules_mod.latest()
    return "\n\n".join(sheet_section(s, rules) for s in SHEETS)


def block_feuilles_ignorees() -> str:
    return f"Feuilles du modèle que la lecture ignore : {_quote((NOTICE, SYNTHESE, LISTES))}."


def _mo(n: int) -> str:
    return f"{n // read.MiB} Mo"


def block_limites() -> str:
    rows = [
        ("FIC-TAILLE", f"fichier de plus de {_mo(read.MAX_FILE_BYTES)}"),
        (
            "FIC-COMPRESSION",
            f"élément compressé annonçant plus de {_mo(read.MAX_MEMBER_BYTES)} une fois "
            f"décompressé ({_mo(read.MAX_TOTAL_BYTES)} pour l'archive entière), ou un taux "
            f"de compression supérieur à {read.MAX_RATIO} au-delà de {_mo(read.RATIO_FLOOR)}",
        ),
        (
            "FIC-LIGNES",
            f"feuille de plus de {thousands(read.MAX_ROWS)} lignes, ou dont la grille "
            f"dépasserait {thousands(read.MAX_CELLS)} cellules : cette feuille n'est pas lue "
            "(un .ods se lit d'un bloc : il est alors refusé en entier)",
        ),
    ]
    lines = ["| Code | Refusé quand |", "|---|---|"]
    lines += [f"| `{code}` | {_cell(text)} |" for code, text in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------- the rules


def _date(d) -> str:
    return d.strftime("%d/%m/%Y")


def campaign_section(rules: Rules) -> str:
    n = rules.campagne
    lines = [
        f"### Campagne {n}",
        "",
        "| Paramètre | Valeur |",
        "|---|---|",
        f"| Forfait par élève mentoré | {euros(rules.forfait_cents)} |",
        f"| Période d'éligibilité | du {_date(rules.debut)} au {_date(rules.fin)} |",
        f"| Reversement à la DJEPVA sans poursuite | avant le "
        f"{_date(rules.date_limite_reversement)} |",
        f"| Petit matériel : seuil par ligne | {euros(rules.petit_materiel_cents)} |",
        f"| Écart au budget prévisionnel signalé au-delà de | {rules.ecart_budget_pourcent} % |",
        f"| Élèves en cours par mentor avant avertissement | {rules.mentores_par_mentor} |",
        f"| Taux horaire du bénévolat valorisé | {euros(rules.taux_horaire_cents)} |",
        "",
        f"Catégories de dépenses ({n}) :",
        "",
        "| Code | Libellé dans le classeur | Éligible | Précision |",
        "|---|---|---|---|",
    ]
    for c in rules.categories:
        eligible = "oui" if c.eligible else "**non**"
        lines.append(f"| `{c.code}` | {c.libelle} | {eligible} | {_cell(c.aide)} |")
    edges = rules.tranches_km
    bands = [f"jusqu'à {thousands(edges[0])} km"]
    bands += [f"de {thousands(a + 1)} à {thousands(b)} km" for a, b in itertools.pairwise(edges)]
    bands.append(f"au-delà de {thousands(edges[-1])} km")
    lines += [
        "",
        f"Barème des indemnités kilométriques ({n}), en euros par kilomètre, par mentor et "
        "par année civile :",
        "",
        "| Puissance fiscale | " + " | ".join(bands) + " |",
        "|---|" + "---|" * len(bands),
    ]
    previous = 0
    for b in rules.bareme_ik:
        last = b is rules.bareme_ik[-1]
        label = f"{previous + 1} CV et plus" if last else (
            f"{b.cv_max} CV et moins" if previous == 0 else f"{previous + 1} à {b.cv_max} CV"
        )  # fmt: skip
        rates = [euros(t).replace(" €", "") for t in b.taux_cents]
        lines.append(f"| {label} | " + " | ".join(rates) + " |")
        previous = b.cv_max
    return "\n".join(lines)


def block_campagnes() -> str:
    return "\n\n".join(
        campaign_section(rules_mod.for_campagne(c)) for c in rules_mod.campagnes_connues()
    )


def block_motifs() -> str:
    lines = ["| Motif | Ce qui est inéligible |", "|---|---|"]
    lines += [f"| `{code}` | {label} |" for code, label in MOTIFS.items()]
    return "\n".join(lines)


# --------------------------------------------------------------------- anomalies

FAMILIES = {
    "FIC": "Le fichier",
    "FEU": "Les feuilles",
    "COL": "Les colonnes",
    "RUB": "Les rubriques de la feuille Établissement",
    "LIG": "Les lignes",
    "VAL": "Les valeurs des cellules",
    "ETA": "L'établissement",
    "REP": "La répartition d'une enveloppe (repartir)",
    "PRE": "Le report, comparé au bilan de l'année précédente (bilan --precedent)",
    "ELV": "Les élèves",
    "MEN": "Les mentors",
    "PAR": "Les partenaires",
    "DEP": "Les dépenses",
    "BUD": "Le budget prévisionnel",
}


def _template(text: str) -> str:
    """A message template as the user reads it, its variable parts shown as « … »."""
    text = re.sub(r"« \{[a-z_]+\} »", "« … »", text)
    return re.sub(r"\{[a-z_]+\}", "…", text)


def block_catalogue() -> str:
    out: list[str] = []
    for family, title in FAMILIES.items():
        codes = [c for c in CATALOGUE if c.split("-")[0] == family]
        if not codes:
            continue
        out += [f"### {title}", "", "| Code | Gravité | Message |", "|---|---|---|"]
        for code in codes:
            gravite, template = CATALOGUE[code]
            out.append(f"| `{code}` | {gravite} | {_cell(_template(template))} |")
        out.append("")
    missing = [c for c in CATALOGUE if c.split("-")[0] not in FAMILIES]
    assert not missing, f"famille de code sans titre dans scripts/docs.py : {missing}"
    return "\n".join(out).rstrip()


def block_gravites() -> str:
    return ", ".join(f"**{g}**" for g in Gravite)


BLOCKS = {
    "feuilles": block_feuilles,
    "feuilles-ignorees": block_feuilles_ignorees,
    "limites": block_limites,
    "campagnes": block_campagnes,
    "motifs": block_motifs,
    "catalogue": block_catalogue,
    "gravites": block_gravites,
}


def rendered(text: str) -> str:
    """The document with every generated block written anew."""

    def fill(m: re.Match) -> str:
        return m["open"] + BLOCKS[m["name"]]() + "\n" + m["close"]

    return BLOCK_RE.sub(fill, text)


def main(argv: list[str]) -> int:
    check = "--verifier" in argv
    stale = []
    for name in FILES:
        path = DOCS / name
        text = path.read_text(encoding="utf-8")
        new = rendered(text)
        if new != text:
            stale.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print("documentation à régénérer (python scripts/docs.py) : " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
