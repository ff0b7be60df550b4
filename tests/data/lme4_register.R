# lme4's fits of every bundled model on the bundled synthetic register: the outside reference
# for tests/frequentist/test_register_lme4.py (R is not needed at test time; the slow test
# reruns this script when Rscript and lme4 are installed).
#
# Run from the repository root:
#     Rscript tests/data/lme4_register.R [OUT.csv]      (default tests/data/lme4_register.csv)
# Measured with R 4.2.2 and lme4 1.1-31 (Debian bookworm: r-base-core, r-cran-lme4).
#
# The models: the 9 specs in models/*.toml x 2 variants x 2 structures of the patient effects,
# as the pipeline fits them by ML (src/mbtbayes/compare/frequentist.py ->
# frequentist/prepare.py::lme4_formula): a spec's `(months | patient_id)` with `correlated =
# true` (the bundled default) is lme4's `(months | patient_id)`, with `correlated = false`
# lme4's `(months || patient_id)` (the sensitivity suite's alternative); the period variant is
# `months * period`; the WAI specs add their covariate `wai_version`.
#     <measure> ~ months [* period] [+ wai_version] + (months | patient_id),   REML = FALSE
#     <measure> ~ months [* period] [+ wai_version] + (months || patient_id),  REML = FALSE
# Data: src/mbtbayes/resources/synthetic_register.csv as it is (rows with a missing outcome
# left out by lmer's na.omit; the package's loader returns the same values).
# Each model is fitted twice: with tight BOBYQA tolerances (the reference: the optimum) and
# with lme4's defaults (nloptwrap), whose log-likelihood and messages are kept for the record
# (its default optimiser stops short of the optimum on some of these models and says so).
#
# Writes a tidy CSV: structure (correlated / uncorrelated), measure, model (linear / period),
# quantity, term, value, message
#   quantity  estimate, se (term: fixed effect, lme4's names mapped to the package's:
#             "(Intercept)" -> Intercept, periodII -> period[II], wai_versionSR ->
#             wai_version[SR]), sd (sd_intercept, sd_slope, sd_residual), corr (correlated
#             only), loglik, df, singular (isSingular, 1 / 0), n_obs, n_groups, theta (term
#             1, 2 (, 3): getME(fit, "theta"), the relative Cholesky factor); with lme4's defaults:
#             loglik_default, theta_default; formula, messages, messages_default: text in
#             `message` ("" when none).
suppressPackageStartupMessages(library(lme4))

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/data/lme4_register.csv"
d <- read.csv("src/mbtbayes/resources/synthetic_register.csv", stringsAsFactors = FALSE)
d$period <- factor(d$period, levels = c("I", "II"))
d$wai_version <- factor(d$wai_version)  # levels S, SR: S the reference, as the package

measures <- c("bsi", "cip", "fwc_confident", "fwc_idealized", "fwc_inadequate", "gaf",
              "wai_bonds", "wai_goals_tasks", "wsas")
covariates <- c(wai_bonds = "wai_version", wai_goals_tasks = "wai_version")
tight <- lmerControl(optimizer = "bobyqa",
                     optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))

formula_text <- function(measure, model, structure) {
  rhs <- if (model == "linear") "months" else "months * period"
  if (measure %in% names(covariates)) rhs <- paste(rhs, "+", covariates[[measure]])
  bar <- if (structure == "correlated") "|" else "||"
  paste0(measure, " ~ ", rhs, " + (months ", bar, " patient_id)")
}

fit_quietly <- function(f, control) {
  said <- character()
  fit <- withCallingHandlers(
    lmer(f, d, REML = FALSE, control = control),
    warning = function(w) {
      said <<- c(said, conditionMessage(w)); invokeRestart("muffleWarning")
    },
    message = function(m) {
      said <<- c(said, conditionMessage(m)); invokeRestart("muffleMessage")
    })
  said <- unique(trimws(c(said, fit@optinfo$conv$lme4$messages)))
  list(fit = fit, messages = paste(said, collapse = "; "))
}

rename_terms <- function(x) {
  x <- sub("^\\(Intercept\\)$", "Intercept", x)
  x <- gsub("periodII", "period[II]", x, fixed = TRUE)
  gsub("wai_versionSR", "wai_version[SR]", x, fixed = TRUE)
}

row <- function(measure, model, quantity, term, value = NA_real_, message = "") {
  data.frame(structure = structure, measure = measure, model = model, quantity = quantity,
             term = term, value = value, message = message)
}

tidy_fit <- function(measure, model) {
  text <- formula_text(measure, model, structure)
  ref <- fit_quietly(as.formula(text), tight)
  dflt <- fit_quietly(as.formula(text), lmerControl())
  fit <- ref$fit
  fe <- fixef(fit)
  vc <- as.data.frame(VarCorr(fit))
  sd_names <- ifelse(vc$grp == "Residual", "sd_residual",
                     ifelse(!is.na(vc$var2), "corr",
                            ifelse(vc$var1 == "(Intercept)", "sd_intercept", "sd_slope")))
  theta <- unname(getME(fit, "theta"))
  theta_default <- unname(getME(dflt$fit, "theta"))
  ll <- logLik(fit)
  rbind(
    row(measure, model, "formula", "", message = text),
    row(measure, model, "estimate", rename_terms(names(fe)), unname(fe)),
    row(measure, model, "se", rename_terms(names(fe)), sqrt(diag(as.matrix(vcov(fit))))),
    row(measure, model, ifelse(sd_names == "corr", "corr", "sd"), sd_names, vc$sdcor),
    row(measure, model, "loglik", "", as.numeric(ll)),
    row(measure, model, "df", "", attr(ll, "df")),
    row(measure, model, "singular", "", as.numeric(isSingular(fit))),
    row(measure, model, "n_obs", "", nobs(fit)),
    row(measure, model, "n_groups", "", unname(ngrps(fit)[1])),
    row(measure, model, "theta", as.character(seq_along(theta)), theta),
    row(measure, model, "messages", "", message = ref$messages),
    row(measure, model, "loglik_default", "", as.numeric(logLik(dflt$fit))),
    row(measure, model, "theta_default", as.character(seq_along(theta_default)),
        theta_default),
    row(measure, model, "messages_default", "", message = dflt$messages)
  )
}

res <- NULL
for (structure in c("correlated", "uncorrelated")) {
  res <- rbind(res, do.call(rbind, unlist(lapply(measures, function(m)
    lapply(c("linear", "period"), function(v) tidy_fit(m, v))), recursive = FALSE)))
}
write.csv(res, out, row.names = FALSE)
for (key in unique(paste(res$structure, res$measure, res$model))) {
  part <- res[paste(res$structure, res$measure, res$model) == key, ]
  get <- function(q, col = "value") part[part$quantity == q, col]
  cat(sprintf("%-35s logLik %.9f singular %d %s| defaults: logLik %.9f %s\n", key, get("loglik"),
              get("singular"), get("messages", "message"), get("loglik_default"),
              get("messages_default", "message")))
}
