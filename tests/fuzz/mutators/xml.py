"""XML mutations on bytes, keeping the layout of what is not mutated.

The readers sniff bytes as much as they parse (quoting, prefixes, patterns), so the
mutations edit the text in place instead of parsing and re-serialising it. Elements are
found by a scan that is exact for the parts spreadsheets write (no CDATA, no comments
inside tags) and approximate elsewhere, which is fine: a wrong cut is one more mutation.
Every function takes the XML and a `random.Random` and returns the new XML, or None when
it finds nothing to mutate.
"""

from __future__ import annotations

import random
import re
from xml.sax.saxutils import escape

from . import values


def elements(xml: bytes, tag: bytes) -> list[tuple[int, int]]:
    """(start, end) of each element named `tag` (qualified name as written), outermost
    first; a self-closing element spans its tag."""
    spans = []
    close_tag = b"</" + tag + b">"
    for m in re.finditer(b"<" + re.escape(tag) + rb"(?=[\s/>])", xml):
        gt = xml.find(b">", m.end())
        if gt < 0:
            break
        if xml[gt - 1 : gt] == b"/":
            spans.append((m.start(), gt + 1))
            continue
        close = xml.find(close_tag, gt)
        if close >= 0:
            spans.append((m.start(), close + len(close_tag)))
    return spans


def _pick(rng: random.Random, spans: list) -> tuple[int, int] | None:
    return rng.choice(spans) if spans else None


def attribute_values(xml: bytes, name: bytes) -> list[tuple[int, int]]:
    """(start, end) of each value of attribute `name`, quotes excluded."""
    pattern = rb"(?<=[\s])" + re.escape(name) + rb"\s*=\s*(\"[^\"<]*\"|'[^'<]*')"
    return [(m.start(1) + 1, m.end(1) - 1) for m in re.finditer(pattern, xml)]


def text_spans(xml: bytes, tag: bytes) -> list[tuple[int, int]]:
    """(start, end) of the text content of each `<tag …>text</tag>` without children."""
    pattern = b"<" + re.escape(tag) + rb"(?:\s[^>]*)?>([^<]*)</" + re.escape(tag) + b">"
    return [(m.start(1), m.end(1)) for m in re.finditer(pattern, xml)]


def splice(xml: bytes, start: int, end: int, new: bytes) -> bytes:
    return xml[:start] + new + xml[end:]


def quote(text: str) -> bytes:
    return escape(text).encode("utf-8", "surrogatepass")


# ----------------------------------------------------------------- element operations


def duplicate(xml: bytes, rng: random.Random, tag: bytes, times: int = 0) -> bytes | None:
    """One element copied, right after itself or after another element of its kind;
    `times` copies (random when 0: usually one, sometimes thousands)."""
    spans = elements(xml, tag)
    span = _pick(rng, spans)
    if span is None:
        return None
    copies = times or rng.choice([1, 1, 1, 2, 10, 1000, 60_000])
    at = rng.choice(spans)[1] if rng.random() < 0.3 else span[1]
    return splice(xml, at, at, xml[span[0] : span[1]] * copies)


def delete(xml: bytes, rng: random.Random, tag: bytes) -> bytes | None:
    span = _pick(rng, elements(xml, tag))
    return None if span is None else splice(xml, *span, b"")


def move(xml: bytes, rng: random.Random, tag: bytes) -> bytes | None:
    """One element cut and pasted before another element of its kind."""
    spans = elements(xml, tag)
    if len(spans) < 2:
        return None
    a, b = rng.sample(spans, 2)
    piece = xml[a[0] : a[1]]
    if b[0] > a[0]:
        if b[0] < a[1]:  # nested: b is inside a
            return None
        return xml[: a[0]] + xml[a[1] : b[0]] + piece + xml[b[0] :]
    return xml[: b[0]] + piece + xml[b[0] : a[0]] + xml[a[1] :]


def set_attribute(xml: bytes, rng: random.Random, name: bytes, choices: list[str]) -> bytes | None:
    span = _pick(rng, attribute_values(xml, name))
    if span is None:
        return None
    return splice(xml, *span, quote(rng.choice(choices)))


def add_attribute(
    xml: bytes, rng: random.Random, tag: bytes, attr: bytes, value: str
) -> bytes | None:
    """`attr="value"` added to one start tag of `tag` (a second one if it has it)."""
    span = _pick(rng, elements(xml, tag))
    if span is None:
        return None
    at = span[0] + 1 + len(tag)
    return splice(xml, at, at, b" " + attr + b'="' + quote(value) + b'"')


def set_text(xml: bytes, rng: random.Random, tag: bytes, text: str) -> bytes | None:
    span = _pick(rng, text_spans(xml, tag))
    return None if span is None else splice(xml, *span, quote(text))


_ATTR_RE = re.compile(rb"(\s)([\w:.-]+)=\"([^\"<]*)\"")


def requote(xml: bytes, rng: random.Random, tag: bytes) -> bytes | None:
    """The attributes of some start tags of `tag` written another legal way: single quotes,
    spaces or newlines around `=`, or (illegal) twice, or with another case."""
    spans = elements(xml, tag)
    if not spans:
        return None
    style = rng.choice(["single", "spaces", "newlines", "twice", "upper", "unquoted"])
    chosen = rng.sample(spans, min(len(spans), rng.choice([1, 3, 1000])))
    out, last = [], 0
    for start, _ in sorted(chosen):
        end = xml.find(b">", start)
        head = xml[start:end]

        def redo(m: re.Match, style: str = style) -> bytes:
            space, name, value = m.groups()
            return {
                "single": space + name + b"='" + value + b"'",
                "spaces": space + name + b' = "' + value + b'"',
                "newlines": b"\n" + name + b'\n=\t"' + value + b'"',
                "twice": space + name + b'="' + value + b'" ' + name + b'="' + value + b'"',
                "upper": space + name.upper() + b'="' + value + b'"',
                "unquoted": space + name + b"=" + value,
            }[style]

        out += [xml[last:start], _ATTR_RE.sub(redo, head)]
        last = end
    out.append(xml[last:])
    return b"".join(out)


def rename_tag(xml: bytes, rng: random.Random, tag: bytes) -> bytes | None:
    """Every `tag` element renamed: another case, another or no prefix, a near name."""
    if not elements(xml, tag):
        return None
    prefix, _, local = tag.rpartition(b":")
    new = rng.choice(
        [
            tag.upper(),
            local if prefix else b"x:" + tag,
            b"zz:" + local,
            tag + b"x",
            local[:-1] or b"q",
        ]
    )
    xml = re.sub(b"<" + re.escape(tag) + rb"(?=[\s/>])", b"<" + new, xml)
    return xml.replace(b"</" + tag + b">", b"</" + new + b">")


# ------------------------------------------------------------- document operations


def deep_nesting(xml: bytes, rng: random.Random, tag: bytes) -> bytes | None:
    """Thousands of nested elements put inside one element of `tag`."""
    span = _pick(rng, elements(xml, tag))
    if span is None:
        return None
    at = xml.find(b">", span[0]) + 1
    if xml[at - 2 : at - 1] == b"/":
        return None
    depth = rng.choice([100, 10_000, 200_000])
    name = rng.choice([tag, b"x", tag.rpartition(b":")[0] + b":span" if b":" in tag else b"r"])
    return splice(xml, at, at, (b"<" + name + b">") * depth + (b"</" + name + b">") * depth)


LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))


def entities(xml: bytes, rng: random.Random, tag: bytes) -> bytes | None:
    """Entity and character references in a text, with or without a DOCTYPE declaring them."""
    spans = text_spans(xml, tag)
    span = _pick(rng, spans)
    ref = rng.choice([b"&amp;", b"&lt;", b"&#0;", b"&#1;", b"&#x10FFFF;", b"&#x110000;",
                      b"&#99999999999;", b"&unknown;", b"&e;", b"&l8;", b"&#65;" * 1000,
                      b"&", b"&#xD800;", b"&ext;"])  # fmt: skip
    if span is not None:
        xml = splice(xml, span[0], span[0], ref)
    elif not rng.random() < 0.5:
        return None
    if rng.random() < 0.6:
        root = re.search(rb"<([\w:]+)", xml[xml.find(b"?>") + 2 :] if b"?>" in xml else xml)
        name = root[1] if root else b"x"
        decl = rng.choice([
            b'<!ENTITY e "entit\xc3\xa9">',
            b"<!ENTITY l0 \"lol\">" + LAUGHS.encode(),
            b'<!ENTITY ext SYSTEM "file:///etc/hostname">',
            b'<!ENTITY % p "x"><!ENTITY e "y">',
        ])  # fmt: skip
        doctype = b"<!DOCTYPE " + name + b" [" + decl + b"]>"
        end = xml.find(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        xml = xml[:end] + doctype + xml[end:]
    return xml


def encoding(xml: bytes, rng: random.Random) -> bytes | None:
    """The document in another encoding, declared or not, or declared wrongly."""
    decl = re.match(rb"<\?xml[^>]*\?>", xml)
    body = xml[decl.end() :] if decl else xml
    how = rng.choice(["utf16", "utf16-nodecl", "bom", "latin1-declared", "latin1-bytes",
                      "ebcdic", "unknown", "no-decl", "utf32"])  # fmt: skip
    text = body.decode("utf-8", "replace")
    if how == "utf16":
        return '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + text.encode("utf-16-le")
    if how == "utf16-nodecl":
        return text.encode("utf-16")
    if how == "utf32":
        return ('<?xml version="1.0" encoding="UTF-32"?>' + text).encode("utf-32")
    if how == "bom":
        return b"\xef\xbb\xbf" + xml
    if how == "latin1-declared":  # UTF-8 bytes, declared Latin-1: accents change
        return b'<?xml version="1.0" encoding="ISO-8859-1"?>' + body
    if how == "latin1-bytes":  # Latin-1 bytes, declared UTF-8: invalid UTF-8
        return (decl[0] if decl else b"") + text.encode("latin-1", "replace")
    if how == "ebcdic":
        return b'<?xml version="1.0" encoding="cp500"?>' + text.encode("cp500", "replace")
    if how == "unknown":
        return b'<?xml version="1.0" encoding="x-no-such-thing"?>' + body
    return body


def truncate(xml: bytes, rng: random.Random) -> bytes | None:
    if len(xml) < 2:
        return None
    return xml[: rng.randrange(1, len(xml))]


def junk(xml: bytes, rng: random.Random) -> bytes | None:
    """Something legal or not inserted at a tag boundary: comment, processing
    instruction, CDATA, unknown element, unclosed tag, stray text, NUL."""
    marks = [m.start() for m in re.finditer(rb"<", xml)]
    if not marks:
        return None
    at = rng.choice(marks)
    piece = rng.choice([
        b"<!-- comment -->", b"<?pi data?>", b"<![CDATA[<c r=\"A1\">]]>", b"<unknown/>",
        b"<x:y xmlns:x=\"urn:x\"/>", b"<open>", b"</close>", b"stray text", b"\x00",
        b"<!-- " + b"-" * 10_000, b"<" * 1000, b"\xff\xfe", b"]]>", b"<?xml version=\"1.0\"?>",
    ])  # fmt: skip
    return splice(xml, at, at, piece)


def raw_bytes(xml: bytes, rng: random.Random) -> bytes | None:
    """A few bytes of the member flipped, inserted or deleted (the archive stays valid)."""
    if not xml:
        return None
    out = bytearray(xml)
    for _ in range(rng.choice([1, 1, 2, 8])):
        i = rng.randrange(len(out))
        what = rng.random()
        if what < 0.4:
            out[i] ^= 1 << rng.randrange(8)
        elif what < 0.6:
            out[i:i] = bytes([rng.choice(b"<>/\"'=&;: \x00\xff0123456789")])
        elif what < 0.8:
            del out[i : i + rng.choice([1, 2, 10, 100])]
        else:
            out[i : i + 1] = b"9" * rng.choice([10, 100, 400])
    return bytes(out)


def generic(xml: bytes, rng: random.Random, tags: list[bytes]) -> bytes | None:
    """One of the document operations, on one of `tags` where it needs an element."""
    tag = rng.choice(tags)
    op = rng.choice(["nest", "entities", "encoding", "truncate", "junk", "raw", "rename"])
    return {
        "nest": lambda: deep_nesting(xml, rng, tag),
        "entities": lambda: entities(xml, rng, tag),
        "encoding": lambda: encoding(xml, rng),
        "truncate": lambda: truncate(xml, rng),
        "junk": lambda: junk(xml, rng),
        "raw": lambda: raw_bytes(xml, rng),
        "rename": lambda: rename_tag(xml, rng, tag),
    }[op]()


def text_for(rng: random.Random) -> str:
    return values.text_value(rng)
