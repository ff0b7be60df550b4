# Reference values for tests/frequentist/test_equivalence.py, computed with base R (stats only).
# Run from anywhere:  Rscript tests/data/tost_reference.R
# Writes tost_reference.csv next to this script. The tests read the CSV; they never need R.
#
# Each case is a Wald-type estimate with its standard error (and optionally t degrees of
# freedom) tested against equivalence margins (low, high) at alpha = 0.05: the two one-sided
# p-values, their maximum (the TOST p-value), and the 90% confidence interval.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script) == 1) dirname(normalizePath(script)) else "."

rows <- list()
add <- function(case, estimate, se, low, high, df = NA_real_) {
  alpha <- 0.05
  lower_tail <- function(q) if (is.na(df)) pnorm(q) else pt(q, df)
  upper_tail <- function(q) if (is.na(df)) pnorm(q, lower.tail = FALSE) else pt(q, df, lower.tail = FALSE)
  quant <- if (is.na(df)) qnorm(1 - alpha) else qt(1 - alpha, df)
  p_lower <- upper_tail((estimate - low) / se)   # H0: theta <= low
  p_upper <- lower_tail((estimate - high) / se)  # H0: theta >= high
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, estimate = estimate, se = se, low = low, high = high, df = df,
    p_lower = p_lower, p_upper = p_upper, p_value = max(p_lower, p_upper),
    ci_low = estimate - quant * se, ci_high = estimate + quant * se,
    stringsAsFactors = FALSE)
}

add("inside", 0.01, 0.02, -0.05, 0.05)
add("edge_outside", 0.03, 0.02, -0.05, 0.05)
add("wide", 0.0, 0.1, -0.05, 0.05)
add("asymmetric", -0.2, 0.15, -0.6, 0.4)
add("growth_slope", -0.0037, 0.00146, -0.0025, 0.0025)
add("t_small_df", 0.4, 0.3, -1.0, 1.0, df = 12)
add("t_large_df", 1.2, 0.5, -2.0, 2.0, df = 140)

# A paired change in a proportion (end minus start) from its discordant counts: the per-patient
# changes d are -1 (b patients), +1 (c patients) and 0 (the rest); the Wald SE is that of mean(d)
# with the maximum-likelihood variance.
paired <- function(case, b, c, n, half) {
  d <- c(rep(-1, b), rep(1, c), rep(0, n - b - c))
  se <- sqrt(mean((d - mean(d))^2) / n)
  add(case, mean(d), se, -half, half)
}
paired("paired_change", 12, 5, 60, 0.05)
paired("paired_small", 3, 2, 40, 0.1)

out <- do.call(rbind, rows)
out$r_version <- paste(R.version$major, R.version$minor, sep = ".")
write.csv(out, file.path(out_dir, "tost_reference.csv"), row.names = FALSE)
