"""``--quiet``: no progress, no log lines, no summary; only the output folder."""

from __future__ import annotations

from mbtbayes.cli import main


def test_published_quiet_prints_only_the_folder(tmp_path, capsys):
    out = tmp_path / "published"
    assert main(["published", "--quiet", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == f"wrote {out.resolve()}\n"

