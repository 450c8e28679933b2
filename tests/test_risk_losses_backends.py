"""The loss database on both backends (GeoPackage and PostGIS), with the real records."""

from __future__ import annotations

from pathlib import Path

from tangguh.admin.store import import_jakarta
from tangguh.bank import Bank
from tangguh.risk.losses import events_summary, import_bpbd, import_petabencana, replay_states


def test_real_records_on_each_backend(bank: Bank, shared: Path) -> None:
    import_jakarta(bank, shared / "jakarta")
    bpbd = import_bpbd(bank, shared / "jakarta/flood-events-2024-bpbd/banjir_kelurahan_2024.csv")
    assert bpbd.events == 255 and len(bpbd.unmatched) == 5
    pb = import_petabencana(bank, shared / "jakarta/flood-petabencana-2017/floods")
    assert len(pb.unmatched) == 5
    hours = replay_states(bank)
    peak = hours.loc[hours["rw_flooded"].idxmax()]
    assert int(peak["rw_flooded"]) == 161
    by_year = events_summary(bank, by="year")
    assert len(by_year) >= 2  # 2017 episodes and 2024 months
