# lme4's refusal of too few observations for a random intercept and slope per patient, the
# outside reference for tests/io/test_requirements.py::test_more_values_than_twice_the_patients.
# 10 patients (5 per period) with nv values each, 10 patients with one value.
# Run: Rscript tests/data/lme4_identifiability.R   (lme4 1.1-31 printed:)
#   2 30 number of observations (=30) <= number of random effects (=40) for term (months | id); ...
#   3 40 number of observations (=40) <= number of random effects (=40) for term (months | id); ...
#   4 50 fitted
suppressMessages(library(lme4))
make <- function(nv) {
  rows <- list()
  for (p in c(paste0("a", 1:5), paste0("b", 1:5)))
    for (k in seq_len(nv))
      rows[[length(rows) + 1]] <- data.frame(id = p, period = ifelse(substr(p, 1, 1) == "a", "I", "II"),
                                             months = 6 * (k - 1), bsi = k)
  for (i in 1:10)
    rows[[length(rows) + 1]] <- data.frame(id = paste0("c", i), period = ifelse(i %% 2 == 1, "II", "I"),
                                           months = 0, bsi = 1)
  do.call(rbind, rows)
}
for (nv in c(2, 3, 4)) {
  d <- make(nv)
  r <- tryCatch({
    suppressWarnings(lmer(bsi ~ months * period + (months | id), data = d, REML = FALSE))
    "fitted"
  }, error = function(e) conditionMessage(e))
  cat(nv, nrow(d), r, "\n")
}

# lme4 counts random effects per term: (months || id) is two terms of one effect per patient,
# so 30 values of 20 patients are fitted; (months | id) has 40 effects in one term and is
# refused (the reference for tests/frequentist/test_mixed.py::
# test_observations_per_random_effect_as_lme4). lme4 1.1-31 printed:
#   30 (months || id) fitted
#   30 (months | id) number of observations (=30) <= number of random effects (=40) for term (months | id); ...
set.seed(1)
d <- data.frame(id = factor(c(1:20, 1:10)), months = c(rep(0, 20), rep(6, 10)), bsi = rnorm(30))
for (bar in c("||", "|")) {
  r <- tryCatch({
    suppressWarnings(suppressMessages(lmer(as.formula(paste0("bsi ~ months + (months ", bar, " id)")),
                                           data = d, REML = FALSE)))
    "fitted"
  }, error = function(e) conditionMessage(e))
  cat(nrow(d), paste0("(months ", bar, " id)"), r, "\n")
}
