"""The ``mbtbayes`` command line: a thin shell over the public functions.

Errors of the package (bad data, bad specs, failed fits) are printed as one line,
``mbtbayes: error: ...``, and the command exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import MbtbayesError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a data, spec or convergence error.
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except MbtbayesError as err:
        print(f"mbtbayes: error: {err}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mbtbayes",
        description="Bayesian (and frequentist) reanalysis of the MBT sustainability study.")
    sub = parser.add_subparsers(dest="command", required=True)

    re = sub.add_parser("reanalyze", help="run the reanalysis (default: bundled SYNTHETIC data)")
    _data_options(re, required=False)
    re.add_argument("--models", type=Path, help="folder of model specs (default: models/)")
    re.add_argument("--out", type=Path, default=Path("mbtbayes-results"),
                    help="output folder (default: mbtbayes-results)")
    re.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    re.add_argument("--draws", type=int, default=1000, help="draws per chain (default 1000)")
    re.add_argument("--chains", type=int, default=4, help="chains (default 4)")
    re.add_argument("--sampler", choices=("nutpie", "pymc"), default="nutpie")
    re.add_argument("--quick", action="store_true",
                    help="few draws, for a smoke run (results not for reporting)")
    _quiet_option(re)
    re.set_defaults(run=_reanalyze)

    sim = sub.add_parser("simulate", help="write a SYNTHETIC register as CSV")
    sim.add_argument("--out", type=Path, required=True, help="output CSV file")
    sim.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    sim.add_argument("--scale", type=int, default=1, help="multiply the patients (default 1)")
    sim.set_defaults(run=_simulate)

    val = sub.add_parser("validate", help="check a register extract and summarise it")
    _data_options(val, required=True)
    val.set_defaults(run=_validate)

    pub = sub.add_parser("published", help="reanalysis of the paper's published numbers alone")
    pub.add_argument("--out", type=Path, default=Path("mbtbayes-published"),
                     help="output folder (default: mbtbayes-published)")
    _quiet_option(pub)
    pub.set_defaults(run=_published)
    return parser


def _data_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--data", type=Path, required=required,
                        help="register extract: .csv, .parquet or .sav"
                        + ("" if required else " (default: the bundled SYNTHETIC register)"))
    parser.add_argument("--mapping", type=Path,
                        help="TOML file mapping your column names and codes onto the schema")


def _validate(args: argparse.Namespace) -> int:
    from mbtbayes.io.register import describe, load_register

    register = load_register(args.data, mapping=args.mapping)
    print(describe(register))
    print("\nOK: no problems found.")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from mbtbayes.io.synthetic import write_register

    path = write_register(args.out, seed=args.seed, scale=args.scale)
    print(f"wrote SYNTHETIC register (seed {args.seed}, scale {args.scale}) to {path}")
    return 0


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true",
                        help="no progress, no log lines, no summary: only the output folder")


def _reanalyze(args: argparse.Namespace) -> int:
    from mbtbayes.pipeline import reanalyze
    from mbtbayes.report.terminal import Terminal

    with Terminal(quiet=args.quiet) as term:
        out = reanalyze(data=args.data, mapping=args.mapping, models=args.models, out=args.out,
                        seed=args.seed, draws=args.draws, chains=args.chains,
                        sampler=args.sampler, quick=args.quick, log=term.log,
                        progress=term.progress, headline=term.headline)
    print(f"wrote {out}" + ("" if args.quiet else
                            f" (open {out / 'report.html'} in a browser for the report)"))
    return 0


def _published(args: argparse.Namespace) -> int:
    from mbtbayes.pipeline import published
    from mbtbayes.report.terminal import Terminal

    with Terminal(quiet=args.quiet) as term:
        out = published(out=args.out, log=term.log)
    print(f"wrote {out}")
    return 0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
