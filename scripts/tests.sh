#!/usr/bin/env bash
# Installe tout ce qu'il faut pour les tests (LibreOffice compris) puis les lance.
# Usage : bash scripts/tests.sh   (sur Debian/Ubuntu, en root ou avec sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
# Debian packages the tests need:
# - LibreOffice and poppler: round trips, recalculation, PDF exports read back;
# - Carlito: the font with Calibri's metrics, with which LibreOffice lays out workbooks as
#   Excel does (the printing tests depend on it);
# - python3-uno: tests/lo_password.py saves password-protected .xls and .ods through UNO.
PACKAGES="libreoffice-calc-nogui poppler-utils fonts-crosextra-carlito python3-uno"
missing=""
for p in $PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test]"
.venv/bin/ruff check .
MENTORAT_EXIGER_SOFFICE=1 .venv/bin/python -m pytest "$@"
