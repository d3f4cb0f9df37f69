"""Commands only: parse arguments, call one function, print, choose the exit code.

Exit codes (SPEC §7.3): 0 done, nothing blocking; 1 done, with blocking anomalies;
2 the command could not run. Heavy modules (pandas…) are imported inside the
commands so that `--help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__, cli_fr

cli_fr.install()

OK, BLOQUANT, IMPOSSIBLE = 0, 1, 2
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def fail(message: str) -> None:
    """The command cannot run: say why, in French, and exit 2."""
    click.echo(click.style("Erreur : ", fg="red", bold=True) + message, err=True)
    sys.exit(IMPOSSIBLE)


def load_rules(regles: Path | None, campagne: int | None):
    """The rules to apply: a file given by the user, a known campaign, or None (automatic)."""
    from . import rules

    try:
        if regles is not None:
            chosen = rules.load(regles)
            if campagne is not None and campagne != chosen.campagne:
                fail(
                    f"le fichier de règles {regles} est celui de la campagne "
                    f"{chosen.campagne}, pas {campagne}"
                )
            return chosen
        return rules.for_campagne(campagne) if campagne is not None else None
    except rules.ReglesInvalides as e:
        fail(str(e))


def writable_target(path: Path, what: str, inputs=(), suffixes: tuple[str, ...] = ()) -> Path:
    """The output path, checked before any work: its folder exists, it is a file, it has
    the right extension, and it is none of the inputs (an input is never overwritten)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        fail(f"{what} : le dossier « {folder} » n'existe pas")
    if path.is_dir():
        fail(f"{what} : « {path} » est un dossier ; donnez un nom de fichier")
    if suffixes and path.suffix.lower() not in suffixes:
        fail(f"{what} : « {path} » ; le fichier s'écrit au format {' ou '.join(suffixes)}")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        fail(f"{what} : « {path} » est un fichier lu ; choisissez un autre nom")
    return path


regles_option = click.option(
    "--regles",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fichier de règles TOML à appliquer (par défaut, celui de la campagne).",
)
campagne_option = click.option(
    "--campagne",
    type=int,
    default=None,
    metavar="ANNÉE",
    help="Campagne (année budgétaire), ex. 2024.",
)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="mentorat-budget")
def main() -> None:
    """Suivi financier du Plan mentorat au lycée professionnel.

    \b
    Pour les établissements : modele, verifier.
    Pour le rectorat : repartir, modele --depuis, bilan, exemples.
    Aide d'une commande : mentorat-budget COMMANDE --help
    """


@main.command(context_settings=CONTEXT)
@click.argument("dossier", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--sortie",
    type=click.Path(path_type=Path),
    default=None,
    help="Fichier à écrire (défaut : modele-etablissement-CAMPAGNE.xlsx).",
)
@click.option(
    "--depuis",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="NOTIFICATION",
    help="Écrit dans DOSSIER un modèle pré-rempli par établissement de la "
    "notification (UAI, nom, académie, dotation, élèves prévus).",
)
@campagne_option
@regles_option
def modele(
    dossier: Path | None,
    sortie: Path | None,
    depuis: Path | None,
    campagne: int | None,
    regles: Path | None,
) -> None:
    """Écrit le classeur modèle vierge de l'établissement, ou (avec --depuis) un modèle
    pré-rempli par établissement d'une notification."""
    from . import rules as rules_mod
    from .write.template import write_template

    if depuis is not None:
        if dossier is None:
            fail("--depuis demande le DOSSIER où écrire les modèles pré-remplis")
        _prefill_from(depuis, dossier, campagne, regles)
        return
    if dossier is not None:
        fail(f"« {dossier} » : un dossier ne sert qu'avec --depuis NOTIFICATION")
    chosen = load_rules(regles, campagne) or rules_mod.latest()
    target = writable_target(
        sortie or Path(f"modele-etablissement-{chosen.campagne}.xlsx"), "modèle"
    )
    try:
        write_template(target, chosen)
    except OSError as e:
        fail(f"impossible d'écrire {target} : {e.strerror or e}")
    click.echo(f"Modèle de la campagne {chosen.campagne} écrit : {target}")


def _prefill_from(notification: Path, dossier: Path, campagne, regles) -> None:
    from . import rules as rules_mod
    from .write.notification import notification_campaign, read_notification
    from .write.template import write_prefilled

    chosen = load_rules(regles, campagne or notification_campaign(notification))
    chosen = chosen or rules_mod.latest()
    rows, anomalies = read_notification(notification, chosen)
    _print_anomalies(anomalies)
    if not rows:
        fail(f"aucun établissement lisible dans {notification}")
    try:
        dossier.mkdir(parents=True, exist_ok=True)
        paths = write_prefilled(dossier, chosen, rows)
    except OSError as e:
        fail(f"impossible d'écrire dans {dossier} : {e.strerror or e}")
    click.echo(
        f"{len(paths)} {_plural('modèle pré-rempli', len(paths))} (campagne "
        f"{chosen.campagne}) écrits dans {dossier}"
    )
    if anomalies.bloquantes:
        sys.exit(BLOQUANT)


@main.command(context_settings=CONTEXT)
@click.argument("fichier", type=click.Path(path_type=Path))
@click.option(
    "--annoter",
    type=click.Path(path_type=Path),
    default=None,
    metavar="COPIE",
    help="Écrit une copie du classeur, cellules en faute surlignées et commentées.",
)
@click.option("--json", "as_json", is_flag=True, help="Affiche les anomalies en JSON.")
@campagne_option
@regles_option
def verifier(
    fichier: Path, annoter: Path | None, as_json: bool, campagne: int | None, regles: Path | None
) -> None:
    """Vérifie un classeur d'établissement et liste ses anomalies, cellule par cellule.

    Code de sortie : 0 sans anomalie bloquante, 1 avec des anomalies bloquantes
    (ou un classeur illisible), 2 si la vérification n'a pas pu être faite.
    """
    if not fichier.exists():
        fail(f"fichier introuvable : {fichier}")
    if fichier.is_dir():
        fail(f"« {fichier} » est un dossier ; donnez un classeur")
    chosen = load_rules(regles, campagne)
    if annoter is not None:
        writable_target(annoter, "copie annotée", inputs=[fichier], suffixes=(".xlsx", ".xlsm"))
    from . import report
    from .verify import ILLISIBLE, check_workbook, statut

    classeur, _ = check_workbook(fichier, chosen)
    state = statut(classeur)
    if as_json:
        click.echo(json.dumps(report.as_json(classeur, state), ensure_ascii=False, indent=2))
    else:
        click.echo(report.as_text(classeur, state, style=click.style))
    if annoter is not None:
        _annotate(fichier, annoter, classeur, quiet=as_json)
    sys.exit(BLOQUANT if state == ILLISIBLE or classeur.anomalies.bloquantes else OK)


def _annotate(fichier: Path, annoter: Path, classeur, quiet: bool) -> None:
    from .isolation import Contained, call
    from .write.annotate import annotate, rebuilt_copy

    args = (fichier, annoter, classeur.anomalies, classeur.raw)
    try:  # in a child process: openpyxl parses the user's file (isolation.py)
        try:
            call(annotate, *args)
        except Contained:  # openpyxl needs some 50 times the file's size: from the values
            call(rebuilt_copy, *args)
    except Contained:
        click.echo(
            "Copie annotée impossible : le classeur dépasse les limites de lecture "
            "(mémoire ou durée) ; corrigez d'abord les anomalies listées ci-dessus",
            err=True,
        )
        return
    except OSError as e:
        fail(f"impossible d'écrire la copie annotée {annoter} : {e.strerror or e}")
    # What openpyxl refuses is rebuilt from the values read (write/annotate.py): an error
    # left here is ours, not the workbook's.
    except Exception as e:
        fail(f"copie annotée impossible (erreur interne {type(e).__name__}) ; signalez-la")
    if not quiet:
        click.echo(f"\nCopie annotée écrite : {annoter}")


@main.command(context_settings=CONTEXT)
@click.argument("dossier", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-n",
    "--nombre",
    type=click.IntRange(1, 5000),
    default=6,
    metavar="N",
    show_default=True,
    help="Nombre de classeurs.",
)
@click.option(
    "-g",
    "--graine",
    type=int,
    default=2024,
    metavar="N",
    show_default=True,
    help="Graine : la même graine donne les mêmes classeurs.",
)
@click.option(
    "--taille",
    type=click.Choice(["normale", "banc"]),
    default="normale",
    show_default=True,
    help="« banc » : taille du banc d'essai (120 élèves, "
    "40 mentors, 6 partenaires, 300 dépenses, 400 rencontres).",
)
@campagne_option
def exemples(dossier: Path, nombre: int, graine: int, taille: str, campagne: int | None) -> None:
    """Écrit des classeurs d'établissement réalistes (avec quelques erreurs volontaires)."""
    from . import rules as rules_mod
    from .examples import write_examples

    chosen = load_rules(None, campagne) or rules_mod.latest()
    try:
        dossier.mkdir(parents=True, exist_ok=True)
        paths = write_examples(dossier, nombre, graine, chosen, bench=taille == "banc")
    except OSError as e:
        fail(f"impossible d'écrire dans {dossier} : {e.strerror or e}")
    click.echo(f"{len(paths)} classeurs écrits dans {dossier}")


@main.command(context_settings=CONTEXT)
@click.argument(
    "dossiers",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    metavar="DOSSIER...",
)
@click.option(
    "-o",
    "--sortie",
    type=click.Path(path_type=Path),
    required=True,
    help="Classeur du bilan à écrire (.xlsx).",
)
@click.option(
    "--fiches",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DOSSIER",
    help="Écrit aussi une fiche par établissement dans ce dossier.",
)
@click.option(
    "--annoter",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DOSSIER",
    help="Écrit une copie annotée de chaque classeur qui a des anomalies.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    metavar="N",
    help="Processus en parallèle (défaut : nombre de cœurs).",
)
@click.option(
    "--precedent",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="BILAN",
    help="Bilan de l'année précédente : le report déclaré par chaque établissement est "
    "comparé à son reliquat reporté.",
)
@click.option(
    "--strict", is_flag=True, help="Code de sortie 1 s'il reste des anomalies bloquantes."
)
@campagne_option
@regles_option
def bilan(
    dossiers: tuple[Path, ...],
    sortie: Path,
    fiches: Path | None,
    annoter: Path | None,
    jobs: int | None,
    precedent: Path | None,
    strict: bool,
    campagne: int | None,
    regles: Path | None,
) -> None:
    """Lit tous les classeurs des dossiers et écrit le bilan annuel pour la DJEPVA.

    Les dossiers sont parcourus récursivement (.xlsx, .xlsm, .ods, .xls). Un classeur
    illisible ou en double est signalé sans arrêter le traitement. Code de sortie : 0
    quand le bilan est écrit ; 1 avec --strict s'il reste des anomalies bloquantes ;
    2 si le bilan n'a pas pu être produit.
    """
    from .batch import default_jobs, discover
    from .write.bilan import Run, write_bilan

    chosen = load_rules(regles, campagne)
    writable_target(
        sortie, "bilan", inputs=[d for d in dossiers if d.is_file()], suffixes=(".xlsx",)
    )
    for folder, what in ((fiches, "fiches"), (annoter, "copies annotées")):
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                fail(f"{what} : impossible de créer le dossier {folder} ({e.strerror or e})")
    previous = _read_previous(precedent) if precedent is not None else None
    exclude = [p for p in (sortie, fiches, annoter) if p is not None]
    files = discover(dossiers, exclude=exclude)
    if not files:
        fail("aucun classeur (.xlsx, .xlsm, .ods, .xls) dans " + ", ".join(map(str, dossiers)))
    before_copies = None
    if previous is not None:
        from .precedent import compare

        def before_copies(results, applied):
            if previous.campagne is not None and previous.campagne != applied.campagne - 1:
                fail(
                    f"le bilan précédent {precedent} est celui de la campagne "
                    f"{previous.campagne}, pas {applied.campagne - 1}"
                )
            compare(results, previous)

    results, applied = _run_with_progress(
        files, chosen, jobs or default_jobs(), annoter, before_copies
    )
    ignored = [shown for (path, shown) in files if shown not in {r.fichier for r in results}]
    run = Run(
        [str(d) for d in dossiers], ignores=ignored, strict=strict, precedent=str(precedent or "")
    )
    try:
        totals = write_bilan(sortie, results, applied, run)
        if fiches is not None:
            _write_fiches(fiches, results, applied)
    except OSError as e:
        fail(f"impossible d'écrire {e.filename or sortie} : {e.strerror or e}")
    _print_bilan(results, totals, applied, sortie, fiches, annoter)
    blocking = sum(r.bloquantes for r in results)
    sys.exit(BLOQUANT if strict and blocking else OK)


def _read_previous(path: Path):
    from .precedent import PrecedentIllisible, read_previous

    try:
        return read_previous(path)
    except PrecedentIllisible as e:
        fail(str(e))


def _run_with_progress(files, rules, jobs, annoter, before_copies=None):
    from .batch import run_batch, tune_gc

    tune_gc()  # for the rest of this command: a batch, then its outputs
    if not sys.stderr.isatty():
        return run_batch(files, rules, jobs, annoter, before_copies=before_copies)
    with click.progressbar(
        length=len(files),
        label="Lecture des classeurs",
        file=sys.stderr,
        show_pos=True,
        show_eta=True,
        width=30,
    ) as bar:
        return run_batch(
            files, rules, jobs, annoter, progress=bar.update, before_copies=before_copies
        )


def _write_fiches(folder: Path, results, rules) -> None:
    from .batch import distinct_names
    from .write.fiche import fiche_name, write_fiche

    kept = [r for r in results if r.figures is not None and r.statut != "Doublon"]
    # Two workbooks without a valid UAI and with the same name would share a name.
    for result, name in zip(kept, distinct_names([fiche_name(r) for r in kept]), strict=True):
        write_fiche(folder / name, result, rules)


def _plural(words: str, n: int) -> str:
    """`anomalie bloquante` -> `anomalies bloquantes` when n > 1 (« à corriger » stays)."""
    if n <= 1 or words in ("à corriger", "en double"):
        return words
    return " ".join(w + "s" for w in words.split())


def _print_bilan(results, totals, rules, sortie, fiches, annoter) -> None:
    from collections import Counter

    from .values import euros

    statuses = Counter(r.statut for r in results)
    words = {
        "Valide": "valide",
        "À corriger": "à corriger",
        "Illisible": "illisible",
        "Doublon": "en double",
    }
    detail = ", ".join(
        f"{statuses[s]} {_plural(w, statuses[s])}" for s, w in words.items() if statuses[s]
    )
    click.echo(f"Campagne {rules.campagne} : {len(results)} classeurs lus ({detail}).")
    click.echo(
        f"Crédits disponibles : {euros(totals.disponibles)} ; dépenses éligibles : "
        f"{euros(totals.eligibles)} ; inéligibles : {euros(totals.ineligibles)}."
    )
    click.echo(
        f"Reliquats reportés : {euros(totals.reliquat_reporte)} ; à reverser à la "
        f"DJEPVA : {euros(totals.a_reverser)} avant le "
        f"{rules.date_limite_reversement:%d/%m/%Y}."
    )
    for r in results:
        if r.statut in ("Illisible", "Doublon", "À corriger"):
            n = r.bloquantes
            click.echo(f"  {r.statut:<11} {r.fichier} ({n} {_plural('anomalie bloquante', n)})")
    click.echo(f"Bilan écrit : {sortie}")
    if fiches is not None:
        click.echo(f"Fiches écrites dans : {fiches}")
    if annoter is not None:
        n = sum(1 for r in results if r.annote)
        click.echo(f"{n} copies annotées écrites dans : {annoter}")


@main.command(context_settings=CONTEXT)
@click.argument("etablissements", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--enveloppe",
    required=True,
    metavar="EUROS",
    help="Enveloppe à répartir, en euros entiers (ex. 250000).",
)
@click.option(
    "-o",
    "--sortie",
    type=click.Path(path_type=Path),
    required=True,
    help="Classeur de notification à écrire (.xlsx).",
)
@click.option(
    "--modeles",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DOSSIER",
    help="Écrit aussi un modèle pré-rempli par établissement.",
)
@campagne_option
@regles_option
def repartir(
    etablissements: Path,
    enveloppe: str,
    sortie: Path,
    modeles: Path | None,
    campagne: int | None,
    regles: Path | None,
) -> None:
    """Répartit une enveloppe entre établissements (500 € par élève prévu au plus).

    ETABLISSEMENTS est un classeur avec les colonnes UAI, Établissement et Élèves prévus.
    Quand l'enveloppe est insuffisante, chacun reçoit sa part au prorata, en euros entiers,
    les euros restants allant aux plus forts restes. Code de sortie 1 si des lignes ont été
    écartées (anomalies bloquantes), 2 si la répartition n'a pas pu être faite.
    """
    from . import rules as rules_mod
    from .allocation import allocate
    from .values import Illisible, euros, parse_money
    from .write.notification import write_notification
    from .write.template import write_prefilled

    try:
        cents = parse_money(enveloppe)
    except Illisible as e:
        hint = " ambiguë" if e.code == "VAL-MONTANT-AMBIGU" else " illisible"
        fail(f"enveloppe{hint} « {enveloppe} » ; saisissez des euros entiers, ex. 250000")
    if cents < 0 or cents % 100:
        fail(f"l'enveloppe se répartit en euros entiers positifs : « {enveloppe} »")
    chosen = load_rules(regles, campagne) or rules_mod.latest()
    writable_target(sortie, "notification", inputs=[etablissements], suffixes=(".xlsx",))
    result = allocate(etablissements, cents // 100, chosen)
    _print_anomalies(result.anomalies)
    if not result.lignes:
        fail(
            f"aucun établissement à doter dans {etablissements} (colonnes UAI et Élèves "
            "prévus, une ligne par établissement)"
        )
    try:
        write_notification(sortie, result, chosen)
        if modeles is not None:
            modeles.mkdir(parents=True, exist_ok=True)
            write_prefilled(
                modeles,
                chosen,
                [
                    {
                        "uai": a.uai,
                        "nom": a.nom,
                        "academie": a.academie,
                        "eleves": a.eleves,
                        "dotation": a.dotation * 100,
                    }
                    for a in result.lignes
                ],
            )
    except OSError as e:
        fail(f"impossible d'écrire {e.filename or sortie} : {e.strerror or e}")
    n = len(result.lignes)
    click.echo(
        f"Campagne {chosen.campagne} : enveloppe de {euros(result.enveloppe * 100)} "
        f"répartie entre {n} {_plural('établissement', n)} : "
        f"{euros(result.total * 100)} notifiés (plafonds : "
        f"{euros(result.plafonds * 100)})."
    )
    if result.non_reparti:
        click.echo(
            f"Non réparti : {euros(result.non_reparti * 100)} (l'enveloppe dépasse "
            "la somme des plafonds)."
        )
    click.echo(f"Notification écrite : {sortie}")
    if modeles is not None:
        click.echo(f"{n} {_plural('modèle pré-rempli', n)} écrits dans : {modeles}")
    sys.exit(BLOQUANT if result.anomalies.bloquantes else OK)


def _print_anomalies(anomalies) -> None:
    """Anomalies of a list or a notification, grouped by sheet, on the terminal."""
    from . import report

    for feuille, items in report.grouped(anomalies):
        click.echo(f"{feuille} — {len(items)} {_plural('anomalie', len(items))}")
        for a in items:
            click.echo(f"  {a.lieu:<16} {a.gravite:<13} {a.code:<16} {a.message}")
