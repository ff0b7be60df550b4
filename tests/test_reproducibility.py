"""Reproducibility and data safety of a whole run: the same seed gives byte-identical tables,
the run makes no network connection, and outputs carry no patient column beyond the
pseudonymous id (issue 15, item 8)."""

from __future__ import annotations

import contextlib
import io
import socket
from pathlib import Path

import pandas as pd
import pytest

from mbtbayes.io import schema


class NetworkBlockedError(AssertionError):
    """Raised when the code under test tries to open a network connection."""


@pytest.fixture
def no_network(monkeypatch):
    """Every outgoing connection (IPv4, IPv6, DNS lookups) fails loudly; local pipes still work."""
    def refuse(*args, **kwargs):
        raise NetworkBlockedError(f"network access attempted: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_blocked_socket_fixture_really_blocks(no_network):
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("example.org", 80), timeout=1)


@pytest.mark.e2e
def test_same_seed_same_tables_and_no_network(quick_run, tmp_path, no_network):
    """A second run with the same seed, with the network blocked, writes byte-identical CSVs."""
    from mbtbayes.cli import main

    models = quick_run.out.parent / "models"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["reanalyze", "--quick", "--models", str(models),
                       "--out", str(tmp_path / "again"), "--no-cache"])
    assert status == 0, err.getvalue()[-2000:]
    first = sorted(p.name for p in quick_run.out.glob("*.csv"))
    second = sorted(p.name for p in (tmp_path / "again").glob("*.csv"))
    assert first == second and len(first) > 10
    different = [n for n in first
                 if (quick_run.out / n).read_bytes() != (tmp_path / "again" / n).read_bytes()]
    assert different == []


def test_outputs_carry_no_patient_field_and_only_known_ids(quick_run):
    import mbtbayes as mb

    ids = set(mb.load_register().data[schema.ID])
    patient_fields = set(schema.PATIENT_FIELDS) - {schema.ID}
    for path in quick_run.out.glob("*.csv"):
        table = pd.read_csv(path)
        assert not patient_fields & set(table.columns), path.name
        for column in table.columns:
            values = table[column].dropna().astype(str)
            looks_like_id = values.str.fullmatch(r"SYN\d+")
            assert set(values[looks_like_id]) <= ids, (path.name, column)


def test_saved_fits_name_patients_only_by_their_ids(quick_run):
    import arviz as az

    import mbtbayes as mb

    ids = set(mb.load_register().data[schema.ID])
    for path in Path(quick_run.out, "fits").glob("*.nc"):
        idata = az.from_netcdf(path)
        for group in idata.groups():
            for name, coord in idata[group].coords.items():
                if coord.dtype.kind in "OU" and "patient" in name:
                    assert set(map(str, coord.values)) <= ids, (path.name, group, name)
