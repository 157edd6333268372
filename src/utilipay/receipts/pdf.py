"""The receipt as PDF: the 58 mm text receipt's lines on a page 58 mm wide, each column
where the thermal printer would put it.

reportlab's built-in CID font STSong-Light (Adobe-GB1) draws the Chinese: the PDF names the
font and the reader supplies it, so no font file is needed on the hub's machine. Latin
runs are drawn in Courier (one of the 14 standard fonts, also never embedded), whose
characters are exactly half a Chinese character wide: columns line up as on paper.
"""

from __future__ import annotations

import io
from itertools import groupby

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from utilipay.receipts.layout import WIDTH, columns, render_text
from utilipay.receipts.schemas import Receipt

_CJK_FONT = "STSong-Light"
_LATIN_FONT = "Courier"  # 0.6 em a character
_SIZE = 8.5  # a Chinese character's size, in points: 32 columns fill 48 mm
_COLUMN = _SIZE / 2
_LEADING = _SIZE * 1.4
_PAGE_WIDTH = 58 * mm
_MARGIN = (_PAGE_WIDTH - WIDTH * _COLUMN) / 2

pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))


def _draw_line(canvas: Canvas, line: str, y: float) -> None:
    """Each run of wide or of narrow characters at its column."""
    column = 0
    for wide, run in groupby(line, key=lambda c: columns(c) == 2):
        chars = "".join(run)
        if wide:
            canvas.setFont(_CJK_FONT, _SIZE)
        else:
            canvas.setFont(_LATIN_FONT, _COLUMN / 0.6)
        canvas.drawString(_MARGIN + column * _COLUMN, y, chars)
        column += sum(columns(c) for c in chars)


def render_pdf(receipt: Receipt) -> bytes:
    """One page, as long as the receipt; the same bytes for the same receipt."""
    lines = render_text(receipt).splitlines()
    height = 2 * _MARGIN + len(lines) * _LEADING
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(_PAGE_WIDTH, height), invariant=True)
    canvas.setTitle(f"缴费凭证 {receipt.receipt_no}")
    canvas.setCreator("utilipay")
    for n, line in enumerate(lines):
        _draw_line(canvas, line, height - _MARGIN - (n + 1) * _LEADING + _LEADING * 0.25)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
