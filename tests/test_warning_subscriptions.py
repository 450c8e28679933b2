"""Subscriptions: resolve the unit, confirm, unsubscribe, validation, no contacts exposed."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from _webhook_receiver import make_alert
from tangguh.admin.store import save_units
from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.errors import InputError, NotFoundError
from tangguh.warning import subscriptions as subs
from tangguh.warning.delivery import enqueue, report
from tangguh.warning.tables.delivery import tg_subscriber

RW = "rw:3171010001001"
KEL = "kelurahan:3171010001"
HOOK = "https://hooks.example.org/tangguh/abc"


@lru_cache(maxsize=1)
def _units() -> Any:
    from tangguh.demo import build_city

    return build_city("small", seed=0).layers["admin_units"]


@pytest.fixture
def city(bank: Bank) -> Bank:
    save_units(bank, _units(), source="demo", synthetic=True)
    return bank


def test_subscribe_resolves_the_unit_and_needs_confirmation(city: Bank) -> None:
    by_rw = subs.subscribe(city, rw=RW, language="id", channels={"sms": "0812-3456-7890"})
    assert (by_rw.rw_id, by_rw.kelurahan_id, by_rw.status) == (RW, KEL, "pending")
    assert by_rw.channels == {"sms": "+6281234567890"}
    by_kel = subs.subscribe(city, kelurahan=KEL, language="en", channels={"webhook": HOOK})
    assert (by_kel.rw_id, by_kel.kelurahan_id) == (None, KEL)
    rw_geom = _units().set_index("unit_id").loc[RW, "geometry"]
    pt = rw_geom.representative_point()
    by_point = subs.subscribe(
        city, point=(pt.x, pt.y), language="id", channels={"telegram": "123456789"}
    )
    assert (by_point.rw_id, by_point.kelurahan_id) == (RW, KEL)

    # pending subscribers get nothing
    assert enqueue(city, make_alert([RW])) == 0
    public = subs.confirm(city, by_rw.token)
    assert public["status"] == "active" and public["channels"] == ["sms"]
    assert subs.confirm(city, by_rw.token)["status"] == "active"  # idempotent
    assert enqueue(city, make_alert([RW], alert_id="A2")) == 1
    assert by_rw.confirm_url.endswith(by_rw.token)


def test_public_views_and_repr_never_show_contacts(city: Bank) -> None:
    contacts = {"email": "warga.rw01@example.org", "sms": "+6281299887766", "webhook": HOOK}
    sub = subs.subscribe(city, rw=RW, language="id", channels=contacts, quiet_hours="22:00-05:00")
    text = repr(sub) + str(sub) + json.dumps(sub.to_json())
    text += json.dumps(subs.get_public(city, sub.subscriber_id))
    text += json.dumps(subs.count_by_unit(city))
    for contact in contacts.values():
        assert contact not in text
    assert subs.get_public(city, sub.subscriber_id)["quiet_hours"] == "22:00-05:00"
    assert subs.count_by_unit(city) == [
        {"unit_id": RW, "active": 0, "pending": 1, "unsubscribed": 0}
    ]


@pytest.mark.parametrize(
    ("channel", "address"),
    [
        ("email", "not-an-address"),
        ("sms", "12345"),
        ("whatsapp", "+62 abc"),
        ("webhook", "http://insecure.example.org/hook"),
        ("webhook", "ftp://example.org"),
        ("telegram", "hello world"),
        ("webpush", "{not json"),
        ("fax", "+6221000000"),
    ],
)
def test_bad_contacts_are_rejected_in_both_languages(
    city: Bank, channel: str, address: str
) -> None:
    with pytest.raises(InputError) as info:
        subs.subscribe(city, rw=RW, language="id", channels={channel: address})
    assert info.value.message_id and info.value.hint_id
    assert address not in str(info.value) or len(address) <= 5
    with city.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tg_subscriber)).scalar() == 0


def test_other_bad_input(city: Bank) -> None:
    ok = {"sms": "+6281234567890"}
    with pytest.raises(InputError, match="quiet hours"):
        subs.subscribe(city, rw=RW, language="id", channels=ok, quiet_hours="22:00")
    with pytest.raises(InputError, match="same time"):
        subs.subscribe(city, rw=RW, language="id", channels=ok, quiet_hours="05:00-05:00")
    with pytest.raises(InputError, match="language"):
        subs.subscribe(city, rw=RW, language="jv", channels=ok)
    with pytest.raises(InputError, match="exactly one"):
        subs.subscribe(city, rw=RW, kelurahan=KEL, language="id", channels=ok)
    with pytest.raises(NotFoundError, match="no rw"):
        subs.subscribe(city, rw="rw:999", language="id", channels=ok)
    with pytest.raises(NotFoundError, match="no kelurahan"):
        subs.subscribe(city, kelurahan=RW, language="id", channels=ok)
    with pytest.raises(NotFoundError, match="in no kelurahan"):
        subs.subscribe(city, point=(0.0, 0.0), language="id", channels=ok)
    with pytest.raises(NotFoundError) as info:
        subs.confirm(city, "forged-token")
    assert info.value.message_id


def test_unsubscribe_stops_future_and_queued_deliveries(city: Bank) -> None:
    a = subs.subscribe(city, rw=RW, language="id", channels={"webhook": HOOK}, confirmed=True)
    b = subs.subscribe(city, kelurahan=KEL, language="en", channels={"webhook": HOOK})
    subs.confirm(city, b.token)
    assert enqueue(city, make_alert([RW])) == 2
    subs.unsubscribe(city, a.token)
    rep = report(city, "A-TEST")["total"]
    assert (rep["queued"], rep["cancelled"]) == (1, 1)
    assert enqueue(city, make_alert([RW], version=2)) == 1  # only b now
    with pytest.raises(InputError, match="cancelled"):
        subs.confirm(city, a.token)
    # the one-click link in messages works too
    from tangguh.warning.subscriptions import _hash, unsubscribe_token

    one_click = unsubscribe_token(_hash(b.token), b.subscriber_id)
    assert subs.unsubscribe(city, one_click)["status"] == "unsubscribed"
    assert enqueue(city, make_alert([RW], version=3)) == 0
    with pytest.raises(NotFoundError):
        subs.unsubscribe(city, b.subscriber_id + ".0000")


def test_cli_subscribe_confirm_count_unsubscribe(bank_url: str) -> None:
    with open_bank(bank_url, create=True) as b:
        save_units(b, _units(), source="demo", synthetic=True)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "subscribe",
            "add",
            "--rw",
            RW,
            "--sms",
            "+6281234567890",
            "--quiet",
            "22:00-05:00",
            "--language",
            "en",
            "--bank",
            bank_url,
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "+6281234567890" not in res.output
    token = json.loads(res.output)["token"]
    res = runner.invoke(app, ["subscribe", "confirm", token, "--bank", bank_url])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["subscribe", "count", "--bank", bank_url, "--json"])
    assert json.loads(res.output) == [{"unit_id": RW, "active": 1, "pending": 0, "unsubscribed": 0}]
    res = runner.invoke(app, ["subscribe", "unsubscribe", token, "--bank", bank_url])
    assert res.exit_code == 0 and "Unsubscribed" in res.output
    bad = runner.invoke(
        app, ["subscribe", "add", "--kelurahan", KEL, "--email", "nope", "--bank", bank_url]
    )
    assert bad.exit_code == 2
    assert "tidak sah" in bad.output and "invalid" in bad.output
