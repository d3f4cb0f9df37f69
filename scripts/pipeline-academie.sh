#!/usr/bin/env bash
# L'année d'une académie, de la répartition au bilan, avec mentorat-budget.
#
# Usage :
#   bash scripts/pipeline-academie.sh LISTE.xlsx ENVELOPPE CAMPAGNE TRAVAIL [RETOURS]
#   bash scripts/pipeline-academie.sh            # démonstration sur des données d'exemple
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
#   4. bilan     : bilan pour la DJEPVA, une fiche par établissement, une copie annotée
#                  de chaque classeur à corriger ; avec --precedent si le bilan de l'année
#                  précédente est dans TRAVAIL (bilan-<CAMPAGNE-1>.xlsx).
set -euo pipefail
MB=${MENTORAT_BUDGET:-mentorat-budget}

if [ $# -eq 0 ]; then
  # Démonstration : une liste de quatre lycées, et des classeurs « renvoyés » fabriqués
  # par la commande exemples (avec leurs erreurs volontaires).
  TRAVAIL=$(mktemp -d)/academie
  mkdir -p "$TRAVAIL"
  python3 - "$TRAVAIL/liste.xlsx" <<'PY'
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
  set -- "$TRAVAIL/liste.xlsx" 60000 2024 "$TRAVAIL"
  "$MB" exemples "$TRAVAIL/retours-2024" --nombre 4 --campagne 2024 >/dev/null
fi

LISTE=$1 ENVELOPPE=$2 CAMPAGNE=$3 TRAVAIL=$4
RETOURS=${5:-$TRAVAIL/retours-$CAMPAGNE}
mkdir -p "$TRAVAIL"

echo "== 1. Répartition de l'enveloppe et modèles pré-remplis"
"$MB" repartir "$LISTE" --enveloppe "$ENVELOPPE" --campagne "$CAMPAGNE" \
  -o "$TRAVAIL/notification-$CAMPAGNE.xlsx" --modeles "$TRAVAIL/modeles-$CAMPAGNE" || true
echo "   → envoyez à chaque établissement son modèle de $TRAVAIL/modeles-$CAMPAGNE"
echo "   → rangez les classeurs renvoyés dans $RETOURS"

if [ ! -d "$RETOURS" ]; then
  echo "(pas encore de classeurs renvoyés dans $RETOURS : fin)"
  exit 0
fi

echo "== 2. Vérification de chaque classeur renvoyé"
for classeur in "$RETOURS"/*.xlsx "$RETOURS"/*.ods "$RETOURS"/*.xls; do
  [ -e "$classeur" ] || continue
  "$MB" verifier "$classeur" | sed -n '1,3p' || true
done

echo "== 3. Bilan, fiches et copies annotées"
PRECEDENT=()
if [ -f "$TRAVAIL/bilan-$((CAMPAGNE - 1)).xlsx" ]; then
  PRECEDENT=(--precedent "$TRAVAIL/bilan-$((CAMPAGNE - 1)).xlsx")
fi
"$MB" bilan "$RETOURS" --campagne "$CAMPAGNE" -o "$TRAVAIL/bilan-$CAMPAGNE.xlsx" \
  --fiches "$TRAVAIL/fiches-$CAMPAGNE" --annoter "$TRAVAIL/a-corriger-$CAMPAGNE" "${PRECEDENT[@]}"
echo "Tout est dans $TRAVAIL"
