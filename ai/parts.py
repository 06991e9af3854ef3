"""Shared context (`GenerateRequest.context`) in each provider's own shape.

OpenAI-compatible: text blocks, images as `image_url` parts with a `data:` URL, PDFs as `file` parts (or their
extracted text where the AI cannot read PDFs). A message whose context is all text stays a plain string, because
several compatible servers accept nothing else. Gemini (`ai/gemini.py`, which alone imports google-genai): text
parts, images and PDFs as `inlineData`.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlparse

from junior_ai.ai.types import ContentPart, FilePart, TextPart
from junior_ai.core.config import AIConfig
from junior_ai.core.errors import BadRequestError

# Compatible APIs known to read `file` parts with PDFs; other servers get the extracted text.
_PDF_NATIVE_HOSTS = {"api.openai.com", "openrouter.ai"}


def reads_pdf_natively(config: AIConfig) -> bool:
    if config.pdf_input is not None:
        return config.pdf_input == "native"
    return urlparse(config.base_url or "").hostname in _PDF_NATIVE_HOSTS


def data_url(part: FilePart) -> str:
    return f"data:{part.mime_type};base64,{base64.b64encode(part.data).decode('ascii')}"


def pdf_as_text_reason(config: AIConfig) -> str:
    """Why an OpenAI-compatible AI gets a PDF's text rather than the file (for messages)."""
    if config.pdf_input == "text":
        return 'its settings say "pdf_input": "text"'
    host = urlparse(config.base_url or "").hostname or "its base_url"
    return f"its server, {host}, is not one known to read PDF files"


def pdf_text_block(part: FilePart, ai: str, why: str = "") -> str:
    if part.text is None:
        # Not "cannot read PDFs": the AI may be OpenAI's model behind another server; what failed is the text.
        raise BadRequestError(
            f"{ai} gets PDFs as extracted text{f' ({why})' if why else ''}, and no text could be extracted from "
            f"{part.name} (a scanned, encrypted or damaged PDF?). Fix: share it with an AI that gets PDF files "
            f'themselves (Gemini, or OpenAI and OpenRouter at their own APIs), set "pdf_input": "native" for {ai} '
            "if its server reads PDF files, or share the text instead.",
            ai=ai,
        )
    return f"--- {part.name} (text extracted from the PDF) ---\n{part.text}\n--- end of {part.name} ---"


def openai_content(
    context: tuple[ContentPart, ...], prompt: str, *, pdf_native: bool, ai: str, pdf_why: str = ""
) -> str | list[dict[str, Any]]:
    """The last user message's `content`: a string when everything is text, else a list of parts."""
    pieces: list[dict[str, Any]] = []
    for part in context:
        if isinstance(part, TextPart):
            pieces.append({"type": "text", "text": part.text})
        elif part.is_image:
            pieces.append({"type": "image_url", "image_url": {"url": data_url(part)}})
        elif pdf_native:
            pieces.append(
                {"type": "file", "file": {"filename": part.name.rsplit("/", 1)[-1], "file_data": data_url(part)}}
            )
        else:
            pieces.append({"type": "text", "text": pdf_text_block(part, ai, pdf_why)})
    if not pieces:
        return prompt
    pieces.append({"type": "text", "text": prompt})
    if all(piece["type"] == "text" for piece in pieces):
        return "\n\n".join(piece["text"] for piece in pieces)
    return pieces


def pdf_names(context: tuple[ContentPart, ...]) -> list[str]:
    return [p.name for p in context if isinstance(p, FilePart) and not p.is_image]
