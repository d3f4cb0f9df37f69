"""The batch oracle: `bilan --jobs 1` and `--jobs 2` over a folder of recent mutants.

The bilan must be written, list every file once in `Établissements`, be the same bytes
whatever the number of jobs, and give each file the status `verifier` gave it (unless
it is a duplicate UAI, or of another campaign than the batch)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .mutators.xlsx import sheet_members
from .oracle import Outcome, Runner, Verdict, classify

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def sheet_rows(path: Path, sheet: str) -> list[list[str]]:
    """The rows of one sheet of a workbook written by XlsxWriter, as text."""
    data = path.read_bytes()
    member = sheet_members(data).get(sheet)
    if member is None:
        return []
    with zipfile.ZipFile(path) as z:
        strings = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = ET.fromstring(z.read("xl/sharedStrings.xml"))
            strings = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                       for si in root.findall("m:si", NS)]  # fmt: skip
        root = ET.fromstring(z.read(member))
    rows = []
    for row in root.iter(f"{{{NS['m']}}}row"):
        cells: dict[int, str] = {}
        for c in row.findall("m:c", NS):
            letters = re.match(r"[A-Z]+", c.get("r", "A"))[0]
            col = 0
            for ch in letters:
                col = col * 26 + ord(ch) - 64
            v = c.find("m:v", NS)
            text = v.text if v is not None and v.text else ""
            if c.get("t") == "s" and text.isdigit():
                text = strings[int(text)]
            cells[col] = text
        width = max(cells, default=0)
        rows.append([cells.get(i, "") for i in range(1, width + 1)])
    return rows


def statuses(path: Path) -> dict[str, str]:
    """File -> status, from the bilan's `Établissements` sheet."""
    rows = sheet_rows(path, "Établissements")
    header = next((r for r in rows if "Fichier" in r and "Statut du classeur" in r), None)
    if header is None:
        return {}
    f, s = header.index("Fichier"), header.index("Statut du classeur")
    body = rows[rows.index(header) + 1 :]
    return {r[f]: r[s] for r in body if len(r) > max(f, s) and r[f]}


@dataclass
class BatchResult:
    runs: dict[int, Outcome] = field(default_factory=dict)  # jobs -> outcome
    failures: list[Verdict] = field(default_factory=list)
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)  # file, v, b


def check(
    runner: Runner,
    folder: Path,
    out: Path,
    expected: dict[str, str | None],
    timeout: float,
) -> BatchResult:
    """Run both bilans of `folder`; `expected`: file -> the status `verifier` gave it
    (None when it is not comparable)."""
    result = BatchResult()
    paths = {}
    for jobs in (1, 2):
        target = out / f"bilan-jobs{jobs}.xlsx"
        args = ["bilan", str(folder), "-o", str(target), "--jobs", str(jobs), "--campagne", "2024"]
        o = runner.run(args, mode="exec", timeout=timeout)
        result.runs[jobs] = o
        verdict = classify(o, expect_exit=(0,))
        if not verdict.ok:
            result.failures.append(Verdict(verdict.kind, f"bilan:{verdict.key}", verdict.detail))
            continue
        if not target.exists():
            result.failures.append(Verdict("bilan", "bilan:no-output", f"jobs {jobs}"))
            continue
        paths[jobs] = target
    if 1 in paths and 2 in paths and paths[1].read_bytes() != paths[2].read_bytes():
        result.failures.append(Verdict("bilan", "bilan:jobs-differ", "--jobs 1 ≠ --jobs 2"))
    for target in paths.values():
        found = statuses(target)
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        if missing or extra:
            detail = f"manquent {missing[:5]}, en trop {extra[:5]}"
            result.failures.append(Verdict("bilan", "bilan:rows", detail))
        for name, statut in expected.items():
            got = found.get(name)
            if statut and got and got != statut and got != "Doublon":
                result.disagreements.append((name, statut, got))
        break  # (the two are compared byte for byte above)
    return result
