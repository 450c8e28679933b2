"""`tangguh subscribe …`, `tangguh worker`, `tangguh deliveries ALERT_ID`.

Subscriptions down to the household and the delivery worker. Contacts given on the
command line are stored, never printed: the output shows channel names only.
"""

from __future__ import annotations

import logging

import typer
from rich.table import Table

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    use_bank,
)
from tangguh.errors import InputError

__all__ = ["register"]

subscribe_app = typer.Typer(
    help="Household subscriptions to alerts / Langganan peringatan per rumah tangga",
    no_args_is_help=True,
)


@subscribe_app.command("add")
@handle_errors
def subscribe_add(
    rw: str | None = typer.Option(None, "--rw", help="RW unit id / ID unit RW (rw:…)"),
    kelurahan: str | None = typer.Option(
        None, "--kelurahan", help="Kelurahan unit id / ID unit kelurahan (kelurahan:…)"
    ),
    lon: float | None = typer.Option(None, "--lon", help="Address longitude / Bujur alamat"),
    lat: float | None = typer.Option(None, "--lat", help="Address latitude / Lintang alamat"),
    language: str = typer.Option("id", "--language", help="id | en: message language / bahasa"),
    email: str | None = typer.Option(None, "--email", help="E-mail address / Alamat e-mail"),
    sms: str | None = typer.Option(None, "--sms", help="Phone for SMS (+62…) / Nomor SMS"),
    whatsapp: str | None = typer.Option(None, "--whatsapp", help="WhatsApp number / Nomor WA"),
    telegram: str | None = typer.Option(None, "--telegram", help="Telegram chat id / ID obrolan"),
    webhook: str | None = typer.Option(None, "--webhook", help="https URL / URL https"),
    webpush: str | None = typer.Option(
        None, "--webpush", help="Push endpoint URL or subscription JSON / Endpoint push"
    ),
    quiet: str | None = typer.Option(
        None, "--quiet", help="Quiet hours WIB, e.g. 22:00-05:00 / Jam tenang WIB"
    ),
    confirmed: bool = typer.Option(
        False,
        "--confirmed",
        help="Activate now (registered in person) / Aktifkan langsung (didaftarkan langsung)",
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Subscribe a household / Daftarkan rumah tangga untuk menerima peringatan."""
    from tangguh.warning.subscriptions import subscribe

    if (lon is None) != (lat is None):
        raise InputError(
            "give both --lon and --lat",
            where="--lon/--lat",
            hint="e.g. --lon 106.85 --lat -6.2",
            message_id="berikan --lon dan --lat sekaligus",
            hint_id="mis. --lon 106.85 --lat -6.2",
        )
    given = {
        "email": email,
        "sms": sms,
        "whatsapp": whatsapp,
        "telegram": telegram,
        "webhook": webhook,
        "webpush": webpush,
    }
    channels = {ch: v for ch, v in given.items() if v}
    point = (lon, lat) if lon is not None and lat is not None else None
    with use_bank(bank) as b:
        sub = subscribe(
            b,
            point=point,
            rw=rw,
            kelurahan=kelurahan,
            language=language,
            channels=channels,
            quiet_hours=quiet,
            confirmed=confirmed,
        )
    data = sub.to_json()
    if as_json:
        emit_json(data)
        return
    console.print(
        f"Subscriber / Pelanggan [bold]{sub.subscriber_id}[/] ({sub.status}) "
        f"{sub.rw_id or sub.kelurahan_id}; channels / kanal: {', '.join(sorted(channels))}"
    )
    console.print(
        f"Token (shown once / hanya ditampilkan sekali): {sub.token}\n"
        f"Confirm / Konfirmasi: {sub.confirm_url}\n"
        f"Unsubscribe / Berhenti: {sub.unsubscribe_url}",
        markup=False,
    )


@subscribe_app.command("confirm")
@handle_errors
def subscribe_confirm(
    token: str = typer.Argument(..., help="Manage token / Token kelola"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Confirm a subscription / Konfirmasi langganan."""
    from tangguh.warning.subscriptions import confirm

    with use_bank(bank) as b:
        data = confirm(b, token)
    if as_json:
        emit_json(data)
    else:
        console.print(f"Active / Aktif: {data['subscriber_id']}")


@subscribe_app.command("unsubscribe")
@handle_errors
def subscribe_unsubscribe(
    token: str = typer.Argument(..., help="Manage or unsubscribe token / Token"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Stop all alerts to a household / Hentikan semua peringatan ke rumah tangga."""
    from tangguh.warning.subscriptions import unsubscribe

    with use_bank(bank) as b:
        data = unsubscribe(b, token)
    if as_json:
        emit_json(data)
    else:
        console.print(f"Unsubscribed / Berhenti berlangganan: {data['subscriber_id']}")


@subscribe_app.command("count")
@handle_errors
def subscribe_count(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Subscribers per unit, no contacts / Jumlah pelanggan per unit, tanpa kontak."""
    from tangguh.warning.subscriptions import count_by_unit

    with use_bank(bank) as b:
        rows = count_by_unit(b)
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Subscribers / Pelanggan")
    for col in ("unit_id", "active", "pending", "unsubscribed"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["unit_id"], str(r["active"]), str(r["pending"]), str(r["unsubscribed"]))
    console.print(table)


def _rates(values: list[str] | None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for item in values or []:
        ch, _, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            raise InputError(
                f"--rate expects CHANNEL=PER_SECOND, got {item!r}",
                where="--rate",
                hint="e.g. --rate sms=10 (0 = unlimited)",
                message_id=f"--rate memerlukan KANAL=PER_DETIK, yang diterima {item!r}",
                hint_id="mis. --rate sms=10 (0 = tanpa batas)",
            ) from None
        out[ch.strip()] = rate if rate > 0 else None
    return out


def worker_cmd(
    broker: str | None = typer.Option(
        None, "--broker", help="redis://… for Redis Streams mode / mode Redis Streams"
    ),
    batch: int = typer.Option(500, "--batch", help="Rows per claim / Baris per klaim"),
    concurrency: int = typer.Option(
        64, "--concurrency", help="Sends in flight / Pengiriman bersamaan"
    ),
    worker_id: str | None = typer.Option(None, "--worker-id", help="Default host-pid"),
    lease: float = typer.Option(60.0, "--lease", help="Lease seconds / Detik sewa klaim"),
    max_attempts: int = typer.Option(8, "--max-attempts", help="Then dead / Lalu mati"),
    backoff_base: float = typer.Option(2.0, "--backoff-base", help="First retry delay, s"),
    rate: list[str] | None = typer.Option(
        None, "--rate", help="CHANNEL=PER_SECOND, e.g. sms=10 / batas laju per kanal"
    ),
    reclaim_idle: float = typer.Option(
        30.0, "--reclaim-idle", help="Broker: take over idle entries after s / ambil alih"
    ),
    once: bool = typer.Option(
        False, "--once", help="Send what is due, then exit / Kirim yang jatuh tempo lalu keluar"
    ),
    idle_exit: bool = typer.Option(
        False, "--idle-exit", help="Exit when the queue is empty / Keluar saat antrean kosong"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log batches / Catat batch"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Deliver queued alerts / Kirim peringatan dalam antrean."""
    from tangguh.bank import resolve_bank_url
    from tangguh.warning.delivery.worker import run_worker

    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stats = run_worker(
        resolve_bank_url(bank),
        worker_id=worker_id,
        batch=batch,
        concurrency=concurrency,
        stop_when_idle=once or idle_exit,
        broker=broker,
        handle_signals=True,
        lease=lease,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        rates=_rates(rate),
        reclaim_idle=reclaim_idle,
        idle_horizon=0.0 if once else 30.0,
    )
    if as_json:
        emit_json(stats.to_json())
    else:
        console.print(
            f"sent / terkirim {stats.sent}, retry / ulang {stats.failed}, "
            f"dead / gagal {stats.dead} in {stats.seconds:.1f} s"
        )


def deliveries_cmd(
    alert_id: str = typer.Argument(..., help="Alert id / ID peringatan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Delivery report of an alert per channel / Laporan pengiriman per kanal."""
    from tangguh.warning.delivery import report

    with use_bank(bank) as b:
        data = report(b, alert_id)
    if as_json:
        emit_json(data)
        return
    cols = ("targeted", "queued", "sending", "sent", "failed", "dead", "cancelled", "acknowledged")
    table = Table(title=f"Deliveries / Pengiriman {alert_id} (versions {data['versions']})")
    table.add_column("channel / kanal")
    for col in cols:
        table.add_column(col, justify="right")
    for ch, rec in [*data["channels"].items(), ("total", data["total"])]:
        table.add_row(ch, *(str(rec[c]) for c in cols))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.add_typer(subscribe_app, name="subscribe")
    app.command("worker")(handle_errors(worker_cmd))
    app.command("deliveries")(handle_errors(deliveries_cmd))
