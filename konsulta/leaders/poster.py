"""Printable A4 invitation posters: a large QR code of the invite link, the
consultation's title and a two-line invitation in each of the community's languages.

One layout (in PDF points) is computed once and drawn twice: as a vector PDF with
reportlab (the QR code as filled squares, sharp at any printer resolution) and as a PNG
with Pillow, so both files look the same. Large type and pure black on white, for
people who do not see well. DejaVu Sans covers Polish, Ukrainian, Romani and most
European letters; it comes from the Debian package fonts-dejavu-core, and other
usual font folders are searched too.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

log = logging.getLogger(__name__)

__all__ = ["PosterBlock", "PosterText", "poster_pdf", "poster_png"]

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "C:/Windows/Fonts",
)
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
PAGE_W, PAGE_H = A4  # points
MARGIN = 42.0
QR_BORDER = 4  # modules of white around the code, as the standard asks


@dataclass(frozen=True)
class PosterBlock:
    """What one language says on the poster."""

    language: str
    title: str
    line1: str
    line2: str


@dataclass(frozen=True)
class PosterText:
    link: str
    heading: str  # the community's name
    blocks: tuple[PosterBlock, ...]


@dataclass(frozen=True)
class _Font:
    name: str  # reportlab font name
    path: Path | None  # TTF file; None: reportlab's Helvetica and Pillow's default


@cache
def _fonts() -> tuple[_Font, _Font]:
    for folder in FONT_DIRS:
        regular, bold = Path(folder) / REGULAR, Path(folder) / BOLD
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("KonsultaSans", str(regular)))
            pdfmetrics.registerFont(TTFont("KonsultaSans-Bold", str(bold)))
            return _Font("KonsultaSans", regular), _Font("KonsultaSans-Bold", bold)
    log.warning("DejaVu Sans not found (install fonts-dejavu-core); posters lose some letters")
    return _Font("Helvetica", None), _Font("Helvetica-Bold", None)


@dataclass(frozen=True)
class _Line:
    text: str
    size: float
    bold: bool
    top: float  # distance from the top of the page, points


@dataclass(frozen=True)
class _Layout:
    lines: tuple[_Line, ...]
    qr_top: float
    qr_size: float


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}".strip()
            if current and pdfmetrics.stringWidth(candidate, font, size) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def _layout(text: PosterText, scale: float) -> _Layout:
    regular, bold = _fonts()
    width = PAGE_W - 2 * MARGIN
    lines: list[_Line] = []
    y = MARGIN

    def add(value: str, size: float, is_bold: bool, gap: float = 0.25) -> None:
        nonlocal y
        font = bold.name if is_bold else regular.name
        for part in _wrap(value, font, size * scale, width):
            lines.append(_Line(part, size * scale, is_bold, y))
            y += size * scale * 1.2
        y += size * scale * gap

    add(text.heading, 20, True, 0.6)
    for index, block in enumerate(text.blocks):
        add(block.title, 30 if index == 0 else 24, True)
    y += 8 * scale
    qr_size = min(width, 330 * scale)
    qr_top = y
    y += qr_size + 14 * scale
    for block in text.blocks:
        add(block.line1, 19, True, 0.0)
        add(block.line2, 19, False, 0.7)
    add(text.link, 11, False)
    return _Layout(tuple(lines), qr_top, qr_size)


def _fit(text: PosterText) -> _Layout:
    """The largest type that fits one page (three languages fit at about 0.8)."""
    scale = 1.0
    while True:
        layout = _layout(text, scale)
        bottom = layout.lines[-1].top + layout.lines[-1].size * 1.2 if layout.lines else 0
        if bottom <= PAGE_H - MARGIN or scale < 0.4:
            return layout
        scale *= 0.92


def _modules(link: str) -> tuple[Sequence[Sequence[int]], int]:
    qr = segno.make(link, error="m", micro=False)
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=QR_BORDER)]
    return rows, len(rows)


def _runs(row: Iterable[int]) -> list[tuple[int, int]]:
    """(start, length) of the dark stretches of one row: fewer shapes to draw."""
    found: list[tuple[int, int]] = []
    start = None
    cells = list(row)
    for x, dark in enumerate([*cells, 0]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            found.append((start, x - start))
            start = None
    return found


def poster_pdf(text: PosterText) -> bytes:
    regular, bold = _fonts()
    layout = _fit(text)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(text.blocks[0].title if text.blocks else "Konsulta")
    pdf.setFillColorRGB(0, 0, 0)
    for line in layout.lines:
        pdf.setFont(bold.name if line.bold else regular.name, line.size)
        # reportlab's y grows upwards from the bottom; our tops grow downwards.
        pdf.drawCentredString(PAGE_W / 2, PAGE_H - line.top - line.size, line.text)
    rows, count = _modules(text.link)
    module = layout.qr_size / count
    left = (PAGE_W - layout.qr_size) / 2
    for y, row in enumerate(rows):
        for start, length in _runs(row):
            top = layout.qr_top + y * module
            pdf.rect(
                left + start * module,
                PAGE_H - top - module,
                length * module,
                module,
                stroke=0,
                fill=1,
            )
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pil_font(font: _Font, size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if font.path is not None:
        return ImageFont.truetype(str(font.path), max(1, round(size)))
    return ImageFont.load_default(size=max(1, round(size)))


def poster_png(text: PosterText, dpi: int = 150) -> bytes:
    regular, bold = _fonts()
    layout = _fit(text)
    k = dpi / 72.0
    image = Image.new("L", (round(PAGE_W * k), round(PAGE_H * k)), 255)
    draw = ImageDraw.Draw(image)
    for line in layout.lines:
        font = _pil_font(bold if line.bold else regular, line.size * k)
        draw.text(
            (image.width / 2, (line.top + line.size * 0.8) * k), line.text, font=font, anchor="ms"
        )
    rows, count = _modules(text.link)
    # Whole pixels per module keep the code crisp for phone cameras.
    module = max(1, int(layout.qr_size * k / count))
    left = (image.width - module * count) // 2
    top = round(layout.qr_top * k)
    for y, row in enumerate(rows):
        for start, length in _runs(row):
            x0, y0 = left + start * module, top + y * module
            draw.rectangle((x0, y0, x0 + length * module - 1, y0 + module - 1), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
