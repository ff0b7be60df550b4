"""run.json pieces: hashes (against the system's sha256sum), the command line, versions."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
from importlib import metadata

import pandas as pd
import pytest

from mbtbayes.growth.specs import load_specs
from mbtbayes.io.register import load_register
from mbtbayes.report.runinfo import (
    command_line,
    data_record,
    run_record,
    sha256_file,
    spec_records,
    versions,
)


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_file_hash_matches_sha256sum(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 5000)
    expected = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0]
    assert sha256_file(path) == expected


def test_a_data_frame_is_hashed_as_its_csv_text():
    frame = load_register().data.head(5)
    register = load_register()
    record = data_record(frame, register)
    text = frame.to_csv(index=False, lineterminator="\n").encode()
    assert record["sha256"] == hashlib.sha256(text).hexdigest() and record["file"] is None


def test_specs_without_a_file_are_hashed_by_their_fields(tmp_path):
    specs = load_specs()
    made = {"own": dataclasses.replace(specs["bsi"], name="own")}
    records = spec_records({"bsi": specs["bsi"], **made}, None)
    assert records["bsi"]["file"].endswith("bsi.toml")
    assert records["own"]["file"] is None and len(records["own"]["sha256"]) == 64


def test_command_line_repeats_the_options():
    options = {"data": "reg 1.csv", "mapping": None, "models": None, "out": "res",
               "seed": 7, "draws": 500, "chains": 2, "sampler": "nutpie", "quick": True,
               "frame": pd.DataFrame()}
    assert command_line(options) == ("mbtbayes reanalyze --data 'reg 1.csv' --out res --seed 7 "
                                      "--draws 500 --chains 2 --sampler nutpie --quick")


def test_versions_and_record():
    found = versions()
    assert found["pymc"] == metadata.version("pymc")
    assert found["nutpie"] == metadata.version("nutpie")
    register = load_register()
    record = run_record(options={"seed": 3, "data": None, "log": print}, data=None,
                        register=register, specs={})
    assert record["seeds"]["run"] == 3 and "log" not in record["options"]
    assert record["data"]["synthetic"] is True
    assert record["sampler"]["gate"]["min_ess_bulk"] == 400
