"""Seed data of the rule engine: Jakarta's Ciliwung chain (``data/jakarta_rules.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from tangguh.bank import Bank
from tangguh.bank import _schema as S
from tangguh.errors import ImportError_
from tangguh.warning import _rules_store as store

__all__ = ["JAKARTA_RULES", "SeedReport", "seed_jakarta"]

#: The packaged Jakarta seed file.
JAKARTA_RULES = Path(__file__).parent / "data" / "jakarta_rules.toml"


@dataclass
class SeedReport:
    """What :func:`seed_jakarta` wrote."""

    stations_added: list[str] = field(default_factory=list)
    thresholds_set: list[str] = field(default_factory=list)
    links: int = 0
    #: kelurahan name -> unit_id
    matched: dict[str, str] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    #: station -> number of units (kelurahan + their RWs) attached
    areas: dict[str, int] = field(default_factory=dict)
    rw: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _load(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ImportError_(
            f"cannot read the seed file: {exc}",
            where=str(path),
            hint="check the file (TOML, see src/tangguh/warning/data/jakarta_rules.toml)",
            message_id=f"berkas benih tidak dapat dibaca: {exc}",
            hint_id="periksa berkasnya (TOML, lihat src/tangguh/warning/data/jakarta_rules.toml)",
        ) from exc


def seed_jakarta(
    bank: Bank,
    path: str | Path | None = None,
    *,
    thresholds: bool = True,
    areas: bool = True,
) -> SeedReport:
    """Seed the Ciliwung chain: gauges, thresholds, river links and the warned kelurahan.

    Stations missing from the bank are registered; thresholds are set only for stations
    that have none for the parameter (stored versions are never overwritten); links are
    replaced. Warned kelurahan are matched by name (with the kecamatan to disambiguate)
    against the bank's admin units and expanded to their RWs; without admin units only
    stations, thresholds and links are written (noted in the report). One transaction.
    """
    path = Path(path) if path is not None else JAKARTA_RULES
    data = _load(path)
    meta = data.get("meta", {})
    parameter = str(meta.get("parameter", "water_level"))
    valid_from = store.parse_instant(meta.get("valid_from", store.ALWAYS.isoformat()))
    report = SeedReport()

    with bank.connect() as conn:
        known = set(conn.execute(select(S.tg_station.c.station_id)).scalars())
    new_stations = [s for s in data.get("stations", []) if s["station_id"] not in known]
    versions: list[store.ThresholdVersion] = []
    if thresholds:
        for s in data.get("stations", []):
            if "thresholds" not in s or store.threshold_history(bank, s["station_id"], parameter):
                continue
            values = store.validate_thresholds(s["thresholds"], where=f"{path}, {s['station_id']}")
            versions.append(
                store.ThresholdVersion(
                    station_id=s["station_id"],
                    parameter=parameter,
                    valid_from=valid_from,
                    values=values,
                    datum=meta.get("datum"),
                    source=meta.get("threshold_source"),
                    created=store._now(),
                    author="seed_jakarta",
                )
            )
    links = [
        store.RiverLink(
            str(x["upstream"]),
            str(x["downstream"]),
            int(x["lead_minutes"]),
            x.get("river"),
            x.get("source"),
        )
        for x in data.get("links", [])
    ]
    station_units: list[tuple[str, list[str], int, str | None]] = []
    if areas:
        station_units = _match_areas(bank, data.get("areas", []), report)

    with bank.transaction():
        if new_stations:
            bank.write_stations(
                pd.DataFrame(
                    [
                        {
                            "station_id": s["station_id"],
                            "name": s.get("name"),
                            "kind": s.get("kind", "river_gauge"),
                            "lon": s.get("lon"),
                            "lat": s.get("lat"),
                            "river": s.get("river"),
                            "source": f"tangguh seed ({path.name})",
                        }
                        for s in new_stations
                    ]
                )
            )
            report.stations_added = [s["station_id"] for s in new_stations]
        if versions:
            store._write_versions(bank, versions)
            report.thresholds_set = [v.station_id for v in versions]
        report.links = len(store.set_river_links(bank, links))
        for sid, units, lead, source in station_units:
            report.areas[sid] = report.areas.get(sid, 0) + store.set_station_areas(
                bank, sid, units, lead_minutes=lead, source=source
            )
    return report


def _match_areas(
    bank: Bank, groups: list[dict[str, Any]], report: SeedReport
) -> list[tuple[str, list[str], int, str | None]]:
    from tangguh.admin.match import match_units
    from tangguh.admin.store import ADMIN_LAYER, load_units

    if not groups:
        return []
    if not bank.has_layer(ADMIN_LAYER):
        report.notes.append(
            "no admin units in the bank: warned kelurahan not attached "
            "(run `tangguh admin import-jakarta`, then seed again) / "
            "bank tidak memiliki unit wilayah: kelurahan belum ditautkan"
        )
        report.unmatched = [str(k["name"]) for g in groups for k in g.get("kelurahan", [])]
        return []
    units = load_units(bank)
    plain = pd.DataFrame(units.drop(columns="geometry"))
    out = []
    for g in groups:
        table = pd.DataFrame(g.get("kelurahan", []))
        if table.empty:
            continue
        parent = "kecamatan" if "kecamatan" in table.columns else None
        result = match_units(
            table,
            plain,
            level="kelurahan",
            name="name",
            parent_name=parent,
            parent_level="kecamatan" if parent else None,
        )
        kel_ids = []
        names: dict[Any, str] = dict(zip(table.index, table["name"].astype(str), strict=True))
        for idx, row in result.matched.iterrows():
            name = names[idx]
            report.matched[name] = str(row["unit_id"])
            kel_ids.append(str(row["unit_id"]))
        for idx in list(result.unmatched_rows.index) + list(result.ambiguous.index):
            report.unmatched.append(names[idx])
        rws = plain[(plain["level"] == "rw") & plain["parent_id"].isin(kel_ids)]
        rw_ids = sorted(rws["unit_id"].astype(str))
        report.rw += len(rw_ids)
        out.append(
            (
                str(g["station_id"]),
                kel_ids + rw_ids,
                int(g.get("lead_minutes", 0)),
                g.get("source"),
            )
        )
    return out
