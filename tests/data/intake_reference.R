# Reference values for tests/compare/test_intake.py, computed with base R (stats only) from
# the bundled synthetic register, independently of the package: each patient's intake values,
# and the baseline of a measure as the patient's first recorded value when it lies at or before
# month 3. Run:  Rscript tests/data/intake_reference.R   (writes intake_reference.csv beside it)
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script) == 1) dirname(normalizePath(script)) else "."
reg <- read.csv(file.path(here, "..", "..", "src", "mbtbayes", "resources",
                          "synthetic_register.csv"), stringsAsFactors = FALSE)
reg <- reg[order(reg$patient_id, reg$months), ]
patients <- reg[!duplicated(reg$patient_id), ]
measures <- c("bsi", "cip", "wsas", "gaf", "sipp_self_control", "sipp_identity",
              "sipp_responsibility", "sipp_relational", "sipp_social_concordance", "eq_vas")
for (m in measures) {
  seen <- reg[!is.na(reg[[m]]), ]
  first <- seen[!duplicated(seen$patient_id), ]
  first <- first[first$months <= 3, ]
  patients[[m]] <- first[[m]][match(patients$patient_id, first$patient_id)]
}
period <- factor(patients$period, levels = c("I", "II"))
rows <- list()
add <- function(name, test, statistic, df, p_value) {
  rows[[length(rows) + 1]] <<- data.frame(characteristic = name, test = test,
    statistic = unname(statistic), df = unname(df), p_value = unname(p_value))
}
for (v in c("gender", "occupation", "substance_use", "aggression", "self_harm_start",
            "suicide_attempt_start", "self_harm_lifetime", "suicide_attempt_lifetime")) {
  tab <- table(patients[[v]], period)
  tab <- tab[rowSums(tab) > 0, , drop = FALSE]
  res <- chisq.test(tab, correct = FALSE)
  add(v, "chisq", res$statistic, res$parameter, res$p.value)
}
continuous <- c("age", "bpd_criteria", measures)
for (v in continuous) {
  res <- t.test(patients[[v]][period == "II"], patients[[v]][period == "I"])  # Welch
  add(v, "welch", res$statistic, res$parameter, res$p.value)
}
fit <- manova(as.matrix(patients[, continuous]) ~ period)
s <- summary(fit, test = "Pillai")$stats
add("manova", "pillai", s[1, "Pillai"], s[1, "num Df"], s[1, "Pr(>F)"])
add("manova_n", "complete_cases", sum(complete.cases(patients[, continuous])), NA, NA)
write.csv(do.call(rbind, rows), file.path(here, "intake_reference.csv"), row.names = FALSE)
