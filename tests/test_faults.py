"""Faults during a run: Ctrl-C (SIGINT) or SIGTERM while the models are being fitted stops the
command with its exit status and one line, and leaves the previous output folder byte for byte
as it was, with no half-written folder beside it, and the fit cache with whole entries only.

The command runs as a user runs it, in its own process, over a previous output of the quick
run; the signal is sent once the first growth fit is done (and cached).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mbtbayes.core.cache import ENTRY_LAYOUTS, MARKER


def default_sigint() -> None:
    """In the child: Ctrl-C as at a terminal, even when this test runs as a background job
    (which starts with SIGINT ignored, and Python then keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.e2e
@pytest.mark.parametrize("signum, status, message", [
    (signal.SIGINT, 130, "mbtbayes: error: interrupted by the user (Ctrl-C)"),
    (signal.SIGTERM, 143, "mbtbayes: error: terminated (SIGTERM)"),
])
@pytest.mark.parametrize("when", ["[1/", "frequentist analysis"])
def test_a_signal_while_fitting_leaves_the_previous_output(quick_run, tmp_path, signum, status,
                                                           message, when):
    """``when``: the progress line after which the signal comes (the first fit; the tables,
    while a forked child writes the fits beside the output)."""
    assert quick_run.status == 0
    previous = tmp_path / "results"
    shutil.copytree(quick_run.out, previous)
    before = digest(previous)
    command = [str(Path(sys.executable).parent / "mbtbayes"), "reanalyze", "--quick",
               "--models", str(quick_run.out.parent / "models"), "--out", str(previous),
               "--cache", str(tmp_path / "cache")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"PYTHONUNBUFFERED": "1"},
                            preexec_fn=default_sigint)
    for line in proc.stderr:  # the progress log
        if line.startswith(when):
            break
    else:
        pytest.fail(f"the run ended before fitting, with status {proc.wait()}")
    time.sleep(0.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == status
    assert err.strip().splitlines()[-1] == message and "Traceback" not in err
    assert digest(previous) == before
    assert {p.name for p in tmp_path.iterdir()} <= {"results", "cache"}
    for item in (tmp_path / "cache").iterdir() if (tmp_path / "cache").exists() else ():
        assert item.name == MARKER or {p.name for p in item.iterdir()} in ENTRY_LAYOUTS, item
