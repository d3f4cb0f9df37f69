#!/usr/bin/env bash
# Installe tout ce qu'il faut pour les tests (LibreOffice compris) puis les lance.
# Usage : bash scripts/tests.sh   (sur Debian/Ubuntu, en root ou avec sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
# python3-uno: tests/lo_password.py saves password-protected .xls and .ods through UNO.
if ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null \
    || ! /usr/bin/python3 -c "import uno" 2>/dev/null; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    libreoffice-calc-nogui poppler-utils python3-uno >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test]"
.venv/bin/ruff check .
MENTORAT_EXIGER_SOFFICE=1 .venv/bin/python -m pytest "$@"
