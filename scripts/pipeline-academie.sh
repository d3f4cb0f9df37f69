#!/usr/bin/env bash
# L'année d'une académie, de la répartition au bilan, avec mentorat-budget.
#
# Usage (après l'installation du README, depuis le dossier du projet) :
#   bash scripts/pipeline-academie.sh LISTE.xlsx ENVELOPPE CAMPAGNE TRAVAIL [RETOURS]
#   bash scripts/pipeline-academie.sh            # démonstration complète, sur deux années
#
#   LISTE.xlsx  établissements retenus : colonnes UAI, Établissement, Élèves prévus
#   ENVELOPPE   crédits de l'académie, en euros entiers (ex. 250000)
#   CAMPAGNE    année budgétaire (ex. 2025)
#   TRAVAIL     dossier de travail (créé au besoin)
#   RETOURS     dossier des classeurs renvoyés par les établissements
#               (défaut : TRAVAIL/retours-CAMPAGNE)
#
# Étapes :
#   1. repartir  : notification des dotations + un modèle pré-rempli par établissement ;
#   2. (envoi des modèles, saisie par les gestionnaires, retour des classeurs) ;
#   3. verifier  : un compte rendu par classeur renvoyé ;
#   4. bilan     : bilan pour la DJEPVA, une fiche par établissement, une copie annotée de
#                  chaque classeur à corriger ; avec --precedent quand le bilan de l'année
#                  précédente est dans TRAVAIL (bilan-<CAMPAGNE-1>.xlsx).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
# The project's virtual environment when there is one (README), else the PATH.
if [ -x "$HERE/.venv/bin/mentorat-budget" ]; then
  MB=${MENTORAT_BUDGET:-$HERE/.venv/bin/mentorat-budget}
  PY=$HERE/.venv/bin/python
else
  MB=${MENTORAT_BUDGET:-mentorat-budget}
  PY=python3
fi

annee() {  # LISTE ENVELOPPE CAMPAGNE TRAVAIL RETOURS
  local liste=$1 enveloppe=$2 campagne=$3 travail=$4 retours=$5
  echo "== $campagne. 1. Répartition de l'enveloppe et modèles pré-remplis"
  local code=0
  "$MB" repartir "$liste" --enveloppe "$enveloppe" --campagne "$campagne" \
    -o "$travail/notification-$campagne.xlsx" --modeles "$travail/modeles-$campagne" || code=$?
  if [ "$code" -eq 2 ]; then exit 2; fi  # 1: some rows refused, listed above; 2: nothing done
  echo "   → envoyez à chaque établissement son modèle de $travail/modeles-$campagne"
  echo "   → rangez les classeurs renvoyés dans $retours"
}

bilan() {  # CAMPAGNE TRAVAIL RETOURS
  local campagne=$1 travail=$2 retours=$3
  echo "== $campagne. 2. Vérification de chaque classeur renvoyé"
  for classeur in "$retours"/*.xlsx "$retours"/*.xlsm "$retours"/*.ods "$retours"/*.xls; do
    [ -e "$classeur" ] || continue
    "$MB" verifier "$classeur" || true  # 1 = anomalies bloquantes : le compte rendu suffit
    echo
  done
  echo "== $campagne. 3. Bilan, fiches et copies annotées"
  local precedent=()
  if [ -f "$travail/bilan-$((campagne - 1)).xlsx" ]; then
    precedent=(--precedent "$travail/bilan-$((campagne - 1)).xlsx")
  fi
  "$MB" bilan "$retours" --campagne "$campagne" -o "$travail/bilan-$campagne.xlsx" \
    --fiches "$travail/fiches-$campagne" --annoter "$travail/a-corriger-$campagne" \
    "${precedent[@]}"
}

if [ $# -gt 0 ]; then
  LISTE=$1 ENVELOPPE=$2 CAMPAGNE=$3 TRAVAIL=$4
  RETOURS=${5:-$TRAVAIL/retours-$CAMPAGNE}
  mkdir -p "$TRAVAIL"
  annee "$LISTE" "$ENVELOPPE" "$CAMPAGNE" "$TRAVAIL" "$RETOURS"
  if [ -d "$RETOURS" ]; then
    bilan "$CAMPAGNE" "$TRAVAIL" "$RETOURS"
  else
    echo "(pas encore de classeurs renvoyés dans $RETOURS)"
  fi
  exit 0
fi

# ---------------------------------------------------------------- démonstration
# Quatre lycées, deux campagnes. Les gestionnaires sont simulés : chacun remplit son
# modèle pré-rempli (quelques dépenses), l'un se trompe de report l'année suivante.
TRAVAIL=$(mktemp -d)/academie
mkdir -p "$TRAVAIL"
"$PY" - "$TRAVAIL/liste.xlsx" <<'PY'
import sys, xlsxwriter
wb = xlsxwriter.Workbook(sys.argv[1]); ws = wb.add_worksheet("Lycées retenus")
ws.write_row(0, 0, ("UAI", "Établissement", "Élèves prévus"))
for i, row in enumerate([("0750655E", "Lycée professionnel A", 40),
                         ("0750654D", "Lycée professionnel B", 25),
                         ("0690026D", "Lycée professionnel C", 60),
                         ("0750658H", "Lycée professionnel D", 15)], start=1):
    ws.write_row(i, 0, row)
wb.close()
PY

remplir() {  # MODELES RETOURS CAMPAGNE [REPORT_FAUX]
  "$PY" - "$@" <<'PY'
import datetime as dt, shutil, sys
from pathlib import Path
import openpyxl, python_calamine
modeles, retours, campagne = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
previous = {}
bilan = modeles.parent / f"bilan-{campagne - 1}.xlsx"
if bilan.exists():  # what last year's bilan says each one carries over
    rows = python_calamine.CalamineWorkbook.from_path(str(bilan)).get_sheet_by_name(
        "Établissements").to_python()
    h = rows[0]
    previous = {r[0]: r[h.index("Reliquat reporté (€)")] or 0 for r in rows[1:] if r[0]}
retours.mkdir(parents=True, exist_ok=True)
for i, path in enumerate(sorted(modeles.glob("*.xlsx"))):
    wb = openpyxl.load_workbook(path)
    etab = wb["Établissement"]
    report = previous.get(path.name[:8], 0)
    etab["B9"] = report + (150 if i == 1 and previous else 0)  # B se trompe de report
    etab["B10"] = "Non" if i == 2 else "Oui"
    scale = 1 + i
    lines = [("Coordination et sourçage des mentors", 3000, "P01"),
             ("Communication", 420.5 * scale, "Imprimerie du Centre"),
             ("Déplacements des élèves", 880 * scale, "Autocars Bernard")]
    p = wb["Partenaires"]  # the partner of the convention
    for col, value in zip("ABCFIJK", ("P01", "Association Tremplin", "Association", "Oui",
                                      dt.date(campagne, 9, 1), dt.date(campagne + 1, 8, 31), 3000)):
        p[f"{col}3"] = value
    b = wb["Budget prévisionnel"]  # the annex of the convention
    for r, (partner, categorie, montant) in enumerate(
            [("P01", lines[0][0], 3000), (None, lines[1][0], 500 * scale),
             (None, lines[2][0], 1000 * scale)], start=3):
        b[f"A{r}"], b[f"B{r}"], b[f"C{r}"] = partner, categorie, montant
    d = wb["Dépenses"]
    for r, (categorie, montant, paye) in enumerate(lines, start=3):
        for col, value in zip("ABCEFGH", (f"{campagne}-{r}", dt.date(campagne, 10, r), categorie,
                                          montant, paye, "Oui", "Oui")):
            d[f"{col}{r}"] = value
    wb.save(retours / path.name)
PY
}

annee "$TRAVAIL/liste.xlsx" 60000 2024 "$TRAVAIL" "$TRAVAIL/retours-2024"
remplir "$TRAVAIL/modeles-2024" "$TRAVAIL/retours-2024" 2024
bilan 2024 "$TRAVAIL" "$TRAVAIL/retours-2024"
echo
annee "$TRAVAIL/liste.xlsx" 55000 2025 "$TRAVAIL" "$TRAVAIL/retours-2025"
remplir "$TRAVAIL/modeles-2025" "$TRAVAIL/retours-2025" 2025
bilan 2025 "$TRAVAIL" "$TRAVAIL/retours-2025"
echo "Tout est dans $TRAVAIL"
