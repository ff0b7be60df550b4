"""Benchmark: wall time of the 18 growth fits in brms (rstan) against the package, same draws.

What it measures
----------------
The 18 Bayesian growth fits (9 measures in ``models/*.toml`` x the ``linear`` and ``period``
variants) on the bundled synthetic register, done twice in one run with the same chains and
draws (warmup/tune = draws):

(a) brms 2.18 with the rstan backend, through ``bench/vs_brms.R`` (run with ``Rscript`` in a
    subprocess): one compiled Stan program per structure (linear, period; correlated and
    uncorrelated patient effects apart: 2 with today's specs, all correlated) and ``update()``
    refits that swap the data and the prior values (see the header of ``vs_brms.R`` for the
    scheme and how its models match the package's: same priors on the same uncentred
    coefficients, the same patient-effect structure and LKJ(2) prior, the same rows). Timed:
    the whole ``Rscript`` command (R start-up, ``library(brms)``, the compiles, 18 samplings,
    diagnostics), and, from the script's JSON, per fit the compile and sampling seconds, max
    R-hat and min bulk ESS, and the totals.
(b) the package: ``mb.load_register()``, ``mb.load_specs()`` and
    ``mb.fit_specs(specs, reg.data, draws=, chains=, seed=)``, timed as a whole (from before
    ``import mbtbayes`` to after the fits) and the ``fit_specs`` call alone. Nothing else of the
    package is used, and nothing of it is imported before (a).

The brms side runs first, then the package side, so that neither competes with the other for
the 2 shared cores; the load average is printed at the start, between the two and at the end,
since other processes change the timings. The ratio on the last line is the whole brms command
over the whole package side (loading included on both sides). Beside wall time, each side's
user + system CPU seconds (``getrusage``: the Rscript command with its reaped children -- the
C++ compiler, rstan's forked chains; the package's process and its children) give a ratio that
other load changes less.

Differences that stay (by design of the tools, documented in ``vs_brms.R``): brms samples the
patient effects (non-centred) while the package integrates them out; brms has no diagnostics
gate and no refit; rstan runs ``--cores`` chains in parallel processes (default: one per chain,
as brms's ``cores = chains``).

If ``Rscript`` or brms/rstan is missing, it prints what to install and exits 0.

How to run
----------
    uv run python bench/vs_brms.py                          # 4 chains x 1000 draws (warmup 1000)
    uv run python bench/vs_brms.py --draws 200 --chains 2
    uv run python bench/vs_brms.py --brms-json brms.json    # keep the brms JSON
    uv run python bench/vs_brms.py --brms-json brms.json --reuse-brms   # time only the package,
                                                            # against a finished brms run

The last printed line is ``brms/mbtbayes wall-time ratio: X.Xx (goal >= 20x)``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "vs_brms.R"
MODELS = HERE.parent / "models"
GOAL = 20.0
DEFAULT_SEED = 20250403  # the package's default seed (mbtbayes.core.defaults.SEED)

INSTALL = """\
brms (rstan backend) is needed for this benchmark: {why}
Install it from Debian's packages (bookworm: R 4.2, brms 2.18, rstan 2.21), as root:

    apt-get update
    apt-get install -y --no-install-recommends r-base-core r-cran-lme4 r-cran-brms r-cran-rstan
    # rstan compiles against BH/include/boost; Debian's r-cran-bh has no headers of its own (it
    # depends on libboost-dev), so point BH at the system Boost:
    mkdir -p /usr/lib/R/site-library/BH/include
    ln -sfn /usr/include/boost /usr/lib/R/site-library/BH/include/boost

Check:  Rscript -e 'library(brms); file.exists(rstan::rstan_options("boost_lib"))'  -> TRUE
"""

R_CHECK = (
    'suppressPackageStartupMessages({library(brms); library(rstan)}); '
    'if (!file.exists(rstan::rstan_options("boost_lib"))) quit(status = 3); '
    'cat(format(packageVersion("brms")), format(packageVersion("rstan")))'
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=1000,
                        help="draws per chain (1000); warmup/tune = draws on both sides")
    parser.add_argument("--chains", type=int, default=4, help="chains (4)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed ({DEFAULT_SEED}, the package default)")
    parser.add_argument("--cores", type=int, default=None,
                        help="parallel rstan chains on the brms side (default: chains)")
    parser.add_argument("--brms-json", type=Path, default=None,
                        help="where vs_brms.R writes its JSON (default: a temporary file)")
    parser.add_argument("--reuse-brms", action="store_true",
                        help="read --brms-json from an earlier run instead of running brms")
    return parser.parse_args(argv)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cpus)"


def cpu_seconds(who: int) -> float:
    """User + system CPU seconds of this process (RUSAGE_SELF) or of its reaped children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def bundled_csv() -> Path:
    """The bundled synthetic register CSV, found without importing the package."""
    candidates = [HERE.parent / "src" / "mbtbayes" / "resources" / "synthetic_register.csv"]
    spec = importlib.util.find_spec("mbtbayes")  # locates the package, does not import it
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidates.append(Path(folder) / "resources" / "synthetic_register.csv")
    for path in candidates:
        if path.is_file():
            return path
    raise SystemExit(f"cannot find the bundled register CSV (looked at {candidates})")


# ---------------------------------------------------------------- brms


def check_brms() -> str | None:
    """brms and rstan versions, or None after printing what to install."""
    if shutil.which("Rscript") is None:
        print(INSTALL.format(why="Rscript is not on PATH."))
        return None
    try:
        done = subprocess.run(["Rscript", "-e", R_CHECK], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        print(INSTALL.format(why="`Rscript -e 'library(brms)'` did not answer in 120 s."))
        return None
    if done.returncode == 3:
        print(INSTALL.format(why="rstan finds no Boost headers (BH/include/boost)."))
        return None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(INSTALL.format(why=f"`library(brms)` failed: {last}"))
        return None
    return done.stdout.strip()


def run_brms(args, out: Path) -> tuple[float, float]:
    """Run vs_brms.R (its per-fit lines stream through); wall and CPU seconds of the command.

    The CPU seconds are those of the R process and its reaped children: the C++ compiler and
    rstan's forked chains (``parallel::mclapply``).
    """
    cmd = ["Rscript", str(R_SCRIPT), "--data", str(bundled_csv()), "--draws", str(args.draws),
           "--chains", str(args.chains), "--seed", str(args.seed),
           "--cores", str(args.cores or args.chains), "--models", str(MODELS), "--out", str(out)]
    print("$ " + " ".join(cmd), flush=True)
    t, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, check=False)
    wall = time.perf_counter() - t
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    if done.returncode != 0:
        raise SystemExit(f"vs_brms.R failed (exit {done.returncode}) after {wall:.1f} s")
    return wall, cpu


# ---------------------------------------------------------------- the package


def run_package(args) -> dict | None:
    """Time the package's 18 fits through its public API; None if that API is not there yet."""
    import inspect
    import warnings

    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    cpu0 = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN)
    try:
        import mbtbayes as mb
    except ImportError as err:
        print(f"TODO: `import mbtbayes` failed ({err}); the package side is not timed.")
        return None
    missing = [n for n in ("load_register", "load_specs", "fit_specs") if not hasattr(mb, n)]
    if missing:
        # TODO: the package is being restructured; this benchmark is written against the API
        # mb.load_register() -> .data, mb.load_specs(), mb.fit_specs(specs, data, draws=,
        # chains=, seed=) -> list of fits. Rerun once mbtbayes exports it.
        print(f"TODO: mbtbayes does not export {', '.join(missing)} yet (the benchmark expects "
              "mb.load_register(), mb.load_specs(), mb.fit_specs(specs, reg.data, draws=, "
              "chains=, seed=)); the package side is not timed.")
        return None
    try:
        reg = mb.load_register()
        specs = mb.load_specs()
    except Exception as err:  # a package mid-restructure: report, keep brms's
        print(f"TODO: mb.load_register()/mb.load_specs() failed: {type(err).__name__}: {err}; "
              "the package side is not timed.")
        return None
    params = inspect.signature(mb.fit_specs).parameters
    if {"draws", "chains"} <= params.keys():
        kwargs = {"draws": args.draws, "chains": args.chains}
        if "tune" in params:
            kwargs["tune"] = args.draws
        call = "fit_specs(specs, reg.data, draws=, chains=, seed=)"
    elif "options" in params and hasattr(mb, "SamplerOptions"):
        # TODO: this benchmark was specified against mb.fit_specs(specs, data, draws=, chains=,
        # seed=); the package now takes options=mb.SamplerOptions(...). Keep one branch once
        # the API is settled.
        kwargs = {"options": mb.SamplerOptions(draws=args.draws, tune=args.draws,
                                               chains=args.chains)}
        call = "fit_specs(specs, reg.data, options=SamplerOptions(draws=, tune=, chains=), seed=)"
        print("note: mb.fit_specs takes no draws=/chains=; called it with "
              "options=mb.SamplerOptions(draws=draws, tune=draws, chains=chains)")
    else:
        print(f"TODO: mb.fit_specs{inspect.signature(mb.fit_specs)} takes neither draws=/chains= "
              "nor options=; the package side is not timed.")
        return None
    t1 = time.perf_counter()
    try:
        fits = mb.fit_specs(specs, reg.data, seed=args.seed, **kwargs)
    except Exception as err:  # a package mid-restructure: report, keep brms's
        print(f"TODO: mb.{call} failed: {type(err).__name__}: {err}; the package side is not "
              "timed.")
        return None
    t2 = time.perf_counter()
    cpu = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0
    return {"wall": t2 - t0, "setup": t1 - t0, "fit": t2 - t1, "cpu": cpu, "fits": list(fits),
            "version": getattr(mb, "__version__", "?"), "call": call}


# brms's parameter names -> the package's (beta's coef labels, the SDs and sigma)
BRMS_NAMES = {"b_Intercept": "Intercept", "b_months": "months", "b_periodII": "period[II]",
              "b_months:periodII": "months:period[II]", "b_wai": "wai_version[SR]",
              "sd_patient_id__Intercept": "sd_intercept", "sd_patient_id__months": "sd_slope",
              "sigma": "sigma", "cor_patient_id__Intercept__months": "corr"}


def package_estimates(fit) -> dict[str, tuple[float, float]]:
    """Posterior mean and SD of each parameter of a package fit, by the package's names."""
    post = fit.idata.posterior
    out = {}
    for name in ("sd_intercept", "sd_slope", "sigma", "corr"):
        if name in post:
            x = post[name].values
            out[name] = (float(x.mean()), float(x.std()))
    if "beta" in post:
        beta = post["beta"]
        dim = next(d for d in beta.dims if d not in ("chain", "draw"))
        for label in beta[dim].values:
            x = beta.sel({dim: label}).values
            out[str(label)] = (float(x.mean()), float(x.std()))
    return out


def max_shift(brms_fit: dict, fit) -> float:
    """Largest |brms mean - package mean| / package posterior SD over the shared parameters.

    The two fit the same model, so this should be Monte Carlo noise (well under 0.3).
    """
    try:
        ours = package_estimates(fit)
    except Exception:  # another GrowthFit layout: no check, no crash
        return float("nan")
    shifts = [abs(est["mean"] - ours[name][0]) / ours[name][1]
              for b, est in brms_fit.get("estimates", {}).items()
              if (name := BRMS_NAMES.get(b)) in ours and ours[name][1] > 0]
    return max(shifts) if shifts else float("nan")


def fit_key(fit) -> tuple[str, str]:
    spec = getattr(fit, "spec", None)
    name = getattr(spec, "name", None) or getattr(spec, "measure", None) or "?"
    return str(name), str(getattr(fit, "variant", "?"))


# ---------------------------------------------------------------- report


def table(brms: dict, package: dict | None) -> None:
    ours = {fit_key(f): f for f in package["fits"]} if package else {}
    print("\nper fit: brms (seconds, compile / sampling seconds, max R-hat, min bulk ESS) | "
          "mbtbayes (seconds, max R-hat, min bulk ESS); shift = max |brms mean - mbtbayes mean| "
          "/ posterior SD")
    print(f"  {'fit':<24}{'brms s':>8}{'compile':>9}{'sample':>8}{'R-hat':>7}{'ESS':>6}"
          f"{'| mbtb. s':>10}{'R-hat':>7}{'ESS':>6}{'shift':>7}")
    for f in brms["fits"]:
        row = (f"  {f['measure'] + '/' + f['variant']:<24}{f['seconds']:8.1f}"
               f"{f['compile_seconds']:9.1f}{f['sampling_seconds']:8.1f}{f['max_rhat']:7.3f}"
               f"{f['min_ess_bulk']:6.0f}")
        mine = ours.get((f["measure"], f["variant"]))
        if mine is not None:
            d = getattr(mine, "diagnostics", None)
            secs = getattr(mine, "seconds", float("nan"))
            rhat = getattr(d, "max_r_hat", float("nan"))
            ess = getattr(d, "min_ess_bulk", float("nan"))
            row += f"{'|':>2}{secs:8.1f}{rhat:7.3f}{ess:6.0f}{max_shift(f, mine):7.2f}"
        print(row + ("  (recompiled!)" if f.get("recompiled") else ""))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"load average at start: {load()}")
    if args.reuse_brms:
        if args.brms_json is None or not args.brms_json.is_file():
            raise SystemExit("--reuse-brms needs --brms-json FILE from an earlier run")
        brms = json.loads(args.brms_json.read_text())
        brms_wall = float(brms["total_seconds"])  # the script's own wall, R start-up not included
        brms_cpu = float(brms.get("cpu_seconds", "nan"))
        print(f"brms: reusing {args.brms_json} ({brms['chains']} chains x {brms['draws']} draws)")
        if (brms["draws"], brms["chains"]) != (args.draws, args.chains):
            print(f"  WARNING: that run had {brms['chains']} x {brms['draws']}, this one "
                  f"{args.chains} x {args.draws}")
    else:
        versions = check_brms()
        if versions is None:
            sys.exit(0)
        print(f"brms/rstan {versions}; {args.chains} chains x {args.draws} draws "
              f"(warmup {args.draws}), seed {args.seed}")
        out = args.brms_json or Path(tempfile.mkdtemp(prefix="vs-brms-")) / "brms.json"
        brms_wall, brms_cpu = run_brms(args, out)
        brms = json.loads(out.read_text())
    print(f"\nload average after brms: {load()}")

    print(f"\nmbtbayes: 18 fits, {args.chains} chains x {args.draws} draws, seed {args.seed}",
          flush=True)
    package = run_package(args)
    print(f"\nload average at end: {load()}")

    table(brms, package)
    print("\ntotals (wall clock, seconds)")
    print(f"  brms {brms['brms']} / rstan {brms['rstan']}: {brms_wall:.1f} s whole "
          f"({'script' if args.reuse_brms else 'Rscript command'}; library(brms) "
          f"{brms['load_seconds']:.1f}); fits {brms['fit_seconds']:.1f} = setup "
          f"{brms['setup_seconds']:.1f} + compile {brms['compile_seconds']:.1f} "
          f"({brms['n_compiles']} programs) + sampling {brms['sampling_seconds']:.1f}; "
          f"diagnostics {brms['diagnostics_seconds']:.1f}; CPU {brms_cpu:.1f} s")
    if package is None:
        print("  mbtbayes: not timed (see the TODO above)")
        print("brms/mbtbayes wall-time ratio: n/a (goal >= 20x; package side not timed)")
        return
    print(f"  mbtbayes {package['version']}: {package['wall']:.1f} s whole (import + "
          f"load_register + load_specs {package['setup']:.1f}, fit_specs {package['fit']:.1f}; "
          f"{len(package['fits'])} fits; mb.{package['call']}); CPU {package['cpu']:.1f} s")
    ratio = brms_wall / package["wall"]
    print(f"  fits alone: brms {brms['fit_seconds']:.1f} s vs fit_specs {package['fit']:.1f} s "
          f"= {brms['fit_seconds'] / package['fit']:.1f}x")
    print(f"  CPU seconds (user + system; less sensitive than wall time to other load on the "
          f"shared cores): brms {brms_cpu:.1f} vs mbtbayes {package['cpu']:.1f} = "
          f"{brms_cpu / package['cpu']:.1f}x")
    print(f"total benchmark wall time: {time.perf_counter() - START:.1f} s")
    print(f"brms/mbtbayes wall-time ratio: {ratio:.1f}x (goal >= {GOAL:.0f}x)")


if __name__ == "__main__":
    main()
