"""One test per anomaly code of the catalogue (SPEC §4, §5.2, §5.3): what the user sees.

Each case starts from the valid `fill` of conftest.py, changes one thing, writes a real
workbook (through the template writer, or with openpyxl when the template cannot express
the change) and checks the code, the cell named, the severity and the French message,
and that nothing else appears besides what the valid fill already shows.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import io
import random
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import openpyxl
import pytest

from mentorat_budget import read
from mentorat_budget import rules as rules_mod
from mentorat_budget.anomalies import CATALOGUE, Anomaly, Gravite
from mentorat_budget.read import OLE_MAGIC
from mentorat_budget.schema import ETABLISSEMENT, TABLES
from mentorat_budget.verify import DOUBLON, ILLISIBLE, VALIDE, check_workbook, statut
from mentorat_budget.write.template import Remplissage, cell_value, write_template

from .conftest import base_fill, codes_at

B, A, INFO = Gravite.BLOQUANT, Gravite.AVERTISSEMENT, Gravite.INFORMATION
D = dt.date
MiB = 1024 * 1024
NNBSP = "\u202f"  # thousands separator of the amounts in messages

# Every code a test of this module asserts; `test_every_code_has_a_test` compares it with
# the catalogue, so a new code without a test fails the suite.
TESTED: set[str] = set()


def covers(*codes: str) -> Callable:
    def mark(test: Callable) -> Callable:
        TESTED.update(codes)
        return test

    return mark


# ------------------------------------------------------------------------ helpers


@functools.cache
def baseline() -> frozenset[tuple[str, str]]:
    """(code, place) of what the valid fill already shows (see the first test)."""
    rules = rules_mod.for_campagne(2024)
    with tempfile.TemporaryDirectory() as folder:
        path = write_template(Path(folder) / "base.xlsx", rules, base_fill())
        return frozenset(codes_at(check_workbook(path, rules)[0]))


def listing(anomalies: Iterable[Anomaly]) -> str:
    return "\n".join(f"  {a.code} {a.lieu} {a.gravite}: {a.message}" for a in anomalies)


def expect(
    classeur,
    code: str,
    lieu: str,
    gravite: Gravite,
    *fragments: str,
    also: Iterable[tuple[str, str]] = (),
    allow: Iterable[str] = (),
) -> Anomaly:
    """The one anomaly `code`, at `lieu`, with `gravite` and each fragment in its message.

    Nothing else may appear besides the baseline, the (code, place) pairs of `also`
    (consequences the user must also see) and codes of `allow` (anywhere).
    """
    found = [a for a in classeur.anomalies if a.code == code]
    assert len(found) == 1, f"{code} attendue une fois :\n{listing(classeur.anomalies)}"
    anomaly = found[0]
    assert anomaly.lieu == lieu, listing(classeur.anomalies)
    assert anomaly.gravite is gravite
    for fragment in fragments:
        assert fragment in anomaly.message
    expected = {(code, lieu), *also}
    seen = codes_at(classeur)
    assert expected <= seen, listing(classeur.anomalies)
    extra = {(c, p) for c, p in seen - baseline() - expected if c not in set(allow)}
    assert extra == set(), listing(classeur.anomalies)
    return anomaly


def expect_file_level(classeur, code: str, *fragments: str) -> Anomaly:
    """An unreadable file: one anomaly, no sheet, no cell, status Illisible."""
    assert [a.code for a in classeur.anomalies] == [code], listing(classeur.anomalies)
    anomaly = classeur.anomalies[0]
    assert (anomaly.feuille, anomaly.cellule, anomaly.lieu) == ("", "", "")
    assert anomaly.gravite is B
    for fragment in fragments:
        assert fragment in anomaly.message
    assert classeur.lisible is False
    assert statut(classeur) == ILLISIBLE
    return anomaly


def change(fill: Remplissage, sheet: str, index: int | None = None, **values) -> Remplissage:
    """Set values of the establishment (`index` None) or of one row of a table."""
    target = fill.etablissement if sheet == "etablissement" else fill.lignes[sheet][index]
    target.update(values)
    return fill


def plain_sheets(fill: Remplissage) -> dict[str, list[list]]:
    """The fill laid out as the template does (title row 1, header row 2, data from row 3),
    as plain lists that a test edits before `save_sheets`."""
    sheets = {
        ETABLISSEMENT.name: [
            [ETABLISSEMENT.name],
            ["Rubrique", "Valeur"],
            *(
                [c.header, cell_value(c, fill.etablissement.get(c.key))]
                for c in ETABLISSEMENT.columns
            ),
        ]
    }
    for sheet in TABLES:
        sheets[sheet.name] = [
            [sheet.name],
            [c.header for c in sheet.columns],
            *(
                [cell_value(c, row.get(c.key)) for c in sheet.columns]
                for row in fill.lignes.get(sheet.key, [])
            ),
        ]
    return sheets


def save_sheets(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Write the sheets with openpyxl, as a user's own workbook would be."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def zip_member_header(data: bytearray, name: str) -> int:
    """Offset of the central-directory record of one zip member."""
    offset = data.rfind(name.encode()) - 46
    assert data[offset : offset + 4] == b"PK\x01\x02"
    return offset


# ------------------------------------------------------------------- baselines


def test_valid_fill_has_no_blocking_anomaly(fill, write_fill, check):
    classeur = check(write_fill(fill))
    assert classeur.lisible is True
    assert classeur.anomalies.bloquantes == 0, listing(classeur.anomalies)
    assert statut(classeur) == VALIDE
    # What the user sees: information on the dotation (2 mentored students only) and a
    # warning for Communication, spent but absent from the provisional budget.
    assert codes_at(classeur) == {
        ("ETA-DOTATION-MENTORES", "Établissement!B7"),
        ("DEP-BUDGET", "Dépenses!C5"),
    }, listing(classeur.anomalies)
    assert codes_at(classeur) == baseline()


def test_plain_workbook_reads_like_the_template(fill, tmp_path, check):
    """The openpyxl layout used below for what the template cannot express is read as the
    template is, so the cases built on it change one thing only."""
    classeur = check(save_sheets(tmp_path / "simple.xlsx", plain_sheets(fill)))
    assert codes_at(classeur) == baseline(), listing(classeur.anomalies)


def test_every_code_has_a_test():
    # Codes of the batch and of the allocation are tested in their own modules.
    for module in ("test_allocation", "test_two_years", "test_silently_wrong"):
        importlib.import_module(f"{__package__}.{module}")
    assert set(CATALOGUE) - TESTED == set(), "codes du catalogue sans test"
    assert TESTED - set(CATALOGUE) == set(), "codes testés absents du catalogue"


# ----------------------------------------------------------------- the file itself


@covers("FIC-VIDE")
def test_fic_vide(tmp_path, check):
    path = tmp_path / "vide.xlsx"
    path.write_bytes(b"")
    expect_file_level(check(path), "FIC-VIDE", "le fichier est vide (0 octet)")


@covers("FIC-FORMAT")
@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("hasard.xlsx", random.Random(1).randbytes(4096), "(format inconnu, extension .xlsx)"),
        (
            "export.xlsx",
            "UAI;Nom\n0750655E;Lycée professionnel Test\n".encode(),
            "(texte ou CSV, extension .xlsx)",
        ),
        ("sans-extension", b"UAI,Nom\n", "(texte ou CSV, extension absente)"),
    ],
    ids=["octets-au-hasard", "csv-renomme-xlsx", "sans-extension"],
)
def test_fic_format(tmp_path, check, name, content, detail):
    path = tmp_path / name
    path.write_bytes(content)
    expect_file_level(
        check(path), "FIC-FORMAT", "ce fichier n'est pas un classeur lisible " + detail
    )


def test_fic_format_zip_that_is_not_a_workbook(tmp_path, check):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("donnees.csv", "UAI;Nom\n")
    path = tmp_path / "archive.xlsx"
    path.write_bytes(buf.getvalue())
    expect_file_level(check(path), "FIC-FORMAT", "(archive zip sans classeur)")


@covers("FIC-CORROMPU")
def test_fic_corrompu_truncated(fill, write_fill, tmp_path, check):
    data = write_fill(fill).read_bytes()
    path = tmp_path / "tronque.xlsx"
    path.write_bytes(data[: len(data) // 2])
    expect_file_level(
        check(path),
        "FIC-CORROMPU",
        "classeur endommagé, impossible de le lire",
        "enregistrez-le à nouveau",
    )


def test_fic_corrompu_ole_garbage(tmp_path, check):
    """An .xls header followed by garbage (an interrupted download)."""
    path = tmp_path / "ancien.xls"
    path.write_bytes(OLE_MAGIC + random.Random(0).randbytes(4096))
    expect_file_level(check(path), "FIC-CORROMPU", "classeur endommagé, impossible de le lire")


def _damage_depenses_member(data: bytes, how: str) -> bytes:
    """Break the zip member of the Dépenses sheet (sheet7.xml in the template)."""
    member = "xl/worksheets/sheet7.xml"
    out = bytearray(data)
    if how == "donnees":  # flip bytes inside the deflate stream: a damaged disk or download
        info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
        name_len, extra_len = struct.unpack("<HH", out[info.header_offset + 26 :][:4])
        start = info.header_offset + 30 + name_len + extra_len
        for i in range(start + 100, start + 140):
            out[i] ^= 0xFF
    else:  # the member is flagged as encrypted in the central directory
        offset = zip_member_header(out, member)
        (flags,) = struct.unpack("<H", out[offset + 8 : offset + 10])
        out[offset + 8 : offset + 10] = struct.pack("<H", flags | 1)
    return bytes(out)


@pytest.mark.parametrize("how", ["donnees", "drapeau-chiffre"])
def test_fic_corrompu_damaged_member_is_an_anomaly_not_a_traceback(
    fill, write_fill, tmp_path, check, how
):
    path = tmp_path / "abime.xlsx"
    path.write_bytes(_damage_depenses_member(write_fill(fill).read_bytes(), how))
    expect_file_level(check(path), "FIC-CORROMPU", "classeur endommagé, impossible de le lire")


@covers("FIC-CHIFFRE")
def test_fic_chiffre(fill, write_fill, tmp_path, check):
    from msoffcrypto.format import ooxml  # a test dependency (pyproject, extra "test")

    path = tmp_path / "protege.xlsx"
    with write_fill(fill).open("rb") as source, path.open("wb") as target:
        ooxml.OOXMLFile(source).encrypt("secret", target)
    expect_file_level(
        check(path),
        "FIC-CHIFFRE",
        "classeur protégé par un mot de passe ; enregistrez une copie sans mot de passe",
    )


@covers("FIC-TAILLE")
def test_fic_taille(fill, write_fill, check, monkeypatch):
    path = write_fill(fill)
    monkeypatch.setattr(read, "MAX_FILE_BYTES", 10 * 1024)
    size = path.stat().st_size
    assert size > 10 * 1024
    expect_file_level(
        check(path),
        "FIC-TAILLE",
        f"fichier trop volumineux ({size / 1024:.0f} Ko) ; la limite est de 10 Ko",
    )


def _with_bomb(data: bytes, how: str) -> bytes:
    buf = io.BytesIO(data)
    if how == "rapport":  # 8 Mo of zeros compress to 8 Ko: a ratio of about 1000
        with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/media/zeros.bin", bytes(8 * MiB))
        return buf.getvalue()
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/bombe.bin", b"0" * 10)
    out = bytearray(buf.getvalue())  # and declare 300 Mo in the central directory
    offset = zip_member_header(out, "xl/media/bombe.bin")
    out[offset + 24 : offset + 28] = struct.pack("<I", 300 * MiB)
    return bytes(out)


@covers("FIC-COMPRESSION")
@pytest.mark.parametrize(
    ("how", "detail"),
    [
        ("rapport", "(xl/media/zeros.bin : 8 Mo une fois décompressé, rapport "),
        ("taille-declaree", "(xl/media/bombe.bin : 300 Mo une fois décompressé, rapport "),
    ],
)
def test_fic_compression(fill, write_fill, tmp_path, check, how, detail):
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(_with_bomb(write_fill(fill).read_bytes(), how))
    expect_file_level(
        check(path),
        "FIC-COMPRESSION",
        "contenu compressé anormal " + detail,
        "fichier refusé par sécurité",
    )


@covers("FIC-LIGNES")
def test_fic_lignes_stray_cell_far_below(fill, write_fill, tmp_path, check):
    """A stray character in row 1 000 000 of Dépenses: the sheet is refused before calamine
    allocates it; the other sheets are still read."""
    wb = openpyxl.load_workbook(write_fill(fill))
    wb["Dépenses"]["A1000000"] = "x"
    path = tmp_path / "lignes.xlsx"
    wb.save(path)
    classeur = check(path)
    anomaly = expect(
        classeur,
        "FIC-LIGNES",
        "Dépenses",
        B,
        "feuille trop grande (1\u202f000\u202f000 lignes",
        "la limite est de 50\u202f000 lignes et 1\u202f500\u202f000 cellules : supprimez les "
        "lignes et colonnes vides ou inutiles",
    )
    assert anomaly.cellule == ""
    assert classeur.lisible is True
    assert list(classeur.tables["mentors"].frame["code"]) == ["M01", "M02"]


@covers("FEU-ILLISIBLE")
def test_feu_illisible_sheet_missing_from_the_archive(fill, write_fill, tmp_path, check):
    """A Dépenses sheet that the workbook lists but whose XML is not in the archive: the
    sheet is refused by name, the rest is read."""
    source = write_fill(fill)
    path = tmp_path / "feuille.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        member = dict(read._sheet_members(zin))["Dépenses"]
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info.filename, zin.read(info.filename))
    classeur = check(path)
    expect(
        classeur,
        "FEU-ILLISIBLE",
        "Dépenses",
        B,
        "feuille « Dépenses » illisible (introuvable dans l'archive)",
        "aucune de ses lignes n'est lue",
    )
    assert classeur.lisible is True
    assert list(classeur.tables["mentors"].frame["code"]) == ["M01", "M02"]


@covers("FIC-RESSOURCES")
def test_fic_ressources_a_reading_that_runs_out_of_memory(fill, write_fill, tmp_path, check):
    """A cell whose reference is glued to another attribute (no application writes it):
    calamine places it at XFD1048576 and its allocation fails. The reading runs in a child
    process (isolation.py): that one file is Illisible, with the reason and what to do."""
    source = write_fill(fill)
    path = tmp_path / "memoire.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        member = dict(read._sheet_members(zin))["Dépenses"]
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == member:
                glued = b'<row r="9000"><c r="A9000" s="1"r="XFD1048576"><v>1</v></c></row>'
                data = data.replace(b"</sheetData>", glued + b"</sheetData>")
            zout.writestr(info.filename, data)
    expect_file_level(
        check(path),
        "FIC-RESSOURCES",
        "lecture du fichier interrompue : il demande plus de 1024 Mo de mémoire",
        "supprimez ces lignes et colonnes, enregistrez le classeur depuis Excel ou LibreOffice",
    )


@covers("FEU-ANOMALIES")
def test_feu_anomalies_the_first_fifty_of_one_code_then_how_many_more(fill, tmp_path, check):
    """A header typed across a whole row (2 000 times « Montant prévu »): 50 COL-DOUBLON
    are listed, then one anomaly says how many more there are (SPEC §5.3)."""
    sheets = plain_sheets(fill)
    sheets["Budget prévisionnel"][1] += ["Montant prévu (€)"] * 2_000
    classeur = check(save_sheets(tmp_path / "entetes.xlsx", sheets))
    doubles = [a for a in classeur.anomalies if a.code == "COL-DOUBLON"]
    assert [a.lieu for a in doubles] == [f"Budget prévisionnel!{c}2" for c in _columns(3, 53)]
    (more,) = [a for a in classeur.anomalies if a.code == "FEU-ANOMALIES"]
    assert (more.lieu, more.gravite) == ("Budget prévisionnel", A)
    assert more.message == (
        "1\u202f950 autres anomalies COL-DOUBLON sur la feuille « Budget prévisionnel » ne "
        "sont pas détaillées ici (les 50 premières le sont) ; corrigez d'abord celles-ci, "
        "puis vérifiez à nouveau le classeur"
    )
    assert statut(classeur) == VALIDE  # warnings only, as the 2 000 would have been


def _columns(first: int, last: int) -> list[str]:
    """Letters of columns first..last-1 (0 is A)."""
    from mentorat_budget.validate import letters

    return [letters(i) for i in range(first, last)]


def test_fic_lignes_names_only_the_sheet_over_the_limit(fill, write_fill, check, monkeypatch):
    fill.lignes["depenses"] += [
        {"piece": f"G{i:03d}", "date": D(2024, 12, 1), "categorie": "Communication",
         "montant": 1_000, "justificatif": True}
        for i in range(20)
    ]  # fmt: skip
    monkeypatch.setattr(read, "MAX_ROWS", 12)
    classeur = check(write_fill(fill))
    expect(classeur, "FIC-LIGNES", "Dépenses", B, "la limite est de 12 lignes et")


def test_unknown_campaign_checked_with_the_latest_rules(fill, write_fill):
    """A workbook of a campaign without rules, checked with the automatic choice of rules
    (`verifier` without --campagne): the latest rules apply and the mismatch is blocking."""
    change(fill, "etablissement", campagne=2031)
    classeur, applied = check_workbook(write_fill(fill))
    latest = rules_mod.campagnes_connues()[-1]
    assert applied.campagne == latest
    found = [a for a in classeur.anomalies if a.code == "ETA-CAMPAGNE"]
    assert [(a.lieu, a.gravite) for a in found] == [("Établissement!B6", B)]
    assert f"campagne 2031 différente de la campagne traitée ({latest})" in found[0].message


# ---------------------------------------------------------------- sheets, columns


@covers("FEU-MANQUANTE")
def test_feu_manquante(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    del sheets["Partenaires"]
    classeur = check(save_sheets(tmp_path / "sans-partenaires.xlsx", sheets))
    anomaly = expect(
        classeur,
        "FEU-MANQUANTE",
        "Partenaires",
        B,
        "feuille « Partenaires » introuvable ; ajoutez-la (copiez-la depuis le modèle)",
    )
    assert anomaly.cellule == ""


def test_optional_sheet_may_be_missing(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    del sheets["Rencontres"]
    classeur = check(save_sheets(tmp_path / "sans-rencontres.xlsx", sheets))
    assert codes_at(classeur) == baseline(), listing(classeur.anomalies)


@covers("COL-MANQUANTE")
def test_col_manquante_once_per_column_not_per_row(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    for row in sheets["Dépenses"][1:]:
        del row[4]  # Montant (€), a required column, on the header and the 3 lines
    classeur = check(save_sheets(tmp_path / "sans-montant.xlsx", sheets))
    expect(
        classeur,
        "COL-MANQUANTE",
        "Dépenses!A2",
        B,
        "colonne obligatoire « Montant (€) » introuvable dans la ligne d'en-tête",
    )


def test_col_manquante_no_header_at_all(fill, tmp_path, check):
    """A sheet whose header cannot be found at all (typed in English) is one anomaly, on the
    sheet (FEU-ENTETE, tests/test_silently_wrong.py), not a missing column."""
    sheets = plain_sheets(fill)
    sheets["Mentors"][1] = [f"Column {i}" for i in range(10)]
    classeur = check(save_sheets(tmp_path / "en-anglais.xlsx", sheets))
    expect(
        classeur,
        "FEU-ENTETE",
        "Mentors!A1",
        B,
        "feuille « Mentors » : ligne d'en-tête introuvable (aucun des titres de colonne "
        "attendus, comme « Code mentor », « Statut professionnel », « Honorabilité vérifiée »",
        # the mentor codes used elsewhere now point to nothing
        also={
            ("VAL-REFERENCE", "Élèves!E3"),
            ("VAL-REFERENCE", "Élèves!E4"),
            ("VAL-REFERENCE", "Dépenses!I4"),
            ("VAL-REFERENCE", "Rencontres!B3"),
            ("VAL-REFERENCE", "Rencontres!B4"),
        },
    )


@covers("COL-DOUBLON")
def test_col_doublon(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    rows = sheets["Dépenses"]
    rows[1].append("LIBELLÉ")  # column N, a second Libellé
    for row in rows[2:]:
        row.append("autre texte")
    classeur = check(save_sheets(tmp_path / "doublon.xlsx", sheets))
    anomaly = expect(
        classeur,
        "COL-DOUBLON",
        "Dépenses!N2",
        A,
        "colonne « Libellé » présente deux fois ; seule la première (colonne D) est lue",
    )
    assert anomaly.valeur == "LIBELLÉ"
    assert classeur.tables["depenses"].frame["libelle"][0] == "Convention, versement 1"


@covers("RUB-MANQUANTE")
def test_rub_manquante(fill, tmp_path, check):
    sheets = plain_sheets(fill)
    rows = sheets["Établissement"]
    rows[:] = [row for row in rows if row[0] != "Nom de l'établissement"]
    classeur = check(save_sheets(tmp_path / "sans-nom.xlsx", sheets))
    expect(
        classeur,
        "RUB-MANQUANTE",
        "Établissement",
        B,
        "rubrique « Nom de l'établissement » introuvable ; ajoutez la ligne "
        "« Nom de l'établissement » dans la colonne Rubrique",
        also={("ETA-DOTATION-MENTORES", "Établissement!B6")},  # one row up now
    )


def test_renamed_headers_are_accepted(fill, tmp_path, check):
    """Case, accents, spaces and the unit do not matter (SPEC §4), nor the sheet's case."""
    sheets = plain_sheets(fill)
    sheets["Établissement"][1] = ["RUBRIQUE", "valeur"]
    sheets["DEPENSES"] = sheets.pop("Dépenses")
    sheets["DEPENSES"][1] = [
        "n° de PIECE",
        " DATE ",
        "categorie",
        "LIBELLE",
        "montant  (€)",
        "Paye a",
        "justificatif",
        "SERVICE FAIT VERIFIE",
        "code  mentor",
        "mode de transport",
        "KILOMETRES",
        "puissance fiscale (cv)",
        "autre financement PUBLIC",
    ]
    sheets["eleves"] = sheets.pop("Élèves")
    sheets["eleves"][1] = [h.upper() for h in sheets["eleves"][1]]
    classeur = check(save_sheets(tmp_path / "renomme.xlsx", sheets))
    assert {(code, lieu.replace("DEPENSES", "Dépenses")) for code, lieu in codes_at(classeur)} == (
        baseline()
    ), listing(classeur.anomalies)
    depenses = classeur.tables["depenses"].frame
    assert list(depenses["montant"]) == [150_000, 1_280, 12_345]
    assert depenses["km"][1] == 40
    assert list(classeur.tables["eleves"].frame["code"]) == ["E001", "E002", "E003"]


def test_title_rows_above_header_shift_the_cells_named(fill, tmp_path, check):
    """Title rows may precede the header (up to 10); cells are named where the user sees
    them."""
    change(fill, "depenses", 2, montant="douze euros")
    sheets = plain_sheets(fill)
    sheets["Dépenses"][0:0] = [["Lycée professionnel Test"], [], ["Dépenses 2024"], []]
    sheets["Établissement"][0:0] = [["Classeur 2024"], []]
    classeur = check(save_sheets(tmp_path / "titres.xlsx", sheets))
    assert codes_at(classeur) == {
        ("ETA-DOTATION-MENTORES", "Établissement!B9"),
        ("VAL-MONTANT", "Dépenses!E9"),
        ("DEP-BUDGET", "Dépenses!C9"),
    }, listing(classeur.anomalies)


def test_columns_in_another_order_name_the_users_cell(fill, tmp_path, check):
    change(fill, "depenses", 2, montant="douze euros")
    sheets = plain_sheets(fill)
    for row in sheets["Dépenses"][1:]:
        row.reverse()  # Montant (€), 5th of 13, becomes the 9th (I); Catégorie K
    classeur = check(save_sheets(tmp_path / "ordre.xlsx", sheets))
    assert codes_at(classeur) == {
        ("ETA-DOTATION-MENTORES", "Établissement!B7"),
        ("VAL-MONTANT", "Dépenses!I5"),
        ("DEP-BUDGET", "Dépenses!K5"),
    }, listing(classeur.anomalies)


# -------------------------------------------------------------------------- values

OBLIGATOIRE_CASES = {
    "date-de-depense": (
        ("depenses", 0, {"date": None}),
        "Dépenses!B3",
        "« Date » est vide : à compléter. Date de la dépense.",
        (),
    ),
    "nom-etablissement": (
        ("etablissement", None, {"nom": None}),
        "Établissement!B4",
        "« Nom de l'établissement » est vide : à compléter.",
        (),
    ),
    "poursuite": (
        ("etablissement", None, {"poursuite": None}),
        "Établissement!B10",
        "« Poursuite du mentorat l'année scolaire suivante » est vide : à compléter.",
        (),
    ),
    "verifiee-par": (
        ("mentors", 0, {"verifie_par": None}),
        "Mentors!G3",
        "« Vérifiée par » est vide : à compléter. Indiquez qui a vérifié l'honorabilité",
        (),
    ),
    "debut-convention-signee": (
        ("partenaires", 0, {"debut": None}),
        "Partenaires!I3",
        "« Début de la convention » est vide : à compléter. Obligatoire quand la convention "
        "est signée.",
        # the payment to P01 cannot be placed within the convention's dates
        {("DEP-CONVENTION-PERIODE", "Dépenses!B3")},
    ),
}


@covers("VAL-OBLIGATOIRE")
@pytest.mark.parametrize("case", OBLIGATOIRE_CASES)
def test_val_obligatoire(fill, write_fill, check, case):
    (sheet, index, values), lieu, message, also = OBLIGATOIRE_CASES[case]
    change(fill, sheet, index, **values)
    anomaly = expect(check(write_fill(fill)), "VAL-OBLIGATOIRE", lieu, B, message, also=also)
    assert anomaly.valeur == ""


@covers("VAL-MONTANT")
def test_val_montant(fill, write_fill, check):
    change(fill, "depenses", 2, montant="douze euros")
    anomaly = expect(
        check(write_fill(fill)),
        "VAL-MONTANT",
        "Dépenses!E5",
        B,
        "montant illisible « douze euros » ; saisissez un nombre, par exemple 12,50",
    )
    assert anomaly.valeur == "douze euros"


@covers("VAL-MONTANT-AMBIGU")
def test_val_montant_ambigu(fill, write_fill, check):
    change(fill, "depenses", 2, montant="123,456")
    expect(
        check(write_fill(fill)),
        "VAL-MONTANT-AMBIGU",
        "Dépenses!E5",
        B,
        "montant ambigu « 123,456 » (plus de deux décimales)",
    )


@covers("VAL-DATE")
def test_val_date(fill, write_fill, check):
    change(fill, "depenses", 0, date="31/02/2025")
    expect(
        check(write_fill(fill)),
        "VAL-DATE",
        "Dépenses!B3",
        B,
        "date illisible « 31/02/2025 » ; saisissez une date, par exemple 12/03/2025",
    )


@covers("VAL-OUINON")
def test_val_ouinon(fill, write_fill, check):
    change(fill, "depenses", 2, justificatif="Peut-être")
    expect(
        check(write_fill(fill)),
        "VAL-OUINON",
        "Dépenses!G5",
        B,
        "réponse illisible « Peut-être » ; saisissez Oui ou Non",
        allow={"DEP-JUSTIFICATIF"},  # the line counts as without receipt meanwhile
    )


@covers("VAL-ENTIER")
def test_val_entier(fill, write_fill, check):
    change(fill, "etablissement", eleves_prevus="20,5")
    expect(
        check(write_fill(fill)),
        "VAL-ENTIER",
        "Établissement!B8",
        B,
        "« 20,5 » n'est pas un nombre entier ; saisissez un entier",
    )


@covers("VAL-NOMBRE")
def test_val_nombre(fill, write_fill, check):
    change(fill, "mentors", 0, heures="douze")
    expect(
        check(write_fill(fill)),
        "VAL-NOMBRE",
        "Mentors!J3",
        B,
        "nombre illisible « douze » ; saisissez un nombre, par exemple 12,5",
    )


@covers("VAL-ANNEE")
def test_val_annee(fill, write_fill, check):
    change(fill, "etablissement", campagne="2024-2025")
    expect(
        check(write_fill(fill)),
        "VAL-ANNEE",
        "Établissement!B6",
        B,
        "année illisible « 2024-2025 » ; saisissez une année, par exemple 2024",
    )


LISTE_CASES = {
    "niveau": (
        ("eleves", 0, {"niveau": "Quatrième"}),
        "Élèves!D3",
        "valeur « Quatrième » hors liste ; choisissez parmi : CAP 1re année, CAP 2e année, "
        "Seconde, Première, Terminale, BTS",
    ),
    "categorie": (
        ("depenses", 2, {"categorie": "Repas"}),
        "Dépenses!C5",
        "valeur « Repas » hors liste ; choisissez parmi : Déplacements des mentors, ",
    ),
}


@covers("VAL-LISTE")
@pytest.mark.parametrize("case", LISTE_CASES)
def test_val_liste(fill, write_fill, check, case):
    (sheet, index, values), lieu, message = LISTE_CASES[case]
    change(fill, sheet, index, **values)
    # an unknown category also makes the line ineligible (see test_dep_categorie_*)
    expect(check(write_fill(fill)), "VAL-LISTE", lieu, B, message, allow={"DEP-CATEGORIE"})


@covers("VAL-NEGATIF")
@pytest.mark.parametrize(
    ("values", "lieu", "message"),
    [
        (
            {"report": -50_000},
            "Établissement!B9",
            "« Report de l'exercice précédent (€) » ne peut pas être négatif (-500,00 €) ; "
            "corrigez le signe",
        ),
        (
            {"eleves_prevus": -3},
            "Établissement!B8",
            "« Nombre d'élèves prévus » ne peut pas être négatif (-3)",
        ),
    ],
    ids=["montant", "entier"],
)
def test_val_negatif(fill, write_fill, check, values, lieu, message):
    change(fill, "etablissement", **values)
    expect(check(write_fill(fill)), "VAL-NEGATIF", lieu, B, message)


def test_val_negatif_amount_with_cents_is_quoted_the_french_way(fill, write_fill, check):
    """-123,45 typed in a French spreadsheet is quoted -123,45, not -123.45."""
    change(fill, "etablissement", report=-12_345)
    anomaly = expect(check(write_fill(fill)), "VAL-NEGATIF", "Établissement!B9", B)
    assert "(-123,45" in anomaly.message, anomaly.message


@covers("VAL-POSITIF")
def test_val_positif(fill, write_fill, check):
    change(fill, "depenses", 2, montant=0)
    expect(
        check(write_fill(fill)),
        "VAL-POSITIF",
        "Dépenses!E5",
        B,
        "« Montant (€) » doit être strictement positif (0,00 €) ; supprimez la ligne",
    )


@covers("VAL-MINIMUM")
def test_val_minimum(fill, write_fill, check):
    change(fill, "depenses", 1, cv=0)
    expect(
        check(write_fill(fill)),
        "VAL-MINIMUM",
        "Dépenses!L4",
        B,
        "« Puissance fiscale (CV) » doit valoir au moins 1 (lu : 0)",
        allow={"DEP-IK-DONNEES"},  # 0 CV is refused: the allowance cannot be computed
    )


@covers("VAL-DEMESURE")
@pytest.mark.parametrize(
    ("sheet", "index", "key", "value", "lieu"),
    [
        ("mentors", 0, "heures", 1e30, "Mentors!J3"),
        ("rencontres", 0, "duree", 1e308, "Rencontres!G3"),
        ("depenses", 1, "km", 1e17, "Dépenses!K4"),
        ("depenses", 1, "cv", 1e20, "Dépenses!L4"),
    ],
)
def test_val_demesure_absurd_numbers(fill, write_fill, check, sheet, index, key, value, lieu):
    """Absurd numbers (a typing accident) are refused on their cell, not computed with."""
    change(fill, sheet, index, **{key: value})
    classeur = check(write_fill(fill))
    found = [a for a in classeur.anomalies if a.code == "VAL-DEMESURE"]
    assert [(a.lieu, a.gravite) for a in found] == [(lieu, B)], listing(classeur.anomalies)
    assert "est hors de toute mesure (10 millions ou plus)" in found[0].message


def test_val_demesure_planned_students(fill, write_fill, check):
    change(fill, "etablissement", eleves_prevus=1e20)
    found = [a for a in check(write_fill(fill)).anomalies if a.code == "VAL-DEMESURE"]
    assert [(a.lieu, a.gravite) for a in found] == [("Établissement!B8", B)]


@covers("VAL-FORMULE")
def test_val_formule_a_formula_never_calculated(fill, write_fill, tmp_path, check):
    """openpyxl writes formulas without their value: calamine reads them as empty."""
    wb = openpyxl.load_workbook(write_fill(fill))
    wb["Dépenses"]["E5"] = "=100/3"
    path = tmp_path / "formule.xlsx"
    wb.save(path)
    expect(
        check(path),
        "VAL-FORMULE",
        "Dépenses!E5",
        B,
        "« Montant (€) » : formule sans valeur calculée",
        "enregistrez-le, puis renvoyez-le",
        allow=("DEP-MONTANT", "DEP-BUDGET"),
    )


@covers("VAL-ERREUR")
def test_val_erreur_an_error_cell(fill, write_fill, tmp_path, check):
    path = write_fill(fill)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp_path / "erreur.xlsx", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet7.xml":  # Dépenses: E5 holds 123.45
                start = data.index(b'<c r="E5"')
                end = data.index(b"</c>", start) + 4
                data = data[:start] + b'<c r="E5" t="e"><f>1/0</f><v>#DIV/0!</v></c>' + data[end:]
            zout.writestr(info, data)
    expect(
        check(tmp_path / "erreur.xlsx"),
        "VAL-ERREUR",
        "Dépenses!E5",
        B,
        "« Montant (€) » : cellule en erreur « #DIV/0! » ; corrigez la formule",
        allow=("DEP-MONTANT", "DEP-BUDGET"),
    )


@covers("VAL-FUSION")
def test_val_fusion_reads_a_merged_cell_as_it_looks(fill, write_fill, tmp_path, check):
    """« Payé à » merged over two lines (P01 shown on both): both lines pay P01."""
    wb = openpyxl.load_workbook(write_fill(fill))
    wb["Dépenses"].merge_cells("F3:F4")
    path = tmp_path / "fusion.xlsx"
    wb.save(path)
    classeur = check(path)
    expect(
        classeur,
        "VAL-FUSION",
        "Dépenses!F3",
        A,
        "cellules fusionnées F3:F4 : la valeur « P01 » est reprise sur chacune de leurs "
        "lignes ; défusionnez-les",
        allow=("DEP-SERVICE-FAIT",),
    )
    paid = classeur.eligibilite.lines.set_index("piece")["partenaire"]
    assert (paid["F001"], paid["F002"]) == ("P01", "P01")


@covers("VAL-DOUBLON")
def test_val_doublon(fill, write_fill, check):
    change(fill, "depenses", 2, piece="f001")
    anomaly = expect(
        check(write_fill(fill)),
        "VAL-DOUBLON",
        "Dépenses!A5",
        B,
        "« f001 » figure déjà en ligne 3 ; chaque N° de pièce doit être unique",
    )
    assert anomaly.valeur == "f001"


@covers("VAL-REFERENCE")
@pytest.mark.parametrize(
    ("sheet", "index", "values", "lieu", "gravite", "message"),
    [
        (
            "eleves",
            0,
            {"mentor": "M09"},
            "Élèves!E3",
            B,
            "Code mentor « M09 » inconnu : absent de la feuille Mentors ; ajoutez-le dans "
            "Mentors ou corrigez le code",
        ),
        (
            "mentors",
            0,
            {"partenaire": "P09"},
            "Mentors!E3",
            B,
            "Code partenaire « P09 » inconnu : absent de la feuille Partenaires",
        ),
        (
            "rencontres",
            1,
            {"eleves": "E001; E099"},
            "Rencontres!C4",
            A,
            "Codes élèves « E099 » inconnu : absent de la feuille Élèves",
        ),
    ],
    ids=["mentor-d-un-eleve", "partenaire-d-un-mentor", "eleve-d-une-rencontre"],
)
def test_val_reference(fill, write_fill, check, sheet, index, values, lieu, gravite, message):
    change(fill, sheet, index, **values)
    expect(check(write_fill(fill)), "VAL-REFERENCE", lieu, gravite, message)


@covers("VAL-UAI")
def test_val_uai(fill, write_fill, check):
    change(fill, "etablissement", uai="0750655A")
    expect(
        check(write_fill(fill)),
        "VAL-UAI",
        "Établissement!B3",
        B,
        "UAI « 0750655A » invalide : la clé de 0750655 est E, pas A",
    )


@covers("VAL-SIRET")
def test_val_siret(fill, write_fill, check):
    change(fill, "partenaires", 0, siret="73282932000075")
    expect(
        check(write_fill(fill)),
        "VAL-SIRET",
        "Partenaires!D3",
        B,
        "SIRET « 73282932000075 » invalide (clé de contrôle incorrecte)",
    )


@covers("VAL-RNA")
def test_val_rna(fill, write_fill, check):
    change(fill, "partenaires", 0, rna="W75123456")
    expect(
        check(write_fill(fill)),
        "VAL-RNA",
        "Partenaires!E3",
        B,
        "numéro RNA « W75123456 » invalide ; il s'écrit W suivi de 9 chiffres",
    )


# ------------------------------------------------------------------ establishment


@covers("ETA-ACADEMIE")
def test_eta_academie(fill, write_fill, check):
    change(fill, "etablissement", academie="Créteil")
    expect(
        check(write_fill(fill)),
        "ETA-ACADEMIE",
        "Établissement!B5",
        A,
        "académie « Créteil » différente de celle de l'UAI (Paris)",
    )


@covers("ETA-CAMPAGNE")
def test_eta_campagne(fill, write_fill, check):
    change(fill, "etablissement", campagne=2023)
    expect(
        check(write_fill(fill)),
        "ETA-CAMPAGNE",
        "Établissement!B6",
        B,
        "campagne 2023 différente de la campagne traitée (2024) ; utilisez le modèle de la "
        "campagne 2024",
    )


@covers("ETA-DOTATION-PREVUS")
def test_eta_dotation_prevus(fill, write_fill, check):
    change(fill, "etablissement", eleves_prevus=10)
    anomaly = expect(
        check(write_fill(fill)),
        "ETA-DOTATION-PREVUS",
        "Établissement!B7",
        A,
        f"dotation 10{NNBSP}000,00 € supérieure au forfait de 500,00 € × 10 élèves prévus "
        f"(5{NNBSP}000,00 €)",
    )
    assert anomaly.valeur == f"10{NNBSP}000,00 €"


@covers("ETA-DOTATION-MENTORES")
def test_eta_dotation_mentores(fill, write_fill, check):
    change(fill, "eleves", 2, mentor="M01")  # a third mentored student
    expect(
        check(write_fill(fill)),
        "ETA-DOTATION-MENTORES",
        "Établissement!B7",
        INFO,
        f"dotation 10{NNBSP}000,00 € supérieure au forfait de 500,00 € × 3 élèves mentorés "
        f"(1{NNBSP}500,00 €) : l'écart restera en reliquat",
    )


def _batch_of_two_copies(fill, write_fill, tmp_path, rules):
    from mentorat_budget import batch

    write_fill(fill, "a-lycee.xlsx")
    write_fill(fill, "b-copie.xlsx")
    results, _ = batch.run_batch(batch.discover([tmp_path]), rules, jobs=1)
    return results


@covers("ETA-DOUBLON")
def test_eta_doublon(fill, write_fill, tmp_path, rules):
    first, second = _batch_of_two_copies(fill, write_fill, tmp_path, rules)
    assert (first.fichier, first.statut, first.in_totals) == ("a-lycee.xlsx", VALIDE, True)
    assert (second.fichier, second.statut, second.in_totals) == ("b-copie.xlsx", DOUBLON, False)
    assert not [a for a in first.anomalies if a.code == "ETA-DOUBLON"]
    found = [a for a in second.anomalies if a.code == "ETA-DOUBLON"]
    assert len(found) == 1, listing(second.anomalies)
    anomaly = found[0]
    assert (anomaly.fichier, anomaly.feuille, anomaly.gravite) == (
        "b-copie.xlsx",
        "Établissement",
        B,
    )
    assert anomaly.message.startswith(
        "UAI 0750655E déjà présente dans « a-lycee.xlsx » : ce classeur est écarté des totaux"
    )


def test_eta_doublon_names_the_uai_cell(fill, write_fill, tmp_path, rules):
    """SPEC §5.3: every anomaly names its cell; the duplicate is the UAI in B3."""
    _, second = _batch_of_two_copies(fill, write_fill, tmp_path, rules)
    (anomaly,) = [a for a in second.anomalies if a.code == "ETA-DOUBLON"]
    assert anomaly.lieu == "Établissement!B3"


# ----------------------------------------------------------------------- students


@covers("ELV-FILIERE")
def test_elv_filiere(fill, write_fill, check):
    change(fill, "eleves", 0, filiere="Commerce")
    expect(
        check(write_fill(fill)),
        "ELV-FILIERE",
        "Élèves!B3",
        B,
        "filière « Commerce » hors du plan ; le plan mentorat ne couvre que Numérique, "
        "Énergie et Mobilité",
    )


# ------------------------------------------------------------------------ mentors


@covers("MEN-ETUDIANT")
def test_men_etudiant(fill, write_fill, check):
    change(fill, "mentors", 0, statut="Étudiant")
    expect(
        check(write_fill(fill)),
        "MEN-ETUDIANT",
        "Mentors!B3",
        B,
        "mentor « M01 » déclaré Étudiant : les étudiants ne peuvent pas être mentors",
    )


@covers("MEN-HONORABILITE")
def test_men_honorabilite(fill, write_fill, check):
    change(fill, "mentors", 0, honorabilite=False)
    expect(
        check(write_fill(fill)),
        "MEN-HONORABILITE",
        "Mentors!F3",
        B,
        "honorabilité du mentor « M01 » non vérifiée ; elle doit l'être avant toute rencontre",
    )


@covers("MEN-DSDEN")
def test_men_dsden(fill, write_fill, check):
    change(fill, "mentors", 1, verifie_par="Partenaire")  # M02 has no partner
    anomaly = expect(
        check(write_fill(fill)),
        "MEN-DSDEN",
        "Mentors!G4",
        B,
        "mentor « M02 » sans partenaire : son honorabilité doit être vérifiée par la DSDEN",
        "saisissez DSDEN une fois la vérification faite",
    )
    assert anomaly.valeur == "Partenaire"


@covers("MEN-MENTORES")
def test_men_mentores(fill, write_fill, check):
    fill.lignes["eleves"] += [
        {"code": f"E10{i}", "filiere": "Numérique", "mentor": "M01", "statut": "En cours"}
        for i in range(3)
    ]  # M01 now follows 4 students en cours
    expect(
        check(write_fill(fill)),
        "MEN-MENTORES",
        "Mentors!A3",
        A,
        "mentor « M01 » suit 4 élèves en cours (seuil : 3)",
    )


@covers("MEN-FILIERE")
def test_men_filiere(fill, write_fill, check):
    change(fill, "mentors", 0, filiere="Mobilité")
    expect(
        check(write_fill(fill)),
        "MEN-FILIERE",
        "Mentors!C3",
        INFO,
        "mentor « M01 » (Mobilité) sans filière commune avec ses mentorés (Numérique)",
    )


@covers("MEN-FORMATION")
def test_men_formation(fill, write_fill, check):
    change(fill, "mentors", 1, formation=False)
    expect(
        check(write_fill(fill)),
        "MEN-FORMATION",
        "Mentors!I4",
        INFO,
        "mentor « M02 » sans formation suivie",
    )


# ----------------------------------------------------------------------- partners


@covers("PAR-DATES")
def test_par_dates(fill, write_fill, check):
    change(fill, "partenaires", 0, fin=D(2024, 8, 1))
    anomaly = expect(
        check(write_fill(fill)),
        "PAR-DATES",
        "Partenaires!J3",
        B,
        "fin de convention (01/08/2024) antérieure à son début (01/09/2024)",
        also={("DEP-CONVENTION-PERIODE", "Dépenses!B3")},  # F001 is then outside them
    )
    assert anomaly.valeur == "01/08/2024"


@covers("PAR-AUTRE-FINANCEMENT")
def test_par_autre_financement(fill, write_fill, check):
    change(fill, "partenaires", 0, autre_financement=True)
    expect(
        check(write_fill(fill)),
        "PAR-AUTRE-FINANCEMENT",
        "Partenaires!L3",
        A,
        "partenaire « P01 » financé par ailleurs pour la même action",
    )


# ---------------------------------------------- expenses: ineligible euros (§5.2)


@covers("DEP-CATEGORIE")
def test_dep_categorie(fill, write_fill, check):
    change(fill, "depenses", 2, categorie="Rémunération des mentors")
    anomaly = expect(
        check(write_fill(fill)),
        "DEP-CATEGORIE",
        "Dépenses!C5",
        A,
        "dépense inéligible en totalité (123,45 €) : catégorie « Rémunération des mentors » "
        "non éligible. Non éligible : le temps des mentors ne peut pas être rémunéré.",
    )
    assert anomaly.valeur == "Rémunération des mentors"


@pytest.mark.parametrize(
    ("categorie", "code"), [("Repas", "VAL-LISTE"), (None, "VAL-OBLIGATOIRE")], ids=str
)
def test_dep_categorie_unreadable_is_not_an_empty_quote(fill, write_fill, check, categorie, code):
    """A category outside the list, or empty, is already a blocking anomaly on C5; the
    user must not also read « catégorie «  » non éligible »."""
    change(fill, "depenses", 2, categorie=categorie)
    classeur = check(write_fill(fill))
    assert (code, "Dépenses!C5") in codes_at(classeur)
    empty = [a for a in classeur.anomalies if "«  »" in a.message]
    assert empty == [], listing(empty)


@covers("DEP-JUSTIFICATIF")
@pytest.mark.parametrize("justificatif", [None, False], ids=["vide", "non"])
def test_dep_justificatif(fill, write_fill, check, justificatif):
    """No receipt: a warning, not a blocking anomaly (SPEC §5.3), even when left empty."""
    change(fill, "depenses", 2, justificatif=justificatif)
    expect(
        check(write_fill(fill)),
        "DEP-JUSTIFICATIF",
        "Dépenses!G5",
        A,
        "dépense inéligible en totalité (123,45 €) : pas de justificatif ; saisissez Oui si "
        "la facture ou le reçu est conservé",
    )


@covers("DEP-PERIODE")
def test_dep_periode(fill, write_fill, check):
    change(fill, "depenses", 2, date=D(2026, 1, 15))
    expect(
        check(write_fill(fill)),
        "DEP-PERIODE",
        "Dépenses!B5",
        A,
        "dépense inéligible en totalité (123,45 €) : datée du 15/01/2026, hors de la période "
        "d'éligibilité, du 01/01/2024 au 31/12/2025 ; vérifiez la date",
    )


@covers("DEP-CUMUL")
def test_dep_cumul(fill, write_fill, check):
    change(fill, "depenses", 2, autre_financement=True)
    expect(
        check(write_fill(fill)),
        "DEP-CUMUL",
        "Dépenses!M5",
        A,
        "dépense inéligible en totalité (123,45 €) : déjà financée par un autre programme de "
        "l'État",
    )


@covers("DEP-CONVENTION")
def test_dep_convention(fill, write_fill, check):
    change(fill, "partenaires", 0, convention=False)
    expect(
        check(write_fill(fill)),
        "DEP-CONVENTION",
        "Dépenses!F3",
        A,
        f"versement inéligible en totalité (1{NNBSP}500,00 €) : le partenaire « P01 » n'a pas "
        "de convention signée",
    )


@covers("DEP-SERVICE-FAIT")
def test_dep_service_fait(fill, write_fill, check):
    change(fill, "depenses", 0, service_fait=None)
    expect(
        check(write_fill(fill)),
        "DEP-SERVICE-FAIT",
        "Dépenses!H3",
        A,
        f"versement inéligible en totalité (1{NNBSP}500,00 €) : service fait non vérifié",
    )


@covers("DEP-CONVENTION-PERIODE")
def test_dep_convention_periode(fill, write_fill, check):
    change(fill, "depenses", 0, date=D(2024, 8, 15))  # before the convention starts
    expect(
        check(write_fill(fill)),
        "DEP-CONVENTION-PERIODE",
        "Dépenses!B3",
        A,
        "daté du 15/08/2024, hors des dates de la convention (01/09/2024 – 31/08/2025)",
    )


@covers("DEP-IK-DONNEES")
@pytest.mark.parametrize(
    ("values", "lieu"),
    [({"km": None}, "Dépenses!K4"), ({"cv": None}, "Dépenses!L4")],
    ids=["kilometres-vides", "puissance-fiscale-vide"],
)
def test_dep_ik_donnees(fill, write_fill, check, values, lieu):
    """The anomaly names the empty cell, Kilomètres (K) or Puissance fiscale (L)."""
    change(fill, "depenses", 1, **values)
    expect(
        check(write_fill(fill)),
        "DEP-IK-DONNEES",
        lieu,
        A,
        "indemnité kilométrique inéligible en totalité (12,80 €) : kilomètres ou puissance "
        "fiscale manquants",
    )


@covers("DEP-IK")
def test_dep_ik(fill, write_fill, check):
    change(fill, "depenses", 1, montant=20_000)  # 200 € claimed for 40 km at 5 CV
    anomaly = expect(
        check(write_fill(fill)),
        "DEP-IK",
        "Dépenses!E4",
        A,
        "indemnité kilométrique de 200,00 € plafonnée au barème : 12,80 € éligibles, "
        "187,20 € au-delà du barème",
    )
    assert anomaly.valeur == "200,00 €"


@covers("DEP-PLAFOND-CONVENTION")
def test_dep_plafond_convention(fill, write_fill, check):
    change(fill, "partenaires", 0, montant=100_000)  # 1 000 € agreed, 1 500 € paid
    expect(
        check(write_fill(fill)),
        "DEP-PLAFOND-CONVENTION",
        "Dépenses!E3",
        A,
        f"versement au partenaire « P01 » au-delà du montant conventionné (1{NNBSP}000,00 €) : "
        f"500,00 € inéligibles sur 1{NNBSP}500,00 €",
    )


@pytest.mark.parametrize(
    ("index", "values", "code", "cell_value"),
    [
        (2, {"justificatif": None}, "DEP-JUSTIFICATIF", ""),
        (2, {"autre_financement": True}, "DEP-CUMUL", "Oui"),
        (0, {"service_fait": None}, "DEP-SERVICE-FAIT", ""),
        (1, {"km": None}, "DEP-IK-DONNEES", ""),
    ],
    ids=["DEP-JUSTIFICATIF", "DEP-CUMUL", "DEP-SERVICE-FAIT", "DEP-IK-DONNEES"],
)
def test_value_read_of_a_rejected_line_is_not_in_cents(
    fill, write_fill, check, index, values, code, cell_value
):
    """The « valeur lue » column shows what the cell holds, or the amount in euros; never
    the amount in cents (12345 for 123,45 €)."""
    change(fill, "depenses", index, **values)
    (anomaly,) = [a for a in check(write_fill(fill)).anomalies if a.code == code]
    amount = {0: f"1{NNBSP}500,00 €", 1: "12,80 €", 2: "123,45 €"}[index]
    assert anomaly.valeur in (cell_value, amount)


# ------------------------------------------------ expenses and budget: warnings only


@covers("DEP-BUDGET")
def test_dep_budget(fill, write_fill, check):
    change(fill, "depenses", 2, categorie="Formation des mentors")
    classeur = check(write_fill(fill))
    anomaly = expect(
        classeur,
        "DEP-BUDGET",
        "Dépenses!C5",
        A,
        "catégorie « Formation des mentors » absente du budget prévisionnel ; ajoutez-la au "
        "budget annexé à la convention",
    )
    assert anomaly.valeur == "Formation des mentors"


def test_dep_budget_gone_once_the_category_is_planned(fill, write_fill, check):
    fill.lignes["budget"].append(
        {"partenaire": None, "categorie": "Communication", "montant": 20_000}
    )
    classeur = check(write_fill(fill))
    assert codes_at(classeur) == {("ETA-DOTATION-MENTORES", "Établissement!B7")}


@covers("DEP-PETIT-MATERIEL")
def test_dep_petit_materiel(fill, write_fill, check):
    change(fill, "depenses", 2, categorie="Petit matériel et fournitures", montant=90_000)
    expect(
        check(write_fill(fill)),
        "DEP-PETIT-MATERIEL",
        "Dépenses!E5",
        A,
        "petit matériel de 900,00 € sur une ligne (seuil : 800,00 €) : au-delà, c'est de "
        "l'équipement",
        also={("DEP-BUDGET", "Dépenses!C5")},  # not in the budget either
    )


@covers("BUD-ECART")
def test_bud_ecart(fill, write_fill, check):
    change(fill, "budget", 1, montant=1_000)  # 10 € planned for travel, 12,80 € spent
    expect(
        check(write_fill(fill)),
        "BUD-ECART",
        "Budget prévisionnel!C4",
        A,
        "« Déplacements des mentors » réalisée à 12,80 € pour 10,00 € prévus (+28 %, seuil "
        "20 %) ; expliquez l'écart ou amendez le budget prévisionnel",
    )


def test_bud_ecart_not_computed_on_a_negative_budget(fill, write_fill, check):
    """A negative planned amount is a blocking anomaly; no « +-103 % » gap on top of it."""
    change(fill, "budget", 1, montant=-50_000)
    expect(
        check(write_fill(fill)),
        "VAL-NEGATIF",
        "Budget prévisionnel!C4",
        B,
        "« Montant prévu (€) » ne peut pas être négatif (-500,00 €)",
    )


def test_dotation_with_an_empty_eleves_sheet_is_above_the_mentored_plafond(fill, write_fill, check):
    """A pre-filled template returned with no student yet: 0 mentored, the dotation is above
    500 € × 0 (information)."""
    fill.lignes["eleves"] = []
    fill.lignes["rencontres"] = []
    found = [a for a in check(write_fill(fill)).anomalies if a.code == "ETA-DOTATION-MENTORES"]
    assert [(a.lieu, a.gravite) for a in found] == [("Établissement!B7", INFO)]
    assert "× 0 élèves mentorés (0,00 €)" in found[0].message
