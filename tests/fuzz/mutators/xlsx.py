"""Mutations of .xlsx workbooks: one member's XML changed structurally (a sheet,
sharedStrings.xml, workbook.xml, styles.xml, the relationships, [Content_Types].xml),
or the archive itself. The members stay valid zip entries (CRC right), so the readers'
XML handling is what gets tested."""

from __future__ import annotations

import html
import random
import re

from . import values, xml, zipped

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# Built-in number formats that are dates or times (ECMA-376 §18.8.30).
DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}


def sheet_members(data: bytes) -> dict[str, str]:
    """Sheet name -> zip member, read loosely (a mutant may be odd); members under
    xl/worksheets/ that no sheet names are listed under their own name."""
    members = zipped.read(data) or []
    by_name = {m.name: m.data for m in members}
    workbook = by_name.get("xl/workbook.xml", b"")
    rels = by_name.get("xl/_rels/workbook.xml.rels", b"")
    targets = dict(re.findall(rb'Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(rb'Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    found: dict[str, str] = {}
    for name, rid in re.findall(rb'<sheet [^>]*?name="([^"]*)"[^>]*?r:id="([^"]+)"', workbook):
        target = targets.get(rid, b"").decode("utf-8", "replace")
        member = target.lstrip("/") if target.startswith("/") else "xl/" + target
        if member in by_name:
            found[name.decode("utf-8", "replace")] = member
    for m in members:
        worksheet = m.name.startswith("xl/worksheets/") and m.name.endswith(".xml")
        if worksheet and m.name not in found.values():
            found[m.name] = m.name
    return found


DATA_SHEETS = ("Dépenses", "Établissement", "Élèves", "Mentors", "Partenaires",
               "Budget prévisionnel", "Rencontres")  # fmt: skip


def _a_sheet(data: bytes, rng: random.Random) -> str | None:
    """A worksheet member, most often one of the data sheets (Dépenses first)."""
    sheets = sheet_members(data)
    if not sheets:
        return None
    preferred = [sheets[n] for n in DATA_SHEETS if n in sheets]
    if preferred and rng.random() < 0.8:
        weights = [4 if i == 0 else 1 for i in range(len(preferred))]
        return rng.choices(preferred, weights)[0]
    return rng.choice(sorted(sheets.values()))


def date_styles(data: bytes) -> list[int]:
    """Indices of the cell formats (cellXfs) that format numbers as dates or times."""
    members = {m.name: m.data for m in zipped.read(data) or []}
    styles = members.get("xl/styles.xml", b"").decode("utf-8", "replace")
    custom = {}
    for tag in re.findall(r"<numFmt [^>]*>", styles):
        ident, code = re.search(r'numFmtId="(\d+)"', tag), re.search(r'formatCode="([^"]*)"', tag)
        if ident and code:
            text = re.sub(r'"[^"]*"|\[[^\]]*\]', "", html.unescape(code[1]))
            custom[int(ident[1])] = text.lower()
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S)
    found = []
    for i, tag in enumerate(re.findall(r"<xf\b[^>]*>", xfs[1] if xfs else "")):
        ident = re.search(r'numFmtId="(\d+)"', tag)
        fmt = int(ident[1]) if ident else 0
        if fmt in DATE_FORMAT_IDS or re.search("[dmy]", custom.get(fmt, "")):
            found.append(i)
    return found


def _attr_in(xml_: bytes, tag: bytes, name: bytes) -> list[tuple[int, int]]:
    """Values of attribute `name` inside start tags of `tag` only."""
    spans = []
    for start, _ in xml.elements(xml_, tag):
        end = xml_.find(b">", start)
        for a, b in xml.attribute_values(xml_[start:end], name):
            spans.append((start + a, start + b))
    return spans


def _set_in(xml_: bytes, rng: random.Random, tag: bytes, name: bytes, choices) -> bytes | None:
    spans = _attr_in(xml_, tag, name)
    if not spans:
        return xml.add_attribute(xml_, rng, tag, name, rng.choice(choices))
    return xml.splice(xml_, *rng.choice(spans), xml.quote(rng.choice(choices)))


def _date_value(sheet: bytes, rng: random.Random, styles: list[int]) -> bytes | None:
    """A huge or negative number in a date-formatted cell (calamine converts it)."""
    if not styles:
        return None
    pattern = (
        rb'<c r="[A-Z]+\d+" s="(?:'
        + b"|".join(str(s).encode() for s in styles)
        + rb')"(?: t="n")?>(<v>[^<]*</v>)'
    )
    cells = list(re.finditer(pattern, sheet))
    number = xml.quote(rng.choice(values.DATE_NUMBERS))
    if cells:
        m = rng.choice(cells)
        return xml.splice(sheet, m.start(1), m.end(1), b"<v>" + number + b"</v>")
    cells = list(
        re.finditer(rb'<c r="([A-Z]+\d+)"(?: s="\d+")?(?: t="n")?>(<v>[^<]*</v>)</c>', sheet)
    )
    if not cells:
        return None
    m = rng.choice(cells)
    cell = (
        b'<c r="'
        + m[1]
        + b'" s="'
        + str(rng.choice(styles)).encode()
        + b'"><v>'
        + number
        + b"</v></c>"
    )
    return xml.splice(sheet, m.start(), m.end(), cell)


def _inline(sheet: bytes, rng: random.Random) -> bytes | None:
    """A cell replaced by an inline string of odd text (keeps its reference)."""
    cells = list(re.finditer(rb'<c r="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', sheet, re.S))
    if not cells:
        return None
    m = rng.choice(cells)
    text = xml.quote(values.text_value(rng))
    new = (
        b'<c r="' + m[1] + b'" t="inlineStr"><is><t xml:space="preserve">' + text + b"</t></is></c>"
    )
    return xml.splice(sheet, m.start(), m.end(), new)


def _number_as_text(sheet: bytes, rng: random.Random) -> bytes | None:
    """A cell that holds a number (an amount, a date, a count) replaced by odd text: that
    text goes through the number and date parsers."""
    cells = list(
        re.finditer(rb'<c r="([A-Z]+\d+)"(?: s="\d+")?(?: t="n")?><v>[^<]*</v></c>', sheet)
    )
    if not cells:
        return None
    m = rng.choice(cells)
    text = xml.quote(
        values.pathological_text(rng) if rng.random() < 0.7 else values.text_value(rng)
    )
    new = (
        b'<c r="' + m[1] + b'" t="inlineStr"><is><t xml:space="preserve">' + text + b"</t></is></c>"
    )
    return xml.splice(sheet, m.start(), m.end(), new)


def _formula(sheet: bytes, rng: random.Random) -> bytes | None:
    cells = list(re.finditer(rb'<c r="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', sheet, re.S))
    if not cells:
        return None
    m = rng.choice(cells)
    f = rng.choice([
        b"<f>SUM(E3:E999999)</f>", b'<f t="shared" ref="A1:XFD1048576" si="0">A1</f>',
        b'<f t="shared" si="99999999"/>', b'<f t="array" ref="A1:Z9999">1</f>', b"<f></f>",
        b"<f>" + b"(" * 10_000 + b"</f>", b"<f>1+2</f><v>3</v>", b"<f>A1</f><v></v>",
    ])  # fmt: skip
    t = rng.choice([b"", b' t="str"', b' t="e"', b' t="b"', b' t="s"'])
    return xml.splice(sheet, m.start(), m.end(), b'<c r="' + m[1] + b'"' + t + b">" + f + b"</c>")


def _append_rows(sheet: bytes, rng: random.Random) -> bytes | None:
    """Many rows added after the last one (a pasted column, a sheet filled down)."""
    end = sheet.rfind(b"</sheetData>")
    if end < 0:
        return None
    last = [int(r) for r in re.findall(rb'<row r="(\d+)"', sheet)] or [0]
    start, n = max(last) + 1, rng.choice([100, 10_000, 50_001, 200_000])
    col = rng.choice([b"A", b"E", b"Z", b"AMJ", b"XFD"])
    value = rng.choice([b"<v>1</v>", b""])
    if rng.random() < 0.5:  # one far cell only
        rows = b'<row r="%d"><c r="%s%d">%s</c></row>' % (start + n, col, start + n, value)
    else:
        rows = b"".join(b'<row r="%d"><c r="%s%d">%s</c></row>' % (r, col, r, value)
                        for r in range(start, start + n))  # fmt: skip
    return xml.splice(sheet, end, end, rows)


def _prefixed(sheet: bytes, rng: random.Random) -> bytes | None:
    """The same worksheet with its cells (or rows) in a prefixed namespace: a reader that
    knows XML reads the same sheet."""
    root = re.search(rb"<worksheet\b", sheet)
    if root is None:
        return None
    tag = rng.choice([b"c", b"row", b"v"])
    renamed = re.sub(b"<" + tag + rb"(?=[\s/>])", b"<x:" + tag, sheet)
    renamed = renamed.replace(b"</" + tag + b">", b"</x:" + tag + b">")
    return xml.splice(renamed, root.end(), root.end(), b' xmlns:x="' + MAIN_NS + b'"')


def _merge(sheet: bytes, rng: random.Random) -> bytes | None:
    end = sheet.find(b"</sheetData>")
    if end < 0:
        return None
    end += len(b"</sheetData>")
    refs = [rng.choice(values.RANGES) for _ in range(rng.choice([1, 2, 1000]))]
    body = b"".join(b'<mergeCell ref="' + xml.quote(r) + b'"/>' for r in refs)
    count = xml.quote(rng.choice(values.COUNTS))
    return xml.splice(
        sheet, end, end, b'<mergeCells count="' + count + b'">' + body + b"</mergeCells>"
    )


# Each change takes (the member's XML, rng, the whole archive) and returns the new XML.
SHEET_CHANGES = {
    "dup-row": lambda x, rng, _: xml.duplicate(x, rng, b"row"),
    "del-row": lambda x, rng, _: xml.delete(x, rng, b"row"),
    "move-row": lambda x, rng, _: xml.move(x, rng, b"row"),
    "dup-cell": lambda x, rng, _: xml.duplicate(x, rng, b"c"),
    "del-cell": lambda x, rng, _: xml.delete(x, rng, b"c"),
    "move-cell": lambda x, rng, _: xml.move(x, rng, b"c"),
    "cell-ref": lambda x, rng, _: _set_in(x, rng, b"c", b"r", values.REFS),
    "row-ref": lambda x, rng, _: _set_in(x, rng, b"row", b"r", values.COUNTS),
    "spans": lambda x, rng, _: _set_in(
        x, rng, b"row", b"spans", ["1:16384", "0:0", "16384:1", "1:99999999", "x", "1:2:3"]
    ),
    "dimension": lambda x, rng, _: _set_in(x, rng, b"dimension", b"ref", values.RANGES),
    "type": lambda x, rng, _: _set_in(
        x, rng, b"c", b"t", ["s", "n", "b", "e", "str", "inlineStr", "d", "x", ""]
    ),
    "value": lambda x, rng, _: xml.set_text(x, rng, b"v", rng.choice(values.NUMBERS)),
    "date-value": lambda x, rng, data: _date_value(x, rng, date_styles(data)),
    "style": lambda x, rng, data: _set_in(
        x, rng, b"c", b"s", [*values.COUNTS, *(str(s) for s in date_styles(data))]
    ),
    "inline-text": lambda x, rng, _: _inline(x, rng),
    "number-as-text": lambda x, rng, _: _number_as_text(x, rng),
    "formula": lambda x, rng, _: _formula(x, rng),
    "merge": lambda x, rng, _: _merge(x, rng),
    "cols": lambda x, rng, _: _set_in(x, rng, b"col", rng.choice([b"min", b"max"]), values.COUNTS),
    "requote": lambda x, rng, _: xml.requote(x, rng, rng.choice([b"c", b"row"])),
    "prefix": lambda x, rng, _: _prefixed(x, rng),
    "append-rows": lambda x, rng, _: _append_rows(x, rng),
    "generic": lambda x, rng, _: xml.generic(x, rng, [b"c", b"row", b"v", b"sheetData"]),
}
SHEET_WEIGHTS = {"date-value": 2, "inline-text": 2, "value": 2, "number-as-text": 3}


def _on_sheet(change):
    def op(data: bytes, rng: random.Random) -> bytes | None:
        member = _a_sheet(data, rng)
        if member is None:
            return None
        return zipped.edit_member(data, member, lambda x: change(x, rng, data))

    return op


def _on_member(member: str, change):
    def op(data: bytes, rng: random.Random) -> bytes | None:
        return zipped.edit_member(data, member, lambda x: change(x, rng, data))

    return op


SST_CHANGES = {
    "count": lambda x, rng, _: _set_in(x, rng, b"sst", b"count", values.COUNTS),
    "unique-count": lambda x, rng, _: _set_in(x, rng, b"sst", b"uniqueCount", values.COUNTS),
    "dup": lambda x, rng, _: xml.duplicate(x, rng, b"si"),
    "del": lambda x, rng, _: xml.delete(x, rng, b"si"),
    "move": lambda x, rng, _: xml.move(x, rng, b"si"),
    "text": lambda x, rng, _: xml.set_text(x, rng, b"t", values.text_value(rng)),
    "rich": lambda x, rng, _: _rich(x, rng),
    "many": lambda x, rng, _: xml.duplicate(x, rng, b"si", rng.choice([10_000, 1_000_000])),
    "none": lambda x, rng, _: re.sub(rb"<si>.*?</si>", b"", x, flags=re.S),
    "generic": lambda x, rng, _: xml.generic(x, rng, [b"si", b"t", b"sst"]),
}
SST_WEIGHTS = {"text": 3, "unique-count": 2}


def _rich(sst: bytes, rng: random.Random) -> bytes | None:
    """A shared string made of many rich-text runs (and phonetic runs)."""
    spans = xml.elements(sst, b"si")
    if not spans:
        return None
    n = rng.choice([2, 100, 100_000])
    run = rng.choice([b"<r><rPr><b/></rPr><t>1</t></r>", b"<r><t xml:space=\"preserve\"> </t></r>",
                      b"<rPh sb=\"0\" eb=\"1\"><t>x</t></rPh>", b"<r><t>\n</t></r>"])  # fmt: skip
    return xml.splice(sst, *rng.choice(spans), b"<si>" + run * n + b"</si>")


SHEET_NAMES = [
    "Dépenses (2)", "DEPENSES", "Copie de Dépenses", "Dépenses ", "Dépenses\u00a0", "Dépense",
    "", "x" * 31, "y" * 300, "'Dépenses'", "Dé\x01penses", "Synthèse", "Notice", "Listes",
    "Établissement", "Dépenses", "Élèves", "Rencontres", "Budget previsionnel", "&amp;",
]  # fmt: skip


WORKBOOK_CHANGES = {
    "dup-sheet": lambda x, rng, _: xml.duplicate(x, rng, b"sheet", 1),
    "del-sheet": lambda x, rng, _: xml.delete(x, rng, b"sheet"),
    "move-sheet": lambda x, rng, _: xml.move(x, rng, b"sheet"),
    "sheet-name": lambda x, rng, _: _set_in(x, rng, b"sheet", b"name", SHEET_NAMES),
    "state": lambda x, rng, _: _set_in(x, rng, b"sheet", b"state", ["hidden", "veryHidden", "x"]),
    "rid": lambda x, rng, _: _set_in(x, rng, b"sheet", b"r:id", ["rId1", "rId999", "", "rId1 "]),
    "date1904": lambda x, rng, _: _set_in(x, rng, b"workbookPr", b"date1904", ["1", "true", "x"]),
    "defined-names": lambda x, rng, _: xml.duplicate(x, rng, b"definedName", rng.choice([1, 9999])),
    "sheet-id": lambda x, rng, _: _set_in(x, rng, b"sheet", b"sheetId", values.COUNTS),
    "active-tab": lambda x, rng, _: _set_in(x, rng, b"workbookView", b"activeTab", values.COUNTS),
    "generic": lambda x, rng, _: xml.generic(x, rng, [b"sheet", b"sheets", b"workbook"]),
}


FORMAT_CODES = ["dd/mm/yyyy", "yyyy-mm-dd hh:mm:ss", "[h]:mm:ss", "0.00", "@", "General",
                "d" * 1000, '"x"dd', "[$-F800]dddd", "mm:ss.000", "[<0]d;0", ""]  # fmt: skip


STYLES_CHANGES = {
    "format-code": lambda x, rng, _: _set_in(x, rng, b"numFmt", b"formatCode", FORMAT_CODES),
    "num-fmt-id": lambda x, rng, _: _set_in(
        x, rng, b"xf", b"numFmtId", ["14", "22", "46", "47", "0", "4", "49", "164", "99999", "-1"]
    ),
    "count": lambda x, rng, _: _set_in(x, rng, b"cellXfs", b"count", values.COUNTS),
    "dup-xf": lambda x, rng, _: xml.duplicate(x, rng, b"xf"),
    "del-xf": lambda x, rng, _: xml.delete(x, rng, b"xf"),
    "generic": lambda x, rng, _: xml.generic(x, rng, [b"xf", b"numFmt", b"cellXfs"]),
}
STYLES_WEIGHTS = {"num-fmt-id": 2}


TARGETS = [
    "worksheets/sheet1.xml", "/xl/worksheets/sheet2.xml", "worksheets\\sheet3.xml",
    "../xl/worksheets/sheet1.xml", "worksheets/Sheet1.xml", "", "sharedStrings.xml",
    "workbook.xml", "worksheets/sheet1.xml#x", "worksheets/%73heet1.xml",
    "http://example.invalid/x.xml", "worksheets/none.xml",
]  # fmt: skip
RELS_CHANGES = {
    "target": lambda x, rng, _: _set_in(x, rng, b"Relationship", b"Target", TARGETS),
    "id": lambda x, rng, _: _set_in(x, rng, b"Relationship", b"Id", ["rId1", "rId2", "", "x y"]),
    "dup": lambda x, rng, _: xml.duplicate(x, rng, b"Relationship", 1),
    "del": lambda x, rng, _: xml.delete(x, rng, b"Relationship"),
    "generic": lambda x, rng, _: xml.generic(x, rng, [b"Relationship"]),
}
RELS_WEIGHTS = {"target": 2}


CONTENT_TYPES_CHANGES = {
    "del": lambda x, rng, _: xml.delete(x, rng, rng.choice([b"Override", b"Default"])),
    "type": lambda x, rng, _: _set_in(
        x,
        rng,
        b"Override",
        b"ContentType",
        [
            "application/xml",
            "",
            "text/plain",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        ],
    ),
    "generic": lambda x, rng, _: xml.generic(x, rng, [b"Override", b"Types"]),
}


def other_member_op(data: bytes, rng: random.Random) -> bytes | None:
    """Any other member (tables, docProps, theme, calcChain…): a generic XML mutation."""
    names = [n for n in zipped.names(data) if n.endswith((".xml", ".rels"))]
    if not names:
        return None
    return zipped.edit_member(
        data, rng.choice(names), lambda x: xml.generic(x, rng, [b"x", b"Properties", b"table"])
    )


def _ops() -> dict[str, tuple[object, int]]:
    """Every op of the family: name -> (function(data, rng), weight)."""
    ops: dict[str, tuple[object, int]] = {}
    for name, change in SHEET_CHANGES.items():
        ops[f"sheet.{name}"] = (_on_sheet(change), 2 * SHEET_WEIGHTS.get(name, 1))
    for prefix, member, changes, weights in (
        ("sharedStrings", "xl/sharedStrings.xml", SST_CHANGES, SST_WEIGHTS),
        ("workbook", "xl/workbook.xml", WORKBOOK_CHANGES, {}),
        ("styles", "xl/styles.xml", STYLES_CHANGES, STYLES_WEIGHTS),
        ("content-types", "[Content_Types].xml", CONTENT_TYPES_CHANGES, {}),
    ):
        for name, change in changes.items():
            ops[f"{prefix}.{name}"] = (_on_member(member, change), weights.get(name, 1))
    for name, change in RELS_CHANGES.items():
        ops[f"rels.{name}"] = (_on_rels(change), RELS_WEIGHTS.get(name, 1))
    ops["other-member.generic"] = (other_member_op, 2)
    ops["archive"] = (zipped.mutate, 6)
    return ops


def _on_rels(change):
    def op(data: bytes, rng: random.Random) -> bytes | None:
        rels = [n for n in zipped.names(data) if n.endswith(".rels")]
        if not rels:
            return None
        member = "xl/_rels/workbook.xml.rels" if rng.random() < 0.7 else rng.choice(rels)
        return zipped.edit_member(data, member, lambda x: change(x, rng, data))

    return op


OPS = _ops()
