"""The ``mbtbayes`` command line: a thin shell over the public functions.

Every failure reaches the user as one line on standard error, ``mbtbayes: error: ...``, and a
non-zero exit status, never a traceback:

====  ======================================================================================
code  meaning
====  ======================================================================================
0     success (``validate``: no problems; it may print warnings)
1     unexpected error, a bug in mbtbayes or a library it uses: the line says
      ``unexpected error (this is a bug; please report it): <type>: <message>``
2     bad input: data, mapping, model specs, option values, output folder, or a failed fit
130   interrupted (Ctrl-C, SIGINT)
141   the program reading the output closed it (``mbtbayes validate ... | head``); no message
143   terminated (SIGTERM)
====  ======================================================================================

An interrupted or terminated run stops where it is and leaves the previous output folder as it
was: a run writes into a new hidden folder next to ``--out`` and swaps it in only at the end,
and removes that folder when it is stopped before. Option values are checked before any data is
read. Set the environment variable
``MBTBAYES_DEBUG=1`` to get the full traceback instead of the one line (for developers).

Examples
--------
>>> main(["simulate", "--out", "x.csv", "--scale", "0"])  # prints one line on stderr
2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from types import FrameType
from typing import NoReturn

from mbtbayes.core import interrupts
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import MbtbayesError

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_PIPE, EXIT_TERMINATED = (
    0, 1, 2, 130, 141, 143)
"""Exit statuses: success, an unexpected error (a bug), bad input, interrupted, output closed,
terminated."""

DEBUG_VARIABLE = "MBTBAYES_DEBUG"
"""Environment variable: set to 1 to re-raise errors with their traceback."""


class UsageError(Exception):
    """A command line that argparse cannot parse (unknown option, bad option value)."""


class Terminated(BaseException):  # noqa: N818 - named for the signal, as KeyboardInterrupt
    """SIGTERM arrived: raised in the main thread so that clean-up runs as for Ctrl-C."""


class Interrupted(BaseException):  # noqa: N818 - named for the signal, as KeyboardInterrupt
    """Ctrl-C (SIGINT) arrived. Not a KeyboardInterrupt: nutpie and PyMC catch that one and
    return the draws so far, which would let a run go on after Ctrl-C."""


def _raise_for(signum: int, frame: FrameType | None) -> None:
    raise interrupts.record(Interrupted() if signum == signal.SIGINT else Terminated())


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While running, SIGTERM raises :class:`Terminated` and Ctrl-C :class:`Interrupted` (in
    the main thread only; a SIGINT ignored by the parent, as for a background job, stays
    ignored)."""
    wanted = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        wanted.append(signal.SIGINT)
    try:
        previous = {s: signal.signal(s, _raise_for) for s in wanted}
    except ValueError:  # not the main thread: leave the handlers alone
        yield
        return
    interrupts.clear()
    hook = sys.unraisablehook
    sys.unraisablehook = partial(_quiet_about_signals, hook)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sys.unraisablehook = hook
        interrupts.clear()


def _quiet_about_signals(hook: Callable, unraisable: object) -> None:
    """A signal's exception raised where Python cannot pass it on (a weakref callback, a
    finaliser) is not printed: it is recorded and raised again at the next stage of the run
    (:mod:`mbtbayes.core.interrupts`)."""
    if not isinstance(getattr(unraisable, "exc_value", None), Interrupted | Terminated):
        hook(unraisable)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 on bad input (data, specs, options, output folder,
        failed fits), 1 on an unexpected error (a bug), 130 when interrupted, 143 when
        terminated. Run as the command (``argv`` None), an unexpected error ends the process at
        once with status 1 after the message: nutpie, after a failed start, crashes the
        interpreter's shutdown (status 139, measured).
    """
    try:
        args = _parser().parse_args(argv)
        with _signals_raise():
            return args.run(args)
    except SystemExit:  # --help
        raise
    except BrokenPipeError:  # the reader of our output went away (`| head`): not a failure
        with contextlib.suppress(OSError, ValueError):  # no more writes to the closed pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except BaseException as err:  # every failure, even a Rust panic (a BaseException)
        if os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0"):
            raise
        code, message = describe_failure(err)
        sys.stdout.flush()
        print(f"mbtbayes: error: {message}", file=sys.stderr, flush=True)
        if argv is None and code == EXIT_BUG:
            os._exit(code)  # a library that failed may crash the interpreter's shutdown
        return code


def describe_failure(err: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for a failure.

    Examples
    --------
    >>> from mbtbayes.core.errors import DataError
    >>> describe_failure(DataError("r.csv: the file is empty"))
    (2, 'r.csv: the file is empty')
    >>> describe_failure(IndexError("index 2 is out of bounds\\nfor axis 0"))[1]
    'unexpected error (this is a bug; please report it): IndexError: index 2 is out of ...'
    >>> describe_failure(KeyboardInterrupt())
    (130, 'interrupted by the user (Ctrl-C)')
    >>> describe_failure(Interrupted())
    (130, 'interrupted by the user (Ctrl-C)')
    >>> describe_failure(Terminated())
    (143, 'terminated (SIGTERM)')
    """
    text = " ".join(str(err).split("Stack backtrace:")[0].split())  # no Rust backtrace
    if isinstance(err, KeyboardInterrupt | Interrupted):
        return EXIT_INTERRUPTED, "interrupted by the user (Ctrl-C)"
    if isinstance(err, Terminated):
        return EXIT_TERMINATED, "terminated (SIGTERM)"
    if isinstance(err, MbtbayesError | UsageError):
        return EXIT_INPUT, text or type(err).__name__
    return EXIT_BUG, ("unexpected error (this is a bug; please report it): "
                      f"{type(err).__name__}" + (f": {text}" if text else ""))


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:  # noqa: D401 - argparse's hook
        raise UsageError(f"{message} (see {self.prog} --help)")


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got '{text}'")
        return value

    return parse


def encoding_name(text: str) -> str:
    """An argparse type: a text encoding Python knows."""
    from mbtbayes.io.text import check_encoding

    try:
        check_encoding(text)
    except MbtbayesError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mbtbayes",
        description="Bayesian (and frequentist) reanalysis of the MBT sustainability study.",
        epilog="Exit status: 0 success, 2 bad input, 1 unexpected error (a bug), 130 "
               f"interrupted, 143 terminated. {DEBUG_VARIABLE}=1 shows tracebacks.")
    sub = parser.add_subparsers(dest="command", required=True)

    re = sub.add_parser("reanalyze", help="run the reanalysis (default: bundled SYNTHETIC data)")
    _data_options(re, required=False)
    re.add_argument("--models", type=Path, help="folder of model specs (default: models/)")
    re.add_argument("--out", type=Path, default=Path("mbtbayes-results"),
                    help="output folder (default: mbtbayes-results)")
    re.add_argument("--seed", type=whole_number(0), default=SEED,
                    help=f"random seed (default {SEED})")
    re.add_argument("--draws", type=whole_number(1), default=1000,
                    help="draws per chain (default 1000)")
    re.add_argument("--chains", type=whole_number(1), default=4, help="chains (default 4)")
    re.add_argument("--sampler", choices=("nutpie", "pymc"), default="nutpie")
    re.add_argument("--sensitivity", nargs="?", const="quick", choices=("quick", "full"),
                    help="also run the sensitivity analyses (sensitivity.csv and figures); "
                         "'full' adds refits of other models (Student-t, structures, ...)")
    re.add_argument("--quick", action="store_true",
                    help="few draws, for a smoke run (results not for reporting)")
    re.add_argument("--joint", action="store_true",
                    help="also fit the joint model of bsi, cip, wsas and gaf (joint_model.csv)")
    re.add_argument("--joint-pooling", action="store_true",
                    help="with the joint model (implies --joint), its pooling sensitivity: the "
                         "between-outcome SD's prior at x0.5, x1, x2 and unpooled "
                         "(joint_pooling.csv; three more joint fits, several minutes)")
    re.add_argument("--adjusted", action="store_true",
                    help="also fit the period models adjusted for intake characteristics "
                         "(adjusted_effects.csv; about 100 s more)")
    re.add_argument("--stacking", action="store_true",
                    help="also average each measure's conclusions over its candidate models "
                         "by LOO stacking (stacking.csv; about four refits per measure, "
                         "minutes; --sensitivity full includes it)")
    _quiet_option(re)
    _fit_cache_options(re)
    re.set_defaults(run=_reanalyze)

    sim = sub.add_parser("simulate", help="write a SYNTHETIC register as CSV")
    sim.add_argument("--out", type=Path, required=True, help="output CSV file")
    sim.add_argument("--seed", type=whole_number(0), default=SEED,
                     help=f"random seed (default {SEED})")
    sim.add_argument("--scale", type=whole_number(1), default=1,
                     help="multiply the patients (default 1)")
    sim.set_defaults(run=_simulate)

    val = sub.add_parser("validate", help="check a register extract and summarise it")
    _data_options(val, required=True)
    val.set_defaults(run=_validate)

    pub = sub.add_parser("published", help="reanalysis of the paper's published numbers alone")
    pub.add_argument("--out", type=Path, default=Path("mbtbayes-published"),
                     help="output folder (default: mbtbayes-published)")
    _quiet_option(pub)
    pub.set_defaults(run=_published)

    cal = sub.add_parser("calibrate", help="simulation-based calibration and power of the design")
    _data_options(cal, required=False)
    cal.add_argument("--models", type=Path, help="folder of model specs (default: models/)")
    cal.add_argument("--measure", default="bsi", help="the spec to calibrate (default bsi)")
    cal.add_argument("--out", type=Path, default=Path("mbtbayes-calibration"),
                     help="output folder (default: mbtbayes-calibration)")
    cal.add_argument("--seed", type=whole_number(0), default=SEED,
                     help=f"random seed (default {SEED})")
    cal.add_argument("--replicates", type=whole_number(0), default=200,
                     help="SBC replicates (default 200; 0 skips)")
    cal.add_argument("--power-replicates", type=whole_number(0), default=50,
                     help="simulated registers per power scenario (default 50; 0 skips)")
    cal.add_argument("--engine", choices=("marginal", "bambi"), default="marginal",
                     help="the growth engine calibrated: marginal (the spec's period model), "
                     "or bambi (its Student-t version; sbc_bambi_*.csv)")
    cal.add_argument("--joint", action="store_true",
                     help="also calibrate the joint model of bsi, wsas and gaf "
                     "(sbc_joint_*.csv; the same number of replicates)")
    cal.add_argument("--scheduler", help="executor: processes[:N] or a Dask scheduler address "
                     "tcp://host:port (default: in this process, or $MBTBAYES_SCHEDULER)")
    cal.set_defaults(run=_calibrate)
    return parser


def _data_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--data", type=Path, required=required,
                        help="register extract: .csv, .xlsx, .parquet or .sav"
                        + ("" if required else " (default: the bundled SYNTHETIC register)"))
    parser.add_argument("--mapping", type=Path,
                        help="TOML file mapping your column names and codes onto the schema")
    parser.add_argument("--encoding", type=encoding_name,
                        help="text encoding of a .csv or .sav file, e.g. cp1252 (default: "
                        "UTF-8, else Windows-1252 with a warning)")


def _validate(args: argparse.Namespace) -> int:
    from mbtbayes.core.errors import DataError
    from mbtbayes.io.register import describe, validate_register

    result = validate_register(args.data, mapping=args.mapping, encoding=args.encoding)
    if not result.ok:
        print(result)
        raise DataError(f"{result.source}: {len(result.problems)} problem(s), listed above; "
                        "fix them and run validate again")
    print(describe(result.register))
    warned = f" ({len(result.warnings)} warning(s) above)" if result.warnings else ""
    print(f"\nOK: no problems found{warned}.")
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    from mbtbayes.io.synthetic import write_register

    path = write_register(args.out, seed=args.seed, scale=args.scale)
    print(f"wrote SYNTHETIC register (seed {args.seed}, scale {args.scale}) to {path}")
    return EXIT_OK


def _fit_cache_options(parser: argparse.ArgumentParser) -> None:
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--cache", type=Path, metavar="DIR",
                       help="fit cache folder (default: .mbtbayes-cache beside --out); a rerun "
                            "reads the fits it holds instead of sampling them")
    cache.add_argument("--no-cache", action="store_true",
                       help="sample every fit; read and write no fit cache")
    parser.add_argument("--scheduler", help="executor for the growth fits: processes[:N] or a "
                        "Dask scheduler address tcp://host:port (default: in this process, or "
                        "$MBTBAYES_SCHEDULER)")


def _fit_cache(args: argparse.Namespace) -> Path | bool:
    return False if args.no_cache else (args.cache or True)


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true",
                        help="no progress, no log lines, no summary: only the output folder")


def _reanalyze(args: argparse.Namespace) -> int:
    from mbtbayes.core.errors import SpecError
    from mbtbayes.pipeline import reanalyze
    from mbtbayes.report.terminal import Terminal

    if args.models is not None and not args.models.is_dir():
        raise SpecError(f"--models {args.models}: no such folder of model specs")
    with Terminal(quiet=args.quiet) as term:
        out = reanalyze(data=args.data, mapping=args.mapping, encoding=args.encoding,
                        models=args.models, out=args.out, seed=args.seed, draws=args.draws,
                        chains=args.chains, sampler=args.sampler, quick=args.quick,
                        sensitivity=args.sensitivity, joint=args.joint,
                        joint_pooling=args.joint_pooling,
                        adjusted=args.adjusted, stacking=args.stacking,
                        log=term.log,
                        progress=term.progress, headline=term.headline,
                        cache=_fit_cache(args), scheduler=args.scheduler)
    print(f"wrote {out}" + ("" if args.quiet else
                            f" (open {out / 'report.html'} in a browser for the report)"))
    return EXIT_OK


def _published(args: argparse.Namespace) -> int:
    from mbtbayes.pipeline import published
    from mbtbayes.report.terminal import Terminal

    with Terminal(quiet=args.quiet) as term:
        out = published(out=args.out, log=term.log)
    print(f"wrote {out}")
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from mbtbayes.core.errors import SpecError
    from mbtbayes.pipeline import calibrate

    if args.models is not None and not args.models.is_dir():
        raise SpecError(f"--models {args.models}: no such folder of model specs")
    out = calibrate(data=args.data, mapping=args.mapping, encoding=args.encoding,
                    models=args.models, measure=args.measure, out=args.out, seed=args.seed,
                    replicates=args.replicates, power_replicates=args.power_replicates,
                    engine=args.engine, joint=args.joint, scheduler=args.scheduler, log=_log)
    print(f"wrote {out}")
    return EXIT_OK


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
