"""Reading an untrusted XML file (defusedxml: no DTD, no entities, nothing fetched) while
keeping the line each element starts on, so a bad element can be named by its line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from utilipay.common.files import FileRejected, LineError

Lines = dict[ET.Element, int]


class _LineTracking(ET.TreeBuilder):
    def __init__(self, local_names: bool) -> None:
        super().__init__()
        self.parser: DefusedXMLParser | None = None
        self.lines: Lines = {}
        self.local_names = local_names

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag.rsplit("}", 1)[-1] if self.local_names else tag, attrs)
        if self.parser is not None:
            self.lines[element] = self.parser.parser.CurrentLineNumber
        return element


def parse_with_lines(
    data: bytes, source: str, *, local_names: bool = False
) -> tuple[ET.Element, Lines]:
    """The document's root and each element's line; ``FileRejected`` for what is not XML
    or is refused (a DTD, an entity). ``local_names`` drops namespaces from tags, for
    formats whose namespace changes with every version."""
    builder = _LineTracking(local_names)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except ET.ParseError as exc:
        raise FileRejected(source, [LineError(exc.position[0], f"not XML: {exc}")]) from None
    except DefusedXmlException as exc:
        raise FileRejected(source, [LineError(1, f"refused: {exc}")]) from None
    return root, builder.lines
