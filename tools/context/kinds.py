"""What a file is (by its bytes, not its name), and roughly how many tokens it costs a model.

Images and PDFs are recognised by their magic bytes, so a renamed file is still sent as what it is. Text is
UTF-8 without NUL bytes; anything else is binary and not sent.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import warnings
from typing import Literal

Kind = Literal["text", "image", "pdf", "binary"]

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
_DEFAULT_IMAGE_TOKENS = 765
"""OpenAI's cost of a 1024x1024 image at high detail: the estimate when the dimensions cannot be read."""
_PDF_PAGE_TOKENS = 258
"""Gemini's cost of one PDF page as an image."""


def sniff(data: bytes) -> tuple[Kind, str]:
    """(kind, MIME type) of a file's content."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image", "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    if data.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if b"\x00" in data[:8192]:
        return "binary", "application/octet-stream"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "binary", "application/octet-stream"
    return "text", "text/plain"


def text_tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def image_tokens(data: bytes, mime_type: str) -> int:
    """OpenAI's high-detail tile formula on the image's own size (Gemini charges less: this errs high)."""
    size = image_size(data, mime_type)
    if size is None:
        return _DEFAULT_IMAGE_TOKENS
    scale = min(1.0, 2048 / max(*size, 1))
    width, height = size[0] * scale, size[1] * scale
    scale = min(1.0, 768 / max(min(width, height), 1))
    width, height = width * scale, height * scale
    return 85 + 170 * math.ceil(width / 512) * math.ceil(height / 512)


def image_size(data: bytes, mime_type: str) -> tuple[int, int] | None:
    try:
        if mime_type == "image/png" and len(data) >= 24:
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if mime_type == "image/gif" and len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if mime_type == "image/jpeg":
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def pdf_text(data: bytes) -> tuple[str | None, int]:
    """(the PDF's text, or None when none could be extracted; its page count, 0 if unreadable).

    pypdf: pure Python (no system library to install), actively maintained, and enough for text extraction;
    layout-faithful extractors (pdfminer.six, PyMuPDF) are heavier or carry native code.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # malformed-but-readable PDFs are common; their warnings are noise
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                return None, 0
            pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, struct.error, RecursionError):
        return None, 0
    finally:
        pypdf_log.setLevel(level)
    text = "\n\n".join(f"[page {n}]\n{page}" for n, page in enumerate(pages, 1) if page.strip())
    return (text or None), len(pages)


def pdf_tokens(pages: int, text: str | None) -> int:
    return pages * _PDF_PAGE_TOKENS + (text_tokens(len(text)) if text else 0)
