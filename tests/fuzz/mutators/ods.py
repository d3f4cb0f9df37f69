"""Mutations of .ods workbooks: content.xml changed structurally inside one table (rows
and columns repeated, text:s counts, values and dates, spans, nesting, quoting), the
other members of the package, or the archive itself."""

from __future__ import annotations

import random
import re

from . import values, xml, zipped
from .xlsx import DATA_SHEETS

TABLE_NS = b"urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ROW, CELL, P = b"table:table-row", b"table:table-cell", b"text:p"


def _tables(content: bytes) -> list[tuple[bytes, tuple[int, int]]]:
    """(name, span) of each table."""
    found = []
    for span in xml.elements(content, b"table:table"):
        m = re.match(rb'<table:table\b[^>]*?table:name="([^"]*)"', content[span[0] : span[1]])
        found.append((m[1] if m else b"", span))
    return found


def _a_table(content: bytes, rng: random.Random) -> tuple[int, int] | None:
    tables = _tables(content)
    if not tables:
        return None
    data = [s for n, s in tables if n.decode("utf-8", "replace") in DATA_SHEETS]
    if data and rng.random() < 0.85:
        first = [s for n, s in tables if n == "Dépenses".encode()]
        return rng.choice(first * 3 + data)
    return rng.choice(tables)[1]


def _repeat(table: bytes, rng: random.Random, tag: bytes, attr: bytes) -> bytes | None:
    """`attr` (a repeat count) set on one element of `tag`, empty or not, written with
    any legal quoting: double, single, spaces around `=`."""
    spans = xml.elements(table, tag)
    if not spans:
        return None
    start = rng.choice(spans)[0]
    head_end = table.find(b">", start)
    head = table[start:head_end]
    head = re.sub(rb"\s" + re.escape(attr) + rb"\s*=\s*(\"[^\"]*\"|'[^']*')", b"", head)
    value = xml.quote(rng.choice(values.COUNTS[:26] if rng.random() < 0.8 else values.COUNTS))
    written = rng.choice([b'="%s"', b"='%s'", b' = "%s"', b"\n=\n'%s'"]) % value
    head = head[: 1 + len(tag)] + b" " + attr + written + head[1 + len(tag) :]
    return table[:start] + head + table[head_end:]


def _then_value(table: bytes, rng: random.Random) -> bytes | None:
    """A huge run of empty repeated rows, then one row holding a value."""
    end = table.rfind(b"</table:table>")
    if end < 0:
        return None
    n = rng.choice([b"1000000", b"1048000", b"65536", b"100000000", b"2147483647"])
    quoting = rng.choice([b'="%s"', b"='%s'", b' = "%s"'])
    empty = (
        b"<table:table-row table:number-rows-repeated"
        + quoting % n
        + b"><table:table-cell/></table:table-row>"
    )
    value = (b'<table:table-row><table:table-cell office:value-type="float" office:value="1">'
             b"<text:p>1</text:p></table:table-cell></table:table-row>")  # fmt: skip
    return xml.splice(table, end, end, empty + value)


def _typed(table: bytes, rng: random.Random, kind: bytes, attr: bytes, choices) -> bytes | None:
    """A typed cell made a cell of another type, with an odd value of that type."""
    spans = xml.attribute_values(table, b"office:value-type")
    if not spans:
        return None
    start, end = rng.choice(spans)
    value = xml.quote(rng.choice(choices))
    return table[:start] + kind + b'" ' + attr + b'="' + value + table[end:]


def _text_s(table: bytes, rng: random.Random) -> bytes | None:
    spans = xml.text_spans(table, P)
    if not spans:
        return None
    at = rng.choice(spans)[1]
    count = xml.quote(rng.choice(values.COUNTS))
    written = rng.choice([b'="%s"', b"='%s'", b' = "%s"']) % count
    return xml.splice(table, at, at, b"<text:s text:c" + written + b"/>")


def _lines(table: bytes, rng: random.Random) -> bytes | None:
    """A cell's text made of thousands of paragraphs or line breaks (newlines once read)."""
    cells = [s for s in xml.elements(table, CELL) if b"<text:p" in table[s[0] : s[1]]]
    if not cells:
        return None
    start, end = rng.choice(cells)
    n = rng.choice([100, 10_000, 40_000])
    body = rng.choice([
        b"<text:p>1</text:p>" + b"<text:p/>" * n + b"<text:p>2</text:p>",
        b"<text:p>1" + b"<text:line-break/>" * n + b"2</text:p>",
        b"<text:p>1" + b"<text:tab/>" * n + b"2</text:p>",
        b"<text:p>" + b"<text:span>1</text:span>" * n + b"</text:p>",
    ])  # fmt: skip
    return xml.splice(
        table,
        start,
        end,
        b'<table:table-cell office:value-type="string">' + body + b"</table:table-cell>",
    )


def _number_as_text(table: bytes, rng: random.Random) -> bytes | None:
    """A cell holding a number or a date (an amount, a date, a count) replaced by odd
    text, sometimes over thousands of paragraphs (newlines once read)."""
    typed = re.compile(rb'<table:table-cell[^>]*office:value-type="(?:float|currency|date)"')
    cells = [s for s in xml.elements(table, CELL) if typed.match(table, s[0])]
    if not cells:
        return None
    start, end = rng.choice(cells)
    if rng.random() < 0.5:
        sep = rng.choice([b"<text:p/>", b"<text:line-break/>", b"<text:s/>", b"<text:tab/>"])
        n = rng.choice([1000, 10_000, 40_000])
        body = b"<text:p>1</text:p>" + sep * n + b"<text:p>2</text:p>"
        if sep != b"<text:p/>":
            body = b"<text:p>1" + sep * n + b"2</text:p>"
    else:
        body = b"<text:p>" + xml.quote(values.pathological_text(rng)) + b"</text:p>"
    new = b'<table:table-cell office:value-type="string">' + body + b"</table:table-cell>"
    return xml.splice(table, start, end, new)


def _nested_table(table: bytes, rng: random.Random) -> bytes | None:
    cells = xml.elements(table, CELL)
    if not cells:
        return None
    start, end = rng.choice(cells)
    inner = (
        b'<table:table table:name="x"><table:table-row><table:table-cell office:value-type='
        b'"float" office:value="5"><text:p>5</text:p></table:table-cell></table:table-row>'
        b"</table:table>"
    )
    depth = rng.choice([1, 2, 50])
    body = inner
    for _ in range(depth - 1):
        body = (
            b'<table:table table:name="y"><table:table-row><table:table-cell>'
            + body
            + b"</table:table-cell></table:table-row></table:table>"
        )
    return xml.splice(table, start, end, b"<table:table-cell>" + body + b"</table:table-cell>")


def _prefix(content: bytes, rng: random.Random) -> bytes | None:
    """The `table:` namespace bound to another prefix: the same document for an XML
    reader."""
    root = re.search(rb"<office:document-content\b", content)
    if root is None or b"xmlns:t=" in content:
        return None
    renamed = re.sub(rb"(</?)table:", rb"\1t:", content)
    renamed = re.sub(rb"(\s)table:([\w-]+=)", rb"\1t:\2", renamed)
    return xml.splice(renamed, root.end(), root.end(), b' xmlns:t="' + TABLE_NS + b'"')


TABLE_CHANGES = {
    "rows-repeated": lambda t, rng: _repeat(t, rng, ROW, b"table:number-rows-repeated"),
    "columns-repeated": lambda t, rng: _repeat(
        t,
        rng,
        rng.choice([CELL, b"table:table-column", b"table:covered-table-cell"]),
        b"table:number-columns-repeated",
    ),
    "empty-rows-then-value": _then_value,
    "text-s": _text_s,
    "value": lambda t, rng: xml.set_attribute(t, rng, b"office:value", values.NUMBERS),
    "value-type": lambda t, rng: xml.set_attribute(
        t,
        rng,
        b"office:value-type",
        ["float", "date", "time", "boolean", "string", "percentage", "currency", "x", ""],
    ),
    "date-value": lambda t, rng: xml.set_attribute(t, rng, b"office:date-value", values.DATES),
    "date-cell": lambda t, rng: _typed(t, rng, b"date", b"office:date-value", values.DATES),
    "time-cell": lambda t, rng: _typed(t, rng, b"time", b"office:time-value", values.DURATIONS),
    "boolean-cell": lambda t, rng: _typed(
        t, rng, b"boolean", b"office:boolean-value", ["true", "false", "1", "x", ""]
    ),
    "text": lambda t, rng: xml.set_text(t, rng, P, values.text_value(rng)),
    "lines": _lines,
    "number-as-text": _number_as_text,
    "spans": lambda t, rng: _repeat(
        t,
        rng,
        CELL,
        rng.choice([b"table:number-columns-spanned", b"table:number-rows-spanned"]),
    ),
    "dup-row": lambda t, rng: xml.duplicate(t, rng, ROW),
    "del-row": lambda t, rng: xml.delete(t, rng, ROW),
    "move-row": lambda t, rng: xml.move(t, rng, ROW),
    "dup-cell": lambda t, rng: xml.duplicate(t, rng, CELL),
    "del-cell": lambda t, rng: xml.delete(t, rng, CELL),
    "move-cell": lambda t, rng: xml.move(t, rng, CELL),
    "table-name": lambda t, rng: xml.set_attribute(
        t, rng, b"table:name", ["Dépenses (2)", "DEPENSES", "", "Élèves", "x" * 300, "Dépenses"]
    ),
    "nested-table": _nested_table,
    "nesting": lambda t, rng: xml.deep_nesting(t, rng, rng.choice([P, CELL])),
    "requote": lambda t, rng: xml.requote(t, rng, rng.choice([ROW, CELL])),
    "generic-in-table": lambda t, rng: xml.generic(t, rng, [ROW, CELL, P]),
}
TABLE_WEIGHTS = {"rows-repeated": 3, "columns-repeated": 3, "text-s": 2, "date-value": 2,
                 "value": 2, "text": 2, "lines": 2, "number-as-text": 3}  # fmt: skip


def _on_table(change):
    def op(data: bytes, rng: random.Random) -> bytes | None:
        def edit(content: bytes) -> bytes | None:
            span = _a_table(content, rng)
            if span is None:
                return None
            new = change(content[span[0] : span[1]], rng)
            return None if new is None else xml.splice(content, *span, new)

        return zipped.edit_member(data, "content.xml", edit)

    return op


def _on_member(member: str, change):
    return lambda data, rng: zipped.edit_member(data, member, lambda x: change(x, rng))


def _mimetype(data: bytes, rng: random.Random) -> bytes | None:
    new = rng.choice([b"", b"application/vnd.oasis.opendocument.text", b"x" * 1000,
                      b"application/vnd.oasis.opendocument.spreadsheet\n"])  # fmt: skip
    return zipped.edit_member(data, "mimetype", lambda _: new)


def _ops() -> dict[str, tuple[object, int]]:
    ops: dict[str, tuple[object, int]] = {}
    for name, change in TABLE_CHANGES.items():
        ops[f"content.{name}"] = (_on_table(change), 2 * TABLE_WEIGHTS.get(name, 1))
    ops["content.prefix"] = (_on_member("content.xml", _prefix), 1)
    ops["content.generic"] = (
        _on_member("content.xml", lambda x, rng: xml.generic(x, rng, [b"table:table", ROW, CELL])),
        2,
    )
    for member in ("styles.xml", "meta.xml", "settings.xml", "META-INF/manifest.xml"):
        generic = _on_member(member, lambda x, rng: xml.generic(x, rng, [b"office:document"]))
        ops[f"{member}.generic"] = (generic, 1)
    ops["mimetype"] = (_mimetype, 1)
    ops["archive"] = (zipped.mutate, 4)
    return ops


OPS = _ops()
