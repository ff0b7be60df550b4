"""Output folders: written atomically, and never over anything mbtbayes did not write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from mbtbayes.cli import main
from mbtbayes.core.errors import OutputError
from mbtbayes.io.output import MARKER, check_output, write_tables

TABLES = {"t": pd.DataFrame({"a": [1, 2]})}


def write(out: Path) -> Path:
    return write_tables(out, TABLES, label="test")


def test_new_folder_is_written_with_a_manifest(tmp_path):
    out = write(tmp_path / "new" / "results")
    manifest = json.loads((out / MARKER).read_text())
    assert manifest["written_by"] == "mbtbayes"
    assert sorted(manifest["files"]) == ["DATA_SOURCE.txt", "t.csv", "t.md"]


def test_previous_output_is_replaced_and_nothing_is_left_beside_it(tmp_path):
    out = write(tmp_path / "results")
    (out / "t.csv").write_text("stale\n")
    write(out)
    assert (out / "t.csv").read_text().startswith("a\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert (write(tmp_path / "empty") / MARKER).exists()


@pytest.mark.parametrize("case", ["user_file", "user_file_in_subfolder", "added_to_output",
                                  "manifest_forged", "is_a_file", "is_the_data",
                                  "holds_the_data", "dot"])
def test_refused_folders_keep_every_file(tmp_path, monkeypatch, case):
    out, data = tmp_path / "out", None
    if case == "user_file":
        out.mkdir()
        (out / "thesis.docx").write_text("keep")
    elif case == "user_file_in_subfolder":
        (out / "sub").mkdir(parents=True)
        (out / "sub" / "thesis.docx").write_text("keep")
    elif case == "added_to_output":
        write(out)
        (out / "notes.txt").write_text("keep")
    elif case == "manifest_forged":
        out.mkdir()
        (out / MARKER).write_text(json.dumps({"written_by": "someone", "files": ["x.txt"]}))
        (out / "x.txt").write_text("keep")
    elif case == "is_a_file":
        out.write_text("keep")
    elif case in ("is_the_data", "holds_the_data"):
        data = out if case == "is_the_data" else out / "reg.csv"
        data.parent.mkdir(exist_ok=True)
        data.write_text("keep")
    elif case == "dot":
        (tmp_path / "thesis.docx").write_text("keep")
        monkeypatch.chdir(tmp_path)
        out = Path(".")
    before = sorted((str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    with pytest.raises(OutputError, match="--out NEW"):
        check_output(out, data=data)
    if data is None:
        with pytest.raises(OutputError):
            write(out)
    after = sorted((str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    assert after == before


def test_unwritable_parent_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(OutputError, match="not writable"):
            check_output(locked / "results")
    finally:
        locked.chmod(0o700)


def test_a_failure_while_writing_leaves_the_previous_output(tmp_path):
    out = write(tmp_path / "results")
    before = (out / "t.csv").read_bytes()

    def broken(folder: Path) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_tables(out, TABLES, label="test", extra=broken)
    assert (out / "t.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_cli_published_refuses_a_user_folder_in_one_line(tmp_path, capsys):
    (tmp_path / "thesis.docx").write_text("keep")
    assert main(["published", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did not write (thesis.docx)" in err[0]
    assert (tmp_path / "thesis.docx").read_text() == "keep"
