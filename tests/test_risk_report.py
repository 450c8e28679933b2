"""HTML reports of stored analyses."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from typer.testing import CliRunner

from tangguh.bank import LayerMeta, open_bank
from tangguh.cli.main import app
from tangguh.demo import build_city, load_city
from tangguh.risk.impact import flood_impact


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_has_map_tables_needs_and_provenance(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_risk_impact import _floods

    path = tmp_path / "city.gpkg"
    with open_bank(path) as bank:
        load_city(bank, build_city("small", seed=0))
        units = bank.read_layer("admin_units")
        bank.write_layer("flood_r", _floods(units), LayerMeta(theme="hazard"))
        result = flood_impact(bank, hazard="flood_r", depth_field="depth_cm", level="rw")
    out = tmp_path / "report.html"
    run = CliRunner().invoke(
        app, ["impact", "report", result.record.id, "--to", str(out), "--bank", str(path)]
    )
    assert run.exit_code == 0, run.output
    parser = _Collector()
    parser.feed(out.read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    n_rw = int((units["level"] == "rw").sum())
    assert parser.tags["path"] == n_rw  # one map polygon per RW
    assert result.record.question in text
    assert "Kebutuhan minimum" in text and "Minimum needs" in text
    assert "Daftar periksa tindakan" in text and "Action checklist" in text
    assert "flood_r" in text and "admin_units" in text  # provenance
    top = result.areas.iloc[0]
    assert str(top["name"]) in text
    assert f"{result.record.summary['displaced']:,.0f}" in text
    missing = CliRunner().invoke(
        app, ["impact", "report", "nope", "--to", str(out), "--bank", str(path)]
    )
    assert missing.exit_code == 4


def test_pdf_report_with_headless_chromium(tmp_path: Path) -> None:
    import os
    import shutil

    import pytest

    from tangguh.risk.report import pdf_from_html

    page = tmp_path / "r.html"
    page.write_text(
        "<html><body><h1>Laporan / Report</h1><svg viewBox='0 0 10 10'>"
        "<path d='M0,0 L10,0 L10,10Z'/></svg></body></html>",
        encoding="utf-8",
    )
    if not (os.environ.get("TANGGUH_CHROMIUM") or shutil.which("chromium")):
        pytest.skip("Chromium is not installed here (.ci/run installs Debian's chromium)")
    pdf = pdf_from_html(page, tmp_path / "r.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    from tangguh.errors import InputError

    with pytest.raises(InputError, match="cannot run Chromium"):
        pdf_from_html(page, tmp_path / "x.pdf", browser=str(tmp_path / "no-such-browser"))
