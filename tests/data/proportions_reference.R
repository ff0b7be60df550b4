# Reference values for tests/test_proportions.py, computed with base R (stats package only).
# Run from anywhere:  Rscript tests/data/proportions_reference.R
# Writes proportions_reference.csv next to this script. The tests read the CSV; they never need R.
#
# Every case is a 2 x 2 (or 2 x 3) table written row-wise as "r1c1,r1c2;r2c1,r2c2".
#  - paired tables (McNemar): rows = first occasion (yes, no), columns = second occasion (yes, no)
#  - independent groups: rows = group 1 (Period I), group 2 (Period II); columns = event, no event

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script) == 1) dirname(normalizePath(script)) else "."

as_text <- function(m) paste(apply(m, 1, paste, collapse = ","), collapse = ";")
rows <- list()
add <- function(case, test, m, statistic, df, p_value, estimate = NA_real_) {
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, test = test, table = as_text(m),
    statistic = unname(statistic), df = unname(df), p_value = unname(p_value),
    estimate = unname(estimate), stringsAsFactors = FALSE
  )
}

# ---- paired tables: McNemar (corrected / uncorrected) and the exact binomial on discordant pairs
paired <- list(
  mcn_small = matrix(c(30, 3, 12, 5), 2, byrow = TRUE),     # b + c = 15 < 25
  mcn_large = matrix(c(20, 10, 30, 15), 2, byrow = TRUE),   # b + c = 40
  mcn_start_end = matrix(c(30, 111, 16, 28), 2, byrow = TRUE), # large b + c; invented counts
  mcn_tie = matrix(c(5, 7, 7, 9), 2, byrow = TRUE)          # b = c
)
for (nm in names(paired)) {
  m <- paired[[nm]]
  r <- mcnemar.test(m, correct = TRUE)
  add(nm, "mcnemar_corrected", m, r$statistic, r$parameter, r$p.value)
  r <- mcnemar.test(m, correct = FALSE)
  add(nm, "mcnemar_uncorrected", m, r$statistic, r$parameter, r$p.value)
  r <- binom.test(m[1, 2], m[1, 2] + m[2, 1], p = 0.5)
  add(nm, "binom_exact", m, r$statistic, NA, r$p.value)
}

# ---- independent groups: x1/n1 (Period I) vs x2/n2 (Period II)
groups <- list(
  self_harm_remission = c(41, 55, 27, 43),
  suicide_remission = c(17, 19, 13, 15),
  suicide_remission_alt = c(17, 19, 20, 23),
  self_harm_last_year_full = c(22, 96, 30, 89),
  self_harm_last_year_end = c(14, 61, 16, 47),
  small_counts = c(3, 12, 9, 11)
)
for (nm in names(groups)) {
  g <- groups[[nm]]
  x <- g[c(1, 3)]; n <- g[c(2, 4)]
  m <- cbind(x, n - x)
  r <- prop.test(x, n, correct = FALSE)
  add(nm, "prop_test_uncorrected", m, r$statistic, r$parameter, r$p.value)
  r <- chisq.test(m, correct = FALSE)
  add(nm, "chisq_uncorrected", m, r$statistic, r$parameter, r$p.value)
  r <- chisq.test(m, correct = TRUE)
  add(nm, "chisq_corrected", m, r$statistic, r$parameter, r$p.value)
  r <- fisher.test(m)
  add(nm, "fisher", m, NA, NA, r$p.value, r$estimate)  # estimate: conditional MLE odds ratio
  group <- factor(c("I", "II"), levels = c("I", "II"))
  # tight convergence so that the reference is the MLE itself, not an early IRLS stop
  fit <- glm(cbind(x, n - x) ~ group, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
  co <- summary(fit)$coefficients["groupII", ]
  add(nm, "glm_wald", m, co["z value"], NA, co["Pr(>|z|)"], co["Estimate"])
}

# ---- a 2 x 3 table for the general Pearson chi-square
m <- matrix(c(10, 20, 30, 15, 25, 5), 2, byrow = TRUE)
r <- chisq.test(m)
add("two_by_three", "chisq_uncorrected", m, r$statistic, r$parameter, r$p.value)

out <- do.call(rbind, rows)
out$r_version <- paste(R.version$major, R.version$minor, sep = ".")
write.csv(out, file.path(out_dir, "proportions_reference.csv"), row.names = FALSE)
cat("wrote", nrow(out), "rows to", file.path(out_dir, "proportions_reference.csv"), "\n")
