"""Plain, readable HTML pages (bilingual labels, no scripts, no CDN): the OGC HTML class."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

__all__ = ["link", "page", "table"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733}
header{background:#0b4f6c;color:#fff;padding:.8rem 1.2rem}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1rem 1.2rem;max-width:80rem}
h1{font-size:1.5rem;margin:.4rem 0 .8rem} h2{font-size:1.15rem;margin-top:1.6rem}
.en{color:#5a6b7b} nav.crumbs{font-size:.9rem;margin-bottom:.6rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d5dde5;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f7} tr:nth-child(even) td{background:#fafcfd}
.pager a{margin-right:1rem} code{background:#eef3f7;padding:0 .2rem}
footer{font-size:.8rem;color:#5a6b7b;padding:1rem 1.2rem}
"""


def label(id_text: str, en_text: str) -> str:
    """A bilingual label: Bahasa Indonesia, then English."""
    return f'{escape(id_text)} <span class="en">/ {escape(en_text)}</span>'


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>'


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> str:
    """A table; cells are escaped unless ``raw`` (cells already HTML)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td>{cell if raw else escape('' if cell is None else str(cell))}</td>" for cell in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(
    title: str,
    body: str,
    *,
    base: str,
    crumbs: Sequence[tuple[str, str]] = (),
    json_href: str | None = None,
) -> str:
    """A whole HTML page."""
    trail = " › ".join(link(href, text) for href, text in crumbs)
    alt = (
        f'<link rel="alternate" type="application/json" href="{escape(json_href, quote=True)}">'
        if json_href
        else ""
    )
    json_link = f" · {link(json_href, 'JSON')}" if json_href else ""
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title>{alt}<style>{_CSS}</style></head><body>"
        f'<header><a href="{escape(base, quote=True)}/">Tangguh</a> · '
        "data terbuka / open data</header><main>"
        f'<nav class="crumbs">{trail}{json_link}</nav>{body}</main>'
        "<footer>OGC API – Features · Tangguh</footer></body></html>"
    )
