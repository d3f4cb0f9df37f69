"""The valid workbooks the fuzzer mutates, one folder of them built once into a cache.

- the sample workbooks of `workbooks/exemples/` (written by XlsxWriter, with the sample
  mistakes), the blank templates of `workbooks/`;
- the valid establishment of tests/conftest.py, written by the template writer;
- .ods, .xls and .xlsx saved by LibreOffice from two of them (LibreOffice lays the XML
  out its own way), when `soffice` is on the PATH. Conversions are cached by the SHA-256
  of their source, so a second run does not start LibreOffice.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ("xlsx", "ods", "xls")


@dataclass(frozen=True)
class Seed:
    name: str  # file name in the cache folder
    path: Path
    format: str  # xlsx, ods or xls: which mutators apply
    campagne: int  # the campaign it declares

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _xlsx_sources(folder: Path) -> list[tuple[str, bytes, int]]:
    """(name, bytes, campaign) of every .xlsx seed, written or copied now."""
    from mentorat_budget import rules
    from mentorat_budget.write.template import write_template
    from tests.conftest import base_fill

    found = []
    with tempfile.TemporaryDirectory(prefix="fuzz-seed-") as tmp:
        valid = write_template(Path(tmp) / "valide.xlsx", rules.for_campagne(2024), base_fill())
        found.append(("valide.xlsx", valid.read_bytes(), 2024))
    for path in sorted((ROOT / "workbooks" / "exemples").glob("*.xlsx")):
        found.append((f"exemple-{path.name[:8]}.xlsx", path.read_bytes(), 2024))
    for path in sorted((ROOT / "workbooks").glob("modele-etablissement-*.xlsx")):
        found.append((path.name, path.read_bytes(), int(path.stem.rsplit("-", 1)[1])))
    return found


def soffice_command(profile: Path) -> list[str] | None:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        return None
    return [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless"]


# Which seeds LibreOffice converts, and to what (the filter names LibreOffice takes).
CONVERSIONS = {
    "valide.xlsx": ("ods", "xls", "xlsx"),
    "exemple-0751564T.xlsx": ("ods", "xls"),
}
FILTERS = {"ods": "ods", "xls": "xls", "xlsx": "xlsx:Calc MS Excel 2007 XML"}


def _convert(soffice: list[str], source: Path, fmt: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-lo-") as tmp:
        out = Path(tmp)
        subprocess.run(
            [*soffice, "--convert-to", FILTERS[fmt], "--outdir", str(out), str(source)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        shutil.move(out / f"{source.stem}.{fmt}", target)


def build_seeds(cache: Path, use_soffice: bool = True) -> list[Seed]:
    """Write the seeds into `cache/seeds` (conversions kept between runs); returns them
    sorted by name. Without LibreOffice, the .ods and .xls seeds are left out."""
    folder = cache / "seeds"
    converted = cache / "converted"
    folder.mkdir(parents=True, exist_ok=True)
    converted.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    seeds = []
    soffice = soffice_command(cache / "lo-profile") if use_soffice else None
    for name, data, campagne in _xlsx_sources(folder):
        path = folder / name
        path.write_bytes(data)
        seeds.append(Seed(name, path, "xlsx", campagne))
        for fmt in CONVERSIONS.get(name, ()):
            stem = Path(name).stem
            lo_name = f"{stem}-lo.{fmt}"
            cached = converted / f"{_sha(data)}-{lo_name}"
            if not cached.exists():
                if soffice is None:
                    continue
                _convert(soffice, path, fmt, cached)
            shutil.copy(cached, folder / lo_name)
            seeds.append(Seed(lo_name, folder / lo_name, fmt, campagne))
    return sorted(seeds, key=lambda s: s.name)
