# Benchmark: the 18 Bayesian growth fits (9 measures x 2 variants) in brms (rstan backend),
# with the same data, priors, chains and draws as the package, timed with the wall clock.
#
# Usage
# -----
#   Rscript bench/vs_brms.R --data CSV --draws N --chains C --out JSON
#                           [--seed S] [--cores K] [--models DIR]
#
#   --data    long-format register CSV (patient_id, period, months, the outcomes, wai_version)
#   --draws   post-warmup draws per chain (warmup = draws, iter = 2 * draws)   [1000]
#   --chains  chains                                                            [4]
#   --seed    seed; fit i (1..18) uses seed + i, as the package does            [20250403]
#   --cores   parallel chains (rstan processes)                                 [= chains]
#   --models  folder of the package's model specs (*.toml)      [<this dir>/../models]
#   --out     JSON file written at the end (per fit and totals)                 [required]
#
# Needs R with brms and rstan (Debian bookworm: r-base-core r-cran-brms r-cran-rstan, plus the
# BH/include/boost symlink to /usr/include/boost described in bench/vs_brms.py).
#
# The models
# ----------
# Per measure (the spec's [formulas] and [priors] in models/*.toml):
#   linear:  y ~ 0 + Intercept + months            + wai + (months || patient_id)
#   period:  y ~ 0 + Intercept + months * periodII + wai + (months || patient_id)
# gaussian family, independent patient intercept and slope (`||`, as the package's
# `correlated = false`; a spec with `correlated = true` gets `(months | patient_id)` and the
# package's LKJ(2) prior on the correlation, a structure compiled apart), periodII = 1 for period "II" (0 for "I") and wai = 1 for wai_version
# "SR" (0 for "S"): the same treatment coding as the package's Bambi designs (period[II],
# wai_version[SR]). `0 + Intercept` keeps the intercept a plain coefficient on the
# uncentred design, so its Normal prior is the spec's prior on the intercept at months = 0,
# as in the package (brms's default `Intercept` class would put it on the centred intercept).
# Priors, from the spec: b ~ Normal(mu, sigma) per coefficient, sd(Intercept), sd(months) and
# sigma ~ HalfNormal (brms: normal(0, s) on a parameter bounded below by 0).
# Rows with a missing outcome, months or patient_id are dropped (WAI measures: also a missing
# wai_version; the period variant: also a missing period), as the package drops them.
#
# The scheme: one compile per structure and update() refits
# ---------------------------------------------
# brms writes prior parameters into the Stan program as literals and update() recompiles whenever
# the generated Stan code changes (a new formula, new prior values, a new covariate). So that
# one compiled program per structure (linear, period; each also correlated when a spec says so)
# serves all its fits, as the package's engine reuses its compiled graph per structure:
#   * every measure is fitted through one response column, `y`;
#   * every prior parameter (means and scales) is Stan *data*, declared with stanvar() and
#     referenced by name in prior(), e.g. prior(normal(0, s_months), class = b, coef = months):
#     a new measure passes new stanvars values, which changes the data, not the code;
#   * the WAI covariate is in every model as the numeric column `wai`: 0/1 (S/SR) for the two WAI
#     measures, all zeros for the seven others. An all-zero column leaves the likelihood
#     unchanged: its coefficient is sampled from its prior alone (Normal(0, 1) for a non-WAI
#     measure), and the posterior of every other parameter is that of the model without the
#     covariate. This is exactly what the package does (it pads narrower designs with zero
#     columns having a N(0, 1) prior so that one graph serves every fit). It costs the sampler one
#     more (independent, well-conditioned) dimension; b_wai is left out of the diagnostics of the
#     non-WAI fits, as the package drops its padding before its diagnostics.
# Fit 1 of each structure (the first measure's linear and period fits) is a brm() call that
# compiles and samples; the other 16 are update(fit, newdata = ..., stanvars = ...) calls of the
# fit of the same structure. update() regenerates the Stan code, compares it with the compiled
# one and recompiles only if they differ; `recompiled` in the JSON records whether it did (it
# should be false for all 16), and `n_compiles` counts the compiles.
#
# Timing (wall clock, Sys.time)
# -----------------------------
# Each brm()/update() call is timed whole (`seconds`) and split at the messages brms emits:
#   setup_seconds     before "Compiling Stan program..." (or before "Start sampling" when no
#                     compile): brms's formula/data/prior validation, Stan code generation and,
#                     for update(), the comparison with the compiled code;
#   compile_seconds   "Compiling Stan program..." to "Start sampling" (0 without a compile);
#   sampling_seconds  "Start sampling" to the return: rstan::sampling (warmup + draws, with
#                     cores > 1 the start-up of rstan's worker processes) and brms's renaming of
#                     the draws.
#   cpu_seconds       user + system CPU seconds of the call (R and its reaped children: the
#                     compiler, the forked chains); less sensitive than wall time to other load.
# The diagnostics (max R-hat and min bulk/tail ESS by posterior::summarise_draws over the
# sampled population parameters b_*, sd_*, sigma, and the divergences; their posterior means and
# SDs go to the JSON as `estimates`, to check the fits against the package's) are timed apart
# (`diagnostics_seconds`), as is loading brms. Totals: total_seconds is the wall time from the
# start of this script to the JSON (loading brms and reading the data included; R's own start-up
# before the first line is not -- time the Rscript command for that).
#
# Not the same as the package, on purpose or by brms's design: brms samples the patient effects
# (non-centred), while the package integrates them out analytically (the same posterior for the
# common parameters, a different sampling problem); there is no diagnostics gate and no refit of
# a fit that fails one (the package refits once with longer tuning).

start_time <- Sys.time()
elapsed <- function(since) as.numeric(difftime(Sys.time(), since, units = "secs"))
# user + system CPU seconds of this R process and its reaped children (the C++ compiler, rstan's
# chains forked by parallel::mclapply): less sensitive than wall time to other load
cpu <- function() {
  p <- proc.time()
  sum(p[c("user.self", "sys.self", "user.child", "sys.child")], na.rm = TRUE)
}
# 1-minute load average (the machine's cores are shared: other processes change the timings)
load1 <- function() {
  x <- tryCatch(readLines("/proc/loadavg", n = 1L, warn = FALSE), error = function(e) NA_character_)
  as.numeric(strsplit(x, " ")[[1]][1])
}

# ---------------------------------------------------------------- arguments

parse_args <- function(argv) {
  args <- list(data = NULL, draws = 1000L, chains = 4L, seed = 20250403L, cores = NA_integer_,
               models = NULL, out = NULL)
  if (length(argv) %% 2 != 0) stop("arguments come in pairs: --name value")
  for (i in seq(1, length(argv), by = 2)) {
    name <- sub("^--", "", argv[i])
    if (!name %in% names(args)) stop("unknown argument: ", argv[i])
    args[[name]] <- argv[i + 1]
  }
  for (n in c("draws", "chains", "seed", "cores")) args[[n]] <- as.integer(args[[n]])
  if (is.na(args$cores)) args$cores <- args$chains
  if (is.null(args$data) || is.null(args$out)) stop("--data CSV and --out JSON are required")
  if (is.null(args$models)) {
    file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
    here <- if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else "."
    args$models <- file.path(here, "..", "models")
  }
  args
}

# ---------------------------------------------------------------- specs (models/*.toml)

# The spec files are simple and regular; read only what is needed: measure, correlated, the two
# formulas and the [priors] table (Normal mu/sigma; HalfNormal sigma, nested or not).
read_spec <- function(path) {
  lines <- trimws(readLines(path, warn = FALSE))
  lines <- lines[lines != "" & !startsWith(lines, "#")]
  value <- function(key) {
    hit <- grep(paste0("^", key, "\\s*="), lines, value = TRUE)[1]
    if (is.na(hit)) return(NA_character_)
    gsub('^"|"$', "", trimws(sub("#.*$", "", sub("^[^=]+=", "", hit))))
  }
  section <- function(name) {
    heads <- grep("^\\[", lines)
    at <- which(lines == paste0("[", name, "]"))
    if (!length(at)) stop(path, ": no [", name, "] table")
    end <- c(heads[heads > at], length(lines) + 1)[1]
    lines[seq_len(end - at - 1) + at]
  }
  number <- function(line, key) {
    hits <- regmatches(line, gregexpr(paste0("\\b", key, " = (-?[0-9.eE+-]+)"), line))[[1]]
    if (!length(hits)) return(NA_real_)
    as.numeric(sub(".*= ", "", hits[length(hits)]))  # the innermost (last) one
  }
  priors <- list()
  for (line in section("priors")) {
    key <- gsub('"', "", trimws(sub("=.*$", "", line)))
    priors[[key]] <- c(mu = number(line, "mu"), sigma = number(line, "sigma"))
  }
  formulas <- section("formulas")
  formula_of <- function(v) gsub('"', "", trimws(sub("^[^=]+=", "", grep(paste0("^", v, " "),
                                                                       formulas, value = TRUE))))
  list(measure = value("measure"), correlated = value("correlated"),
       linear = formula_of("linear"), period = formula_of("period"), priors = priors)
}

check_spec <- function(spec) {
  m <- spec$measure
  expect <- function(formula, rhs) {
    pattern <- paste0("^", m, " ~ ", rhs, "( \\+ wai_version)? \\+ \\(months \\| patient_id\\)$")
    if (!grepl(pattern, formula)) stop(m, ": formula '", formula, "' is not the structure this ",
                                       "benchmark fits (", rhs, " [+ wai_version] + (months | patient_id))")
  }
  expect(spec$linear, "months")
  expect(spec$period, "months \\* period")
  if (!spec$correlated %in% c("true", "false")) stop(m, ": correlated must be true or false")
  spec$correlated <- identical(spec$correlated, "true")
  wai <- grepl("wai_version", spec$linear)
  needed <- c("Intercept", "months", "1|patient_id", "months|patient_id", "sigma", "period",
              "months:period", if (wai) "wai_version")
  missing <- setdiff(needed, names(spec$priors))
  if (length(missing)) stop(m, ": no prior for ", paste(missing, collapse = ", "))
  if (!wai && "wai_version" %in% names(spec$priors)) stop(m, ": wai_version prior, no covariate")
  spec$wai <- wai
  spec
}

# The prior parameters of one fit, as the stanvars (Stan data) the compiled programs read.
prior_stanvars <- function(spec) {
  p <- spec$priors
  values <- c(mu_int = p$Intercept[["mu"]], s_int = p$Intercept[["sigma"]],
              mu_months = p$months[["mu"]], s_months = p$months[["sigma"]],
              mu_period = p$period[["mu"]], s_period = p$period[["sigma"]],
              mu_mp = p[["months:period"]][["mu"]], s_mp = p[["months:period"]][["sigma"]],
              # a non-WAI measure: an all-zero column with a N(0, 1) prior, as the package's padding
              mu_wai = if (spec$wai) p$wai_version[["mu"]] else 0,
              s_wai = if (spec$wai) p$wai_version[["sigma"]] else 1,
              s_sd0 = p[["1|patient_id"]][["sigma"]], s_sd1 = p[["months|patient_id"]][["sigma"]],
              s_sigma = p$sigma[["sigma"]])
  if (anyNA(values)) stop(spec$measure, ": unreadable prior values: ",
                          paste(names(values)[is.na(values)], collapse = ", "))
  sv <- NULL
  for (n in names(values)) {
    one <- brms::stanvar(x = values[[n]], name = n, scode = paste0("real ", n, ";"))
    sv <- if (is.null(sv)) one else sv + one
  }
  sv
}

brms_priors <- function(variant, correlated) {
  p <- c(brms::prior(normal(mu_int, s_int), class = b, coef = Intercept),
         brms::prior(normal(mu_months, s_months), class = b, coef = months),
         brms::prior(normal(mu_wai, s_wai), class = b, coef = wai),
         brms::prior(normal(0, s_sd0), class = sd, coef = Intercept, group = patient_id),
         brms::prior(normal(0, s_sd1), class = sd, coef = months, group = patient_id),
         brms::prior(normal(0, s_sigma), class = sigma))
  if (correlated) p <- c(p, brms::prior(lkj(2), class = cor))  # the package's LKJ(2)
  if (variant == "period") {
    p <- c(p, brms::prior(normal(mu_period, s_period), class = b, coef = periodII),
           brms::prior(normal(mu_mp, s_mp), class = b, coef = "months:periodII"))
  }
  p
}

FORMULAS <- list(
  linear = y ~ 0 + Intercept + months + wai + (months || patient_id),
  period = y ~ 0 + Intercept + months * periodII + wai + (months || patient_id),
  linear_correlated = y ~ 0 + Intercept + months + wai + (months | patient_id),
  period_correlated = y ~ 0 + Intercept + months * periodII + wai + (months | patient_id)
)

fit_data <- function(register, spec, variant) {
  needed <- c(spec$measure, "months", "patient_id",
              if (spec$wai) "wai_version", if (variant == "period") "period")
  d <- register[stats::complete.cases(register[needed]), , drop = FALSE]
  data.frame(y = as.numeric(d[[spec$measure]]), months = as.numeric(d$months),
             periodII = as.numeric(d$period == "II"),
             wai = if (spec$wai) as.numeric(d$wai_version == "SR") else 0,
             patient_id = as.character(d$patient_id))
}

# ---------------------------------------------------------------- timing one brm()/update() call

timed_call <- function(expr) {
  marks <- list()
  warns <- character()
  t0 <- Sys.time()
  c0 <- cpu()
  value <- withCallingHandlers(expr,
    message = function(m) {
      text <- conditionMessage(m)
      if (grepl("Compiling Stan program", text) && is.null(marks$compile)) marks$compile <<- Sys.time()
      if (grepl("Start sampling", text) && is.null(marks$sample)) marks$sample <<- Sys.time()
      if (grepl("require recompiling", text)) marks$recompile <<- TRUE
    },
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  t1 <- Sys.time()
  secs <- function(a, b) as.numeric(difftime(b, a, units = "secs"))
  sample_at <- if (is.null(marks$sample)) t1 else marks$sample
  compile_at <- if (is.null(marks$compile)) sample_at else marks$compile
  list(value = value, seconds = secs(t0, t1), setup_seconds = secs(t0, compile_at),
       compile_seconds = secs(compile_at, sample_at), sampling_seconds = secs(sample_at, t1),
       cpu_seconds = cpu() - c0,
       compiled = !is.null(marks$compile), recompiled = isTRUE(marks$recompile),
       warnings = unique(warns))
}

diagnostics <- function(fit, wai) {
  vars <- grep("^(b_|sd_|cor_|sigma$)", brms::variables(fit), value = TRUE)
  if (!wai) vars <- setdiff(vars, "b_wai")  # the zero column's prior-only coefficient
  s <- posterior::summarise_draws(posterior::subset_draws(brms::as_draws_array(fit), variable = vars),
                                  "mean", "sd", "rhat", "ess_bulk", "ess_tail")
  estimates <- lapply(seq_len(nrow(s)), function(k) list(mean = s$mean[k], sd = s$sd[k]))
  names(estimates) <- s$variable
  list(max_rhat = max(s$rhat), min_ess_bulk = min(s$ess_bulk), min_ess_tail = min(s$ess_tail),
       divergences = sum(rstan::get_divergent_iterations(fit$fit)), estimates = estimates)
}

# ---------------------------------------------------------------- main

main <- function() {
  args <- parse_args(commandArgs(trailingOnly = TRUE))
  t <- Sys.time()
  suppressPackageStartupMessages({library(brms); library(rstan)})
  load_seconds <- elapsed(t)
  cat(sprintf("brms %s, rstan %s, %s; library(brms) %.1f s\n", packageVersion("brms"),
              packageVersion("rstan"), R.version.string, load_seconds))

  t <- Sys.time()
  register <- utils::read.csv(args$data, na.strings = c("", "NA"), stringsAsFactors = FALSE)
  files <- sort(Sys.glob(file.path(args$models, "*.toml")))
  if (!length(files)) stop("no *.toml specs in ", args$models)
  specs <- lapply(files, function(f) check_spec(read_spec(f)))
  data_seconds <- elapsed(t)
  load_start <- load1()
  cat(sprintf(paste0("%d specs from %s; %d rows; %d chains x %d draws (warmup %d), cores %d, ",
                     "seed %d; load %.2f\n"),
              length(specs), normalizePath(args$models), nrow(register), args$chains, args$draws,
              args$draws, args$cores, args$seed, load_start))

  compiled <- list()  # structure -> the brmsfit that holds its compiled program
  fits <- list()
  i <- 0L
  for (spec in specs) {
    for (variant in c("linear", "period")) {
      i <- i + 1L
      d <- fit_data(register, spec, variant)
      sv <- prior_stanvars(spec)
      common <- list(chains = args$chains, iter = 2L * args$draws, warmup = args$draws,
                     cores = args$cores, seed = args$seed + i, refresh = 0)
      structure <- if (spec$correlated) paste0(variant, "_correlated") else variant
      if (is.null(compiled[[structure]])) {
        call <- timed_call(do.call(brms::brm, c(list(
          formula = brms::bf(FORMULAS[[structure]]), data = d, family = gaussian(),
          prior = brms_priors(variant, spec$correlated), stanvars = sv, backend = "rstan"),
          common)))
        compiled[[structure]] <- call$value
        how <- "brm"
      } else {
        call <- timed_call(do.call(stats::update, c(list(
          compiled[[structure]], newdata = d, stanvars = sv), common)))
        how <- "update"
      }
      t <- Sys.time()
      diag <- diagnostics(call$value, spec$wai)
      diag_seconds <- elapsed(t)
      rec <- list(index = i, measure = spec$measure, variant = variant, call = how,
                  n = nrow(d), patients = length(unique(d$patient_id)),
                  seconds = call$seconds, setup_seconds = call$setup_seconds,
                  compile_seconds = call$compile_seconds,
                  sampling_seconds = call$sampling_seconds, cpu_seconds = call$cpu_seconds,
                  compiled = call$compiled,
                  recompiled = call$recompiled, diagnostics_seconds = diag_seconds,
                  max_rhat = diag$max_rhat, min_ess_bulk = diag$min_ess_bulk,
                  min_ess_tail = diag$min_ess_tail, divergences = diag$divergences,
                  load_1min = load1(), estimates = diag$estimates,
                  warnings = I(call$warnings))
      fits[[i]] <- rec
      cat(sprintf(paste0("  [%2d/18] %-16s %-7s %-6s n=%d  %6.1f s (setup %.1f, compile %.1f, ",
                         "sampling %.1f)  max R-hat %.3f  min ESS %.0f/%.0f  div %d  load %.1f  [%.0f s]\n"),
                  i, spec$measure, variant, how, rec$n, rec$seconds, rec$setup_seconds,
                  rec$compile_seconds, rec$sampling_seconds, rec$max_rhat, rec$min_ess_bulk,
                  rec$min_ess_tail, rec$divergences, rec$load_1min, elapsed(start_time)))
      if (how == "update" && call$compiled) {
        cat("  WARNING: this update() recompiled the Stan program\n")
      }
    }
  }

  total <- function(field) sum(vapply(fits, function(f) f[[field]], numeric(1)))
  out <- list(
    tool = "brms", brms = as.character(packageVersion("brms")),
    rstan = as.character(packageVersion("rstan")), r = R.version.string,
    data = normalizePath(args$data), models = normalizePath(args$models),
    draws = args$draws, warmup = args$draws, chains = args$chains, cores = args$cores,
    seed = args$seed, n_fits = length(fits),
    n_compiles = sum(vapply(fits, function(f) f$compiled, logical(1))),
    load_seconds = load_seconds, data_seconds = data_seconds,
    fit_seconds = total("seconds"), setup_seconds = total("setup_seconds"),
    compile_seconds = total("compile_seconds"), sampling_seconds = total("sampling_seconds"),
    diagnostics_seconds = total("diagnostics_seconds"),
    load_1min_start = load_start, load_1min_end = load1(), fits = fits)
  out$total_seconds <- elapsed(start_time)
  out$cpu_seconds <- cpu()
  jsonlite::write_json(out, args$out, auto_unbox = TRUE, pretty = TRUE, digits = NA)
  cat(sprintf(paste0("TOTAL: %d fits, %d compiles; %.1f s wall (library %.1f, fits %.1f: setup %.1f, ",
                     "compile %.1f, sampling %.1f; diagnostics %.1f); CPU %.1f s -> %s\n"),
              length(fits), out$n_compiles, out$total_seconds, load_seconds, out$fit_seconds,
              out$setup_seconds, out$compile_seconds, out$sampling_seconds,
              out$diagnostics_seconds, out$cpu_seconds, args$out))
}

main()
