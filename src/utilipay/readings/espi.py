"""Green Button (NAESB REQ.21 ESPI) interval data: an Atom feed whose IntervalBlocks hold
IntervalReadings, each the consumption over its timePeriod (epoch seconds), in the unit
and power of ten of the ReadingType its MeterReading links to.

Parsed with defusedxml (no DTD, no entities, nothing fetched). The maintained Python
parser, greenbutton-objects, was weighed and left out: it binds the whole ESPI schema
through xsdata (a new dependency) without the defusedxml guards, to reach the three
elements needed here. Only forward (delivered) delta data in Wh or m³ is accepted; any
other kind of reading is refused by name rather than imported wrong.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from utilipay.common.files import FileRejected, LineError
from utilipay.common.xmlfiles import parse_with_lines
from utilipay.readings.fields import MAX_QUANTITY, QUANTUM
from utilipay.readings.schemas import IntervalRow, Service

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"
ESPI_NAMESPACE = b"naesb.org/espi"
# uom code -> (our unit, how many of the ESPI unit make one of ours)
UNITS = {"72": ("kWh", Decimal(1000)), "42": ("m3", Decimal(1))}
SERVICE_KINDS = {"0": Service.ELECTRICITY, "1": Service.GAS, "2": Service.WATER}
DELTA_DATA = "4"  # accumulationBehaviour: the value is what was used in the interval
FORWARD = "1"  # flowDirection: delivered to the customer
ESTIMATED_QUALITIES = {"8", "9", "12"}  # estimated (reference day, interpolation), projected
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # an xs:long, without signs or spaces int() allows
MAX_POWER = 12  # powerOfTenMultiplier runs from pico (-12) to tera (12)


@dataclass(frozen=True, slots=True)
class GreenButtonData:
    service: Service | None  # from the UsagePoint's ServiceCategory, when given
    unit: str
    intervals: list[IntervalRow]


def looks_like_espi(data: bytes) -> bool:
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and ESPI_NAMESPACE in head


class _Feed:
    """The feed's entries, found by their Atom links."""

    def __init__(self, root: ET.Element, lines: dict[ET.Element, int], source: str) -> None:
        self.root, self.lines, self.source = root, lines, source

    def reject(self, element: ET.Element | None, message: str) -> FileRejected:
        line = self.lines.get(element, 1) if element is not None else 1
        return FileRejected(self.source, [LineError(line, message)])

    def entries(self, kind: str) -> list[tuple[ET.Element, ET.Element]]:
        """(entry, content element) for every entry holding an ESPI ``kind``."""
        found = []
        for entry in self.root.iter(f"{ATOM}entry"):
            content = entry.find(f"{ATOM}content/{ESPI}{kind}")
            if content is not None:
                found.append((entry, content))
        return found

    @staticmethod
    def links(entry: ET.Element, rel: str) -> list[str]:
        return [link.get("href", "") for link in entry.findall(f"{ATOM}link[@rel='{rel}']")]

    def text(self, parent: ET.Element, path: str, default: str | None = None) -> str:
        found = parent.find(path.replace("espi:", ESPI))
        if found is None or found.text is None:
            if default is not None:
                return default
            raise self.reject(parent, f"{parent.tag.removeprefix(ESPI)} has no {path}")
        return found.text.strip()

    def integer(self, parent: ET.Element, path: str) -> int:
        value = self.text(parent, path)
        if not _INTEGER.fullmatch(value):
            raise self.reject(parent, f"{path} {value!r} is not an integer")
        return int(value)


class _ReadingTypes:
    """Which ReadingType an IntervalBlock uses: its MeterReading (the block's "up" link
    less "/IntervalBlock") links to it; a feed with a single ReadingType needs no links."""

    def __init__(self, feed: _Feed) -> None:
        self.feed = feed
        self.types = {h: rt for e, rt in feed.entries("ReadingType") for h in feed.links(e, "self")}
        self.readings = {
            h: e for e, _ in feed.entries("MeterReading") for h in feed.links(e, "self")
        }

    def of(self, block_entry: ET.Element) -> ET.Element:
        for up in self.feed.links(block_entry, "up"):
            meter_reading = self.readings.get(up.removesuffix("/IntervalBlock"))
            if meter_reading is None:
                continue
            for related in self.feed.links(meter_reading, "related"):
                if related in self.types:
                    return self.types[related]
        if len(self.types) == 1:
            return next(iter(self.types.values()))
        raise self.feed.reject(block_entry, "cannot tell which ReadingType this block uses")


def _scale(feed: _Feed, reading_type: ET.Element) -> tuple[str, Decimal]:
    """The unit and what one IntervalReading value is worth in it."""
    uom = feed.text(reading_type, "espi:uom")
    if uom not in UNITS:
        raise feed.reject(reading_type, f"uom {uom} is neither Wh (72) nor m³ (42)")
    if feed.text(reading_type, "espi:accumulationBehaviour", DELTA_DATA) != DELTA_DATA:
        raise feed.reject(reading_type, "only delta data (accumulationBehaviour 4) is usage")
    if feed.text(reading_type, "espi:flowDirection", FORWARD) != FORWARD:
        raise feed.reject(reading_type, "only forward (delivered) flow (flowDirection 1) is usage")
    unit, per_unit = UNITS[uom]
    power = feed.integer(reading_type, "espi:powerOfTenMultiplier")
    if not -MAX_POWER <= power <= MAX_POWER:
        raise feed.reject(reading_type, f"powerOfTenMultiplier {power} is not -12 to 12")
    return unit, Decimal(10) ** power / per_unit


def _instant(feed: _Feed, element: ET.Element, seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise feed.reject(element, f"{seconds} is not a time (seconds since 1970)") from None


def _reading(
    feed: _Feed, reading: ET.Element, worth: Decimal, block: tuple[int, int]
) -> IntervalRow:
    start = feed.integer(reading, "espi:timePeriod/espi:start")
    end = start + feed.integer(reading, "espi:timePeriod/espi:duration")
    value = feed.integer(reading, "espi:value")
    if not block[0] <= start < end <= block[1]:
        raise feed.reject(reading, "IntervalReading lies outside its IntervalBlock")
    if value < 0:
        raise feed.reject(reading, f"value {value} is negative: not consumption")
    quantity = (value * worth).quantize(QUANTUM, ROUND_HALF_EVEN)
    if quantity >= MAX_QUANTITY:
        raise feed.reject(reading, f"value {value} is not a credible usage")
    quality = feed.text(reading, "espi:ReadingQuality/espi:quality", "0")
    return IntervalRow(
        line=feed.lines.get(reading, 1),
        start=_instant(feed, reading, start),
        end=_instant(feed, reading, end),
        quantity=quantity,
        estimated=quality in ESTIMATED_QUALITIES,
    )


def _intervals(
    feed: _Feed, block: ET.Element, worth: Decimal, errors: list[LineError]
) -> list[IntervalRow]:
    """The block's readings; each bad one is added to ``errors``."""
    interval = block.find(f"{ESPI}interval")
    if interval is None:
        raise feed.reject(block, "IntervalBlock has no interval")
    block_start = feed.integer(interval, "espi:start")
    bounds = (block_start, block_start + feed.integer(interval, "espi:duration"))
    rows = []
    for reading in block.findall(f"{ESPI}IntervalReading"):
        try:
            rows.append(_reading(feed, reading, worth, bounds))
        except FileRejected as exc:
            errors.extend(exc.errors)
    return rows


def parse_green_button(data: bytes, source: str = "Green Button file") -> GreenButtonData:
    feed = _Feed(*parse_with_lines(data, source), source)
    usage_points = feed.entries("UsagePoint")
    if len(usage_points) > 1:
        raise feed.reject(usage_points[1][1], "more than one UsagePoint: import one meter a file")
    kind = (
        feed.text(usage_points[0][1], "espi:ServiceCategory/espi:kind", "") if usage_points else ""
    )
    reading_types = _ReadingTypes(feed)
    units: set[str] = set()
    intervals: list[IntervalRow] = []
    errors: list[LineError] = []
    for entry, block in feed.entries("IntervalBlock"):
        unit, worth = _scale(feed, reading_types.of(entry))
        units.add(unit)
        intervals.extend(_intervals(feed, block, worth, errors))
    if errors:
        raise FileRejected(source, errors)
    if not intervals:
        raise feed.reject(None, "no IntervalReading in the file")
    if len(units) > 1:
        raise feed.reject(None, "IntervalBlocks in both kWh and m³: one meter a file")
    return GreenButtonData(SERVICE_KINDS.get(kind), units.pop(), intervals)
