"""A self-contained HTML report of a stored analysis, in Bahasa Indonesia and English.

What InaSAFE's report gives a BPBD officer, from the analysis record alone (so a report
can be made again at any time): the question, a map of the affected areas over the
admin units (inline SVG: no internet, no tiles), totals per hazard class, the table per
area, minimum needs, an action checklist, the method and assumptions, and the
provenance (input layers with versions, classification, needs profile, software
version, timings). Print it to PDF from any browser.
"""

from __future__ import annotations

import html
import math
import os
import shutil
import subprocess
import tempfile
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.admin.store import ADMIN_LAYER
from tangguh.bank import Bank
from tangguh.errors import InputError

__all__ = ["html_report", "pdf_from_html"]

WIB = timezone(timedelta(hours=7), "WIB")

_CHECKLIST = [
    (
        "Apakah ada tempat pengungsian yang cukup untuk semua pengungsi?",
        "Are there enough shelters for all displaced people?",
    ),
    (
        "Apakah kebutuhan dasar (beras, air minum, air bersih, kit keluarga, toilet) tersedia "
        "untuk jumlah pengungsi di atas?",
        "Are the basic needs above (rice, drinking and clean water, family kits, toilets) in stock?",
    ),
    (
        "Apakah jalur evakuasi dari RW terdampak ke tempat pengungsian aman dan dapat dilalui?",
        "Are the evacuation routes from the affected RW to the shelters safe and passable?",
    ),
    (
        "Apakah fasilitas kesehatan di wilayah terdampak masih berfungsi?",
        "Are the health facilities in the affected areas still working?",
    ),
    (
        "Apakah kelompok rentan (lansia, anak-anak, ibu hamil, penyandang disabilitas) sudah "
        "didata dan dibantu lebih dulu?",
        "Have vulnerable people (elderly, children, pregnant women, people with disabilities) "
        "been listed and helped first?",
    ),
    (
        "Apakah warga di RW terdampak sudah menerima peringatan dini?",
        "Have the people in the affected RW received the early warning?",
    ),
]

_COLOURS = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if math.isnan(number):
        return "–"
    return f"{number:,.0f}"


def _svg_map(units: gpd.GeoDataFrame, values: pd.Series, *, width: int = 760) -> str:
    """Choropleth of ``values`` (indexed by unit_id) over ``units``, as inline SVG."""
    geoms = shapely.simplify(units.geometry.to_numpy(), 0.0002, preserve_topology=True)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    kx = math.cos(math.radians((miny + maxy) / 2))
    scale = width / max((maxx - minx) * kx, 1e-9)
    height = int((maxy - miny) * scale) + 1
    vals = values.reindex(units["unit_id"]).fillna(0).to_numpy(float)
    top = float(vals.max()) if len(vals) and vals.max() > 0 else 1.0
    bins = np.minimum((vals / top * (len(_COLOURS) - 1)).round().astype(int), len(_COLOURS) - 1)
    paths = []
    for geom, uid, name, b, v in zip(
        geoms, units["unit_id"], units["name"], bins, vals, strict=True
    ):
        d = []
        for poly in shapely.get_parts(geom):
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.asarray(ring.coords)
                px = (xy[:, 0] - minx) * kx * scale
                py = (maxy - xy[:, 1]) * scale
                d.append(
                    "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True)) + "Z"
                )
        paths.append(
            f'<path d="{" ".join(d)}" fill="{_COLOURS[b]}" stroke="#555" stroke-width="0.3" '
            f'fill-rule="evenodd"><title>{_e(name)} ({_e(uid)}): {_num(v)}</title></path>'
        )
    legend = "".join(
        f'<span class="swatch" style="background:{c}"></span>{_num(top * i / (len(_COLOURS) - 1))} '
        for i, c in enumerate(_COLOURS)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img">{"".join(paths)}</svg><p class="legend">{legend}</p>'
    )


def html_report(bank: Bank, analysis_id: str) -> str:
    """The report of one stored analysis as a complete HTML document."""
    record, results = bank.analysis(analysis_id)
    level = record.level
    units_version = int(record.inputs.get("admin_units", {}).get("version", 0)) or None
    all_units = bank.read_layer(ADMIN_LAYER, version=units_version)
    units = all_units[all_units["level"] == level]
    names = all_units.set_index("unit_id")["name"]
    parents = all_units.set_index("unit_id")["parent_id"]
    pop = results[results["exposure"] == "population"]
    affected = pop[pop["metric"] == "affected"].groupby("unit_id")["value"].sum()
    displaced = pop[pop["metric"] == "displaced"].set_index("unit_id")["value"]
    total = pop[pop["metric"] == "total"].set_index("unit_id")["value"]
    table = (
        pd.DataFrame({"affected": affected})
        .join(displaced.rename("displaced"))
        .join(total.rename("population"))
    )
    table = table[table["affected"] > 0].sort_values("affected", ascending=False)
    s = record.summary
    cls = record.parameters.get("classification", {})
    needs = record.parameters.get("needs", {})
    labels = {
        c["key"]: (c.get("label_id", c["key"]), c.get("label_en", c["key"]))
        for c in cls.get("classes", [])
    }

    rows_class = "".join(
        f"<tr><td>{_e(labels.get(k, (k, k))[0])} / {_e(labels.get(k, (k, k))[1])}</td>"
        f"<td class=n>{_num(v)}</td></tr>"
        for k, v in s.get("affected_by_class", {}).items()
    )
    rows_area = "".join(
        f"<tr><td>{_e(names.get(uid, uid))}</td><td>{_e(names.get(parents.get(uid), ''))}</td>"
        f"<td class=n>{_num(r.population)}</td><td class=n>{_num(r.affected)}</td>"
        f"<td class=n>{_num(r.displaced)}</td></tr>"
        for uid, r in table.head(200).iterrows()
    )
    need_units = {
        n["key"]: (n.get("label_id", n["key"]), n.get("label_en", n["key"]), n.get("unit", ""))
        for n in needs.get("needs", [])
    }
    rows_needs = "".join(
        f"<tr><td>{_e(need_units.get(k, (k, k, ''))[0])} / "
        f"{_e(need_units.get(k, (k, k, ''))[1])}</td><td class=n>{_num(v)}</td>"
        f"<td>{_e(need_units.get(k, (k, k, ''))[2])}</td></tr>"
        for k, v in s.get("needs", {}).items()
    )
    checklist = "".join(f"<li>{_e(i)}<br><span class=en>{_e(e)}</span></li>" for i, e in _CHECKLIST)
    inputs = "".join(
        f"<li>{_e(role)}: <code>{_e(v.get('layer'))}</code> "
        f"versi / version {_e(v.get('version'))}</li>"
        for role, v in record.inputs.items()
    )
    extra = ""
    if "fatalities" in s:
        extra += (
            f"<tr><th>Korban jiwa / Fatalities ({_e(s.get('fatality_model'))})</th>"
            f"<td class=n>{_num(s['fatalities'])}</td></tr>"
        )
    if "buildings_affected" in s:
        extra += (
            f"<tr><th>Bangunan terdampak / Buildings affected</th>"
            f"<td class=n>{_num(s['buildings_affected'])}</td></tr>"
        )
    groups = "".join(
        f"<tr><td>{_e(g)}</td><td class=n>{_num(v)}</td></tr>"
        for g, v in s.get("affected_by_group", {}).items()
    )
    groups_html = (
        (f"<h2>Menurut jenis kelamin dan umur / By sex and age</h2><table>{groups}</table>")
        if groups
        else ""
    )
    created = record.created.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>Tangguh – {_e(record.question)}</title>
<style>
body{{font-family:sans-serif;max-width:900px;margin:auto;padding:1em;color:#222}}
h1{{font-size:1.4em}} h2{{font-size:1.1em;border-bottom:1px solid #ccc;margin-top:1.6em}}
table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #ddd;padding:3px 6px;
text-align:left}} td.n{{text-align:right}} .en{{color:#666}} code{{font-size:.9em}}
.swatch{{display:inline-block;width:1.2em;height:.8em;margin:0 .3em 0 1em;
border:1px solid #999}} .legend{{font-size:.85em}}
</style></head><body>
<h1>{_e(record.question)}</h1>
<p>Analisis / Analysis <code>{_e(record.id)}</code> · {_e(record.kind)} ·
tingkat / level {_e(level)} · {_e(created)} · Tangguh {_e(record.software_version)}</p>
<h2>Peta penduduk terdampak / Map of affected people</h2>
{_svg_map(units, affected)}
<h2>Ringkasan / Summary</h2>
<table>
<tr><th>Penduduk terdampak / People affected</th><td class=n>{_num(s.get("population_affected"))}</td></tr>
<tr><th>Mengungsi / Displaced</th><td class=n>{_num(s.get("displaced"))}</td></tr>
<tr><th>Wilayah terdampak / Areas affected</th><td class=n>{_num(s.get("units_affected"))}</td></tr>
{extra}
</table>
<h2>Menurut kelas bahaya / By hazard class</h2><table>{rows_class}</table>
{groups_html}
<h2>Kebutuhan minimum per minggu / Minimum needs per week</h2>
<p>{_e(needs.get("title_id", ""))} / {_e(needs.get("title_en", ""))}</p>
<table><tr><th>Kebutuhan / Need</th><th>Jumlah / Amount</th><th>Satuan / Unit</th></tr>
{rows_needs}</table>
<h2>Per wilayah / Per area</h2>
<table><tr><th>Wilayah / Area</th><th>Induk / Parent</th><th>Penduduk / Population</th>
<th>Terdampak / Affected</th><th>Mengungsi / Displaced</th></tr>{rows_area}</table>
<h2>Daftar periksa tindakan / Action checklist</h2><ul>{checklist}</ul>
<h2>Metode dan asumsi / Method and assumptions</h2>
<p>{_e(s.get("population_method", ""))}</p>
<pre style="white-space:pre-wrap">{_e(record.parameters.get("method", ""))}</pre>
<p>Klasifikasi / Classification: {_e(cls.get("title_id", ""))} / {_e(cls.get("title_en", ""))}
— {_e(cls.get("source", ""))}</p>
<h2>Asal data / Provenance</h2><ul>{inputs}</ul>
<p>Waktu proses / Timings: {_e(record.timings)}</p>
</body></html>
"""


#: Flags for a headless Chromium on a machine without a display or network access.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-pdf-header-footer",
)


def pdf_from_html(html_path: Path, pdf_path: Path, *, browser: str | None = None) -> Path:
    """Print an HTML report to PDF with headless Chromium (Debian's ``chromium``).

    The browser is ``browser``, else ``$TANGGUH_CHROMIUM``, else ``chromium`` or
    ``chromium-browser`` on the PATH.
    """
    exe = (
        browser
        or os.environ.get("TANGGUH_CHROMIUM")
        or (shutil.which("chromium") or shutil.which("chromium-browser"))
    )
    if not exe:
        raise InputError(
            "no Chromium found to print the PDF",
            message_id="Chromium tidak ditemukan untuk mencetak PDF",
            hint="install it (apt-get install chromium) or set TANGGUH_CHROMIUM, "
            "or write .html and print it from a browser",
            hint_id="pasang Chromium (apt-get install chromium) atau atur TANGGUH_CHROMIUM, "
            "atau tulis .html lalu cetak dari peramban",
        )
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(
                f"cannot run Chromium {exe!r}: {exc}",
                message_id=f"Chromium {exe!r} tidak dapat dijalankan: {exc}",
                hint="install it (apt-get install chromium) or fix TANGGUH_CHROMIUM",
                hint_id="pasang Chromium (apt-get install chromium) atau perbaiki TANGGUH_CHROMIUM",
            ) from exc
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise InputError(
            f"Chromium could not print the PDF (exit {done.returncode})",
            message_id=f"Chromium gagal mencetak PDF (kode {done.returncode})",
            where=str(pdf_path),
            hint=(done.stderr or "").strip()[-300:] or "check the Chromium installation",
            hint_id="periksa pemasangan Chromium",
        )
    return pdf_path
