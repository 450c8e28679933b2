"""Bulk work pauses the cyclic garbage collector, nests, and always restores it."""

from __future__ import annotations

import gc
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tangguh._gc import paused_gc
from tangguh.bank import open_bank
from tangguh.errors import InputError


def test_pauses_nest_and_restore_the_previous_state() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()


def test_a_failed_write_restores_the_collector(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"fid": [1]}, geometry=[shapely.Point(106.8, -6.2)], crs="EPSG:4326"
    )  # "fid" is reserved: the write fails
    with open_bank(tmp_path / "b.gpkg") as bank:
        with pytest.raises(InputError):
            bank.write_layer("pts", frame)
        assert gc.isenabled()
        bank.write_layer("pts", frame.rename(columns={"fid": "source_fid"}))
        assert gc.isenabled()
        assert len(bank.read_layer("pts")) == 1
