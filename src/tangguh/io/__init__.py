"""Files in and out: read any vector file with validation, write layers to files."""

from tangguh.io._checks import Issue, sanitize_columns
from tangguh.io.export import write_vector
from tangguh.io.vector import ImportReport, load_mapping, read_vector

__all__ = [
    "ImportReport",
    "Issue",
    "load_mapping",
    "read_vector",
    "sanitize_columns",
    "write_vector",
]
