"""`tangguh observe …`: observations in (push, keys, MQTT, pollers), QC and stale stations."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank
from tangguh.errors import InputError

__all__ = ["register"]

observe_app = typer.Typer(
    help="Observations in: push, keys, MQTT, pollers, QC / Data pengamatan masuk: kirim, "
    "kunci, MQTT, poller, QC",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="Push keys of the ingest API / Kunci kirim API pengamatan", no_args_is_help=True
)
poll_app = typer.Typer(help="Poll external feeds / Ambil umpan eksternal", no_args_is_help=True)
observe_app.add_typer(keys_app, name="keys")
observe_app.add_typer(poll_app, name="poll")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def _duration(text: str, option: str) -> timedelta:
    m = _DURATION.match(text)
    if not m:
        raise InputError(
            f"{option} expects a duration like 90m, 2h or 1d, got {text!r}",
            where=option,
            hint="use a number followed by s, m, h or d",
            message_id=f"{option} memerlukan durasi seperti 90m, 2h atau 1d, "
            f"yang diterima {text!r}",
            hint_id="gunakan angka diikuti s, m, h atau d",
        )
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m[2]]
    return timedelta(**{unit: float(m[1])})


def _print_report(data: dict[str, Any]) -> None:
    console.print(
        f"accepted / diterima: {data['accepted']}  flagged / ditandai: {data['flagged']}  "
        f"duplicates / duplikat: {data['duplicates']}  late / terlambat: {data['late']}  "
        f"rejected / ditolak: {len(data['rejected'])}"
    )
    for rej in data["rejected"]:
        console.print(
            f"  row/baris {rej['row']}: {rej['reason_en']} / {rej['reason_id']}", markup=False
        )
    for flag in data["flags"]:
        console.print(
            f"  {flag['station_id']} {flag['t']}: {flag['quality']}: {flag['reason_en']}",
            markup=False,
        )


def _read_push_file(path: Path) -> list[Any]:
    from tangguh.warning.ingest import records_from_payload

    if not path.exists():
        raise InputError(
            f"file {path} does not exist",
            where=str(path),
            hint="check the path",
            message_id=f"berkas {path} tidak ada",
            hint_id="periksa path",
        )
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype={"station_id": str}, encoding="utf-8-sig")
        return list(frame.astype(object).where(frame.notna(), None).to_dict("records"))
    try:
        return records_from_payload(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"the file is not JSON: {exc}",
            where=str(path),
            hint="give a .json (object or list) or a .csv with station_id,parameter,t,value",
            message_id=f"berkas ini bukan JSON: {exc}",
            hint_id="berikan .json (objek atau daftar) atau .csv dengan "
            "station_id,parameter,t,value",
        ) from exc


@observe_app.command("push")
@handle_errors
def push_cmd(
    file: Path | None = typer.Argument(
        None, help="JSON or CSV (station_id,parameter,t,value[,unit]) / berkas JSON atau CSV"
    ),
    station: str | None = typer.Option(None, "--station", help="Station id / ID stasiun"),
    value: str | None = typer.Option(None, "--value", help="Value / Nilai"),
    t: str | None = typer.Option(
        None, "--t", help="Time with zone, default now / Waktu dengan zona, bawaan sekarang"
    ),
    parameter: str = typer.Option("water_level", "--parameter"),
    unit: str | None = typer.Option(None, "--unit"),
    source: str = typer.Option("cli", "--source", help="Source name / Nama sumber"),
    run_chain: bool = typer.Option(
        True,
        "--chain/--no-chain",
        help="Run the accepted readings through the rules, alerts, deliveries and SOP / "
        "Jalankan rantai peringatan",
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Push readings through ingest, QC and the warning chain / Kirim bacaan lewat ingest,
    QC dan rantai peringatan.

    Exit code 2 when any reading was rejected (the others are stored).
    """
    from tangguh.warning import chain
    from tangguh.warning.ingest import accept

    if file is not None:
        records = _read_push_file(file)
    elif station is not None and value is not None:
        records = [
            {
                "station_id": station,
                "parameter": parameter,
                "t": t or datetime.now(UTC).isoformat(),
                "value": value,
                "unit": unit,
            }
        ]
    else:
        raise InputError(
            "give a FILE or --station and --value",
            where="arguments",
            hint="e.g. tangguh observe push --station manggarai --value 650 "
            "--t 2026-01-05T07:00+07:00",
            message_id="berikan FILE atau --station dan --value",
            hint_id="mis. tangguh observe push --station manggarai --value 650 "
            "--t 2026-01-05T07:00+07:00",
        )
    results: list[chain.ChainResult] = []

    def run(b: Any, readings: list[Any]) -> None:
        results.append(chain.process(b, readings))

    with use_bank(bank) as b:
        report = accept(b, records, source=source, on_accepted=run if run_chain else None)
    data = report.to_json()
    if results:
        data["chain"] = [r.to_json() for r in results]
    if as_json:
        emit_json(data)
    else:
        _print_report(data)
        for result in results:
            for alert in result.alerts:
                console.print(
                    f"alert / peringatan {alert.alert_id} v{alert.version}: Siaga {alert.level}, "
                    f"{alert.status}; {len(alert.unit_ids)} units / wilayah",
                    markup=False,
                )
            if result.queued or result.incidents:
                console.print(
                    f"queued / antre: {result.queued}; incidents / insiden: {result.incidents}",
                    markup=False,
                )
    if report.rejected:
        raise typer.Exit(2)


@keys_app.command("create")
@handle_errors
def keys_create(
    source: str = typer.Option(..., "--source", help="Who pushes / Siapa yang mengirim"),
    station: str | None = typer.Option(
        None, "--station", help="Only this station / Hanya stasiun ini"
    ),
    note: str | None = typer.Option(None, "--note"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a push key, shown once / Buat kunci kirim, ditampilkan sekali."""
    from tangguh.warning.ingest import create_key

    with use_bank(bank) as b:
        key = create_key(b, source, station, note=note)
    if as_json:
        emit_json({"key": key, "key_id": key.split("_")[1], "source": source, "station": station})
    else:
        console.print(key, markup=False)
        console.print(
            "Store it now, it is not shown again / Simpan sekarang, tidak ditampilkan lagi"
        )


@keys_app.command("list")
@handle_errors
def keys_list(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """List push keys (never the key) / Daftar kunci kirim (tanpa kuncinya)."""
    from tangguh.warning.ingest import list_keys

    with use_bank(bank) as b:
        rows = list_keys(b)
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Push keys / Kunci kirim")
    for col in ("key_id", "source", "station_id", "created", "revoked"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            *(str(row[c] or "") for c in ("key_id", "source", "station_id", "created", "revoked"))
        )
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(
    key_id: str = typer.Argument(..., help="Key id (tgk_<id>_…) / ID kunci"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Revoke a push key / Cabut kunci kirim."""
    from tangguh.warning.ingest import revoke_key

    with use_bank(bank) as b:
        revoke_key(b, key_id)
    if as_json:
        emit_json({"revoked": key_id})
    else:
        console.print(f"revoked / dicabut: {key_id}")


@observe_app.command("mqtt")
@handle_errors
def mqtt_cmd(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(1883, "--port"),
    prefix: str = typer.Option(
        "tangguh/obs", "--prefix", help="Topic prefix: <prefix>/<station_id> / Awalan topik"
    ),
    seconds: float | None = typer.Option(
        None, "--seconds", help="Stop after N seconds / Berhenti setelah N detik"
    ),
    run_chain: bool = typer.Option(
        True, "--chain/--no-chain", help="Run the warning chain / Jalankan rantai peringatan"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Subscribe to MQTT and ingest readings / Berlangganan MQTT dan terima bacaan."""
    from tangguh.bank import resolve_bank_url
    from tangguh.warning import chain
    from tangguh.warning.mqtt import MqttIngest

    sub = MqttIngest(
        resolve_bank_url(bank),
        host=host,
        port=port,
        prefix=prefix,
        on_accepted=chain.on_accepted if run_chain else None,
    )
    if not as_json:
        console.print(f"listening / mendengarkan: mqtt://{host}:{port}/{sub.topic}", markup=False)
    stats = sub.run(seconds)
    if as_json:
        emit_json(stats.to_json())
    else:
        console.print(stats.to_json(), markup=False)


def _loop(
    task: Any, once: bool, interval: float | None, iterations: int | None, as_json: bool
) -> None:
    from tangguh.cli._common import print_error
    from tangguh.warning.pollers import Poller

    def show(result: Any) -> None:
        data = result.to_json()
        if as_json:
            emit_json(data)
        else:
            console.print(data, markup=False)

    if once or interval is None:
        show(task())
        return
    Poller(task, interval, on_result=show, on_error=print_error).run(iterations)


@poll_app.command("dsda")
@handle_errors
def poll_dsda_cmd(
    url: str = typer.Argument(..., help="xmldata.xml or datatmalaststatus.json URL"),
    once: bool = typer.Option(False, "--once", help="Poll once (default) / Sekali saja"),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between polls / Detik antar pengambilan"
    ),
    iterations: int | None = typer.Option(None, "--iterations", hidden=True),
    value_scale: float = typer.Option(
        1.0, "--value-scale", help="Multiply levels, e.g. 0.1 if mm / Pengali, mis. 0.1 bila mm"
    ),
    timeout: float = typer.Option(10.0, "--timeout"),
    run_chain: bool = typer.Option(
        True, "--chain/--no-chain", help="Run the warning chain / Jalankan rantai peringatan"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Poll the DSDA Posko Banjir gauge feed / Ambil umpan pos pintu air DSDA."""
    from tangguh.warning import chain
    from tangguh.warning.pollers import poll_dsda

    on_accepted = chain.on_accepted if run_chain else None
    with use_bank(bank) as b:
        _loop(
            lambda: poll_dsda(
                b, url, timeout=timeout, value_scale=value_scale, on_accepted=on_accepted
            ),
            once,
            interval,
            iterations,
            as_json,
        )


@poll_app.command("bmkg")
@handle_errors
def poll_bmkg_cmd(
    url: str = typer.Argument(..., help="BMKG nowcast rss.xml URL"),
    out: Path | None = typer.Option(
        None, "--out", help="Also save new CAP files here / Simpan juga berkas CAP baru di sini"
    ),
    relay: bool = typer.Option(
        True,
        "--relay/--no-relay",
        help="Ingest each new CAP; relay it when it touches the city / Teruskan CAP yang "
        "menyentuh kota",
    ),
    once: bool = typer.Option(False, "--once", help="Poll once (default) / Sekali saja"),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between polls / Detik antar pengambilan"
    ),
    iterations: int | None = typer.Option(None, "--iterations", hidden=True),
    link_base: str | None = typer.Option(
        None,
        "--link-base",
        help="Fetch CAP files from this base URL instead (mirror) / Ambil CAP dari URL ini",
    ),
    timeout: float = typer.Option(10.0, "--timeout"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Poll BMKG CAP nowcasts; each new CAP once, relayed when it touches the city / Ambil
    CAP BMKG; tiap CAP baru sekali, diteruskan bila menyentuh kota."""
    from tangguh.warning import alerts, chain
    from tangguh.warning.pollers import poll_bmkg_cap

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    holder: dict[str, Any] = {}

    def save(xml: bytes, link: str) -> None:
        if out is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", link.rstrip("/").rsplit("/", 1)[-1])
            (out / (name or "cap.xml")).write_bytes(xml)
        if relay:
            chain.install_hooks()
            record = alerts.ingest_external(holder["bank"], xml, source=link)
            if record is not None and not as_json:
                console.print(
                    f"relayed / diteruskan: {record.alert_id} ({record.status})", markup=False
                )

    rewrite = None
    if link_base:
        base = link_base.rstrip("/")

        def rewrite(link: str) -> str:
            return f"{base}/{link.rstrip('/').rsplit('/', 1)[-1]}"

    with use_bank(bank) as b:
        holder["bank"] = b
        _loop(
            lambda: poll_bmkg_cap(url, save, b, timeout=timeout, rewrite=rewrite),
            once,
            interval,
            iterations,
            as_json,
        )


@observe_app.command("stale")
@handle_errors
def stale_cmd(
    max_age: str = typer.Option("2h", "--max-age", help="e.g. 90m, 2h, 1d"),
    kind: str | None = typer.Option(None, "--kind"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Stations without a recent reading / Stasiun tanpa bacaan terkini."""
    from tangguh.warning.qc import stale_stations

    with use_bank(bank) as b:
        frame = stale_stations(b, datetime.now(UTC), _duration(max_age, "--max-age"), kind=kind)
    rows = [
        {
            "station_id": r["station_id"],
            "name": r["name"],
            "kind": r["kind"],
            "last_t": None if pd.isna(r["last_t"]) else r["last_t"].isoformat(),
            "age_hours": None if pd.isna(r["age_hours"]) else round(float(r["age_hours"]), 2),
        }
        for r in frame.to_dict("records")
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"Stale stations / Stasiun tanpa data > {max_age} ({len(rows)})")
    for col in ("station_id", "name", "kind", "last_t", "age_hours"):
        table.add_column(col)
    for r in rows:
        table.add_row(*("" if r[c] is None else str(r[c]) for c in r))
    console.print(table)


@observe_app.command("qc")
@handle_errors
def qc_cmd(
    station_id: str = typer.Argument(..., help="Station id / ID stasiun"),
    parameter: str | None = typer.Option(None, "--parameter"),
    recheck: bool = typer.Option(
        False,
        "--recheck",
        help="Run QC over the stored series (e.g. imported history) / Jalankan ulang QC",
    ),
    write: bool = typer.Option(
        False, "--write", help="With --recheck: store the flags / Simpan tanda QC"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """List flagged readings of a station / Daftar bacaan yang ditandai QC."""
    from tangguh.warning import qc

    with use_bank(bank) as b:
        series = b.observations(station_id, parameter=parameter)
        if recheck and len(series):
            attrs = qc.station_attributes(b, [station_id])
            checked = qc.check(series.drop(columns=["quality"]), None, stations=attrs)
            if write:
                b.write_observations(checked.drop(columns=["qc_reason", "qc_reason_id"]))
            series = checked
        else:
            series = series.assign(qc_reason="", qc_reason_id="")
    flagged = series[~series["quality"].map(qc.is_ok)]
    rows = [
        {
            "station_id": r["station_id"],
            "parameter": r["parameter"],
            "t": r["t"].tz_convert("Asia/Jakarta").isoformat(),
            "value": r["value"],
            "quality": r["quality"],
            "reason_en": r["qc_reason"],
            "reason_id": r["qc_reason_id"],
        }
        for r in flagged.to_dict("records")
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{station_id}: flagged / ditandai ({len(rows)} of {len(series)})")
    for col in ("t", "parameter", "value", "quality", "reason"):
        table.add_column(col)
    for r in rows[-200:]:
        table.add_row(r["t"], r["parameter"], f"{r['value']:g}", r["quality"], r["reason_en"])
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.add_typer(observe_app, name="observe")
