"""Photo checks for citizen reports, as the web layer uses them.

The checks live in the domain module :mod:`tangguh.services.reports` (the CLI's
``tangguh reports resolve --photo`` uses them too); this module keeps the web layer's
names. Only the bytes decide the type (PNG signature + ``IHDR``; JPEG ``FF D8 FF`` + a
start-of-frame segment), at most 5 MB; metadata that can identify the reporter or their
home (JPEG APP1-APP15 such as EXIF with GPS, XMP, comments; PNG text/EXIF/time chunks)
is removed before the photo is stored or published.
"""

from __future__ import annotations

from tangguh.services.reports import MAX_PHOTO_BYTES, sniff, strip_metadata

__all__ = ["MAX_PHOTO_BYTES", "sniff", "strip_metadata"]
