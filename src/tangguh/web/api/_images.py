"""Photo checks for citizen reports: real PNG/JPEG by their bytes, metadata stripped.

Only the first bytes decide the type (the file name and the declared content type are
ignored): PNG needs its 8-byte signature and a first ``IHDR`` chunk with a non-zero
size; JPEG needs ``FF D8 FF`` and a start-of-frame segment with a non-zero size before
the image data. Anything else is not an image (415). Metadata that can identify the
reporter or their home is removed before storing: JPEG APP1-APP15 segments (EXIF with
GPS, XMP, …) and comments, PNG text/EXIF/time chunks.
"""

from __future__ import annotations

import struct

__all__ = ["MAX_PHOTO_BYTES", "sniff", "strip_metadata"]

MAX_PHOTO_BYTES = 5 * 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_MAX_SIDE = 65_535
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def _png_ok(data: bytes) -> bool:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return False
    width, height = struct.unpack(">II", data[16:24])
    return 0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]] | None:
    """(marker, start, end) of each segment before the scan data, or None if malformed."""
    out: list[tuple[int, int, int]] = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out.append((marker, i, i + 2))
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2 or i + 2 + length > len(data):
            return None
        out.append((marker, i, i + 2 + length))
        if marker == 0xDA:  # start of scan: the rest is image data
            return out
        i += 2 + length
    return None


def _jpeg_ok(data: bytes) -> bool:
    segments = _jpeg_segments(data)
    if not segments:
        return False
    for marker, start, _end in segments:
        if marker in _SOF:
            if start + 9 > len(data):
                return False
            height, width = struct.unpack(">HH", data[start + 5 : start + 9])
            return width > 0 and height > 0
        if marker == 0xDA:
            return False
    return False


def sniff(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg`` or None (not a readable PNG/JPEG header)."""
    if data.startswith(_PNG) and _png_ok(data):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff") and _jpeg_ok(data):
        return "image/jpeg"
    return None


def strip_metadata(data: bytes, media_type: str) -> bytes:
    """The image without metadata segments/chunks (pixels untouched)."""
    if media_type == "image/jpeg":
        segments = _jpeg_segments(data)
        if not segments:
            return data
        parts = [data[:2]]
        for marker, start, end in segments:
            if 0xE1 <= marker <= 0xEF or marker == 0xFE:
                continue
            parts.append(data[start:end])
        parts.append(data[segments[-1][2] :])
        return b"".join(parts)
    if media_type == "image/png":
        parts = [data[:8]]
        i = 8
        while i + 12 <= len(data):
            (length,) = struct.unpack(">I", data[i : i + 4])
            kind = data[i + 4 : i + 8]
            end = i + 12 + length
            if end > len(data):
                return data
            if kind not in _PNG_DROP:
                parts.append(data[i:end])
            i = end
            if kind == b"IEND":
                break
        return b"".join(parts)
    return data
