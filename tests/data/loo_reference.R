# Reference values for tests/core/test_psis.py, computed with R's loo package (2.5.1 here;
# Debian: apt-get install r-cran-loo). Run from anywhere:  Rscript tests/data/loo_reference.R
# Writes loo_draws.csv (the input draws; y is in the reference) and loo_reference.csv next to this script; the tests read
# the CSVs and never need R.
#
# Input: 4 autocorrelated chains x 500 draws of (mu, log sigma) of a normal model (AR(1) around
# a posterior mode, different autocorrelation for the two parameters), and 12 observations
# of which two are outliers (high Pareto k). The pointwise log-likelihood is
# dnorm(y_i, mu, sigma, log = TRUE); Python recomputes it from the same draws and y.
# Output per observation: r_eff = loo::relative_eff(exp(log_lik)) from the chains, and
# loo::loo(log_lik, r_eff = r_eff)'s pointwise elpd_loo, p_loo and Pareto k; plus the totals.
suppressMessages(library(loo))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script) == 1) dirname(normalizePath(script)) else "."

set.seed(20240612)
chains <- 4
iter <- 500
ar1 <- function(n, phi, sd) {
  x <- numeric(n)
  x[1] <- rnorm(1, 0, sd / sqrt(1 - phi^2))
  for (t in 2:n) x[t] <- phi * x[t - 1] + rnorm(1, 0, sd)
  x
}
draws <- do.call(rbind, lapply(seq_len(chains), function(c) {
  data.frame(chain = c, draw = seq_len(iter),
             mu = 1 + ar1(iter, 0.6, 0.08), log_sigma = log(0.9) + ar1(iter, 0.85, 0.04))
}))
y <- c(0.2, 0.8, 1.1, 1.5, 0.6, 1.9, 0.9, 1.3, 0.4, 1.7, 5.5, -3.0)

log_lik <- array(NA_real_, dim = c(iter, chains, length(y)))
for (c in seq_len(chains)) {
  d <- draws[draws$chain == c, ]
  for (i in seq_along(y)) log_lik[, c, i] <- dnorm(y[i], d$mu, exp(d$log_sigma), log = TRUE)
}
r_eff <- relative_eff(exp(log_lik))
res <- loo(log_lik, r_eff = r_eff)

write.csv(draws, file.path(out_dir, "loo_draws.csv"), row.names = FALSE)
ref <- data.frame(unit = seq_along(y), y = y, r_eff = r_eff,
                  elpd_loo = res$pointwise[, "elpd_loo"], p_loo = res$pointwise[, "p_loo"],
                  pareto_k = res$diagnostics$pareto_k,
                  total_elpd_loo = res$estimates["elpd_loo", "Estimate"],
                  total_se = res$estimates["elpd_loo", "SE"],
                  total_p_loo = res$estimates["p_loo", "Estimate"])
write.csv(ref, file.path(out_dir, "loo_reference.csv"), row.names = FALSE)
