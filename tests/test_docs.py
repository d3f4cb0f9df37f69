"""The user documentation (docs/, in French) says what the code does: its tables are
generated from schema.py, the campaigns' rules, the anomaly catalogue (scripts/docs.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from mentorat_budget.anomalies import CATALOGUE
from mentorat_budget.eligibility import MOTIFS
from mentorat_budget.schema import SHEETS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The ministry's FAQ, kept beside the project (not in it): checked when it is there.
FAQ = next(
    (
        p / "shared" / "reference" / "faq-mentorat-lycee-professionnel.txt"
        for p in ROOT.parents
        if (p / "shared" / "reference" / "faq-mentorat-lycee-professionnel.txt").exists()
    ),
    Path("faq-absente"),
)


def _generator():
    spec = importlib.util.spec_from_file_location("docs_script", ROOT / "scripts" / "docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_blocks_are_up_to_date():
    assert _generator().main(["--verifier"]) == 0, "lancez python scripts/docs.py"


def test_classeur_lists_every_sheet_and_column_of_the_schema():
    text = (DOCS / "classeur.md").read_text(encoding="utf-8")
    for sheet in SHEETS:
        section = text.split(f"### Feuille « {sheet.name} »")[1].split("### Feuille")[0]
        for column in sheet.columns:
            assert f"| **{column.header}** |" in section, (sheet.name, column.header)


def test_anomalies_and_reasons_are_all_documented():
    anomalies = (DOCS / "anomalies.md").read_text(encoding="utf-8")
    assert [c for c in CATALOGUE if f"| `{c}` |" not in anomalies] == []
    regles = (DOCS / "regles.md").read_text(encoding="utf-8")
    assert [c for c in MOTIFS if f"| `{c}` |" not in regles] == []


def test_readme_points_to_the_projects_own_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "shared/SPEC.md" not in readme
    for name in ("classeur.md", "regles.md", "anomalies.md"):
        assert f"(docs/{name})" in readme


@pytest.mark.skipif(not FAQ.exists(), reason="FAQ de référence absente de ce poste")
def test_every_quotation_of_the_rules_is_in_the_faq():
    def flat(text: str) -> str:
        return " ".join(text.replace("’", "'").split())

    faq = flat(FAQ.read_text(encoding="utf-8"))
    regles = flat((DOCS / "regles.md").read_text(encoding="utf-8"))
    quotes = re.findall(r"« ([^»]{25,}?) »", regles)
    assert len(quotes) >= 15
    for quote in quotes:
        for part in quote.split("[…]"):
            assert part.strip() in faq, quote
