# External reference values for tests/test_frequentist.py (R is not needed at test time).
#
# Run from the repository root after tests/data/make_mixed_reference.py:
#     Rscript tests/data/lme4_reference.R
# Measured with R 4.2.2 and lme4 1.1-31 (Debian bookworm: r-base-core, r-cran-lme4).
#
# Writes
#   tests/data/lme4_reference.csv    tidy: model, quantity, term, value
#     model    linear_corr, linear_uncorr, period_corr, period_uncorr, covariates_uncorr
#              (period_uncorr + age + site), boundary_uncorr (lme4_boundary_data.csv, singular
#              fit: slope SD 0), boundary_corr (the same data with a correlation, singular:
#              correlation -1), or lrt_corr / lrt_uncorr
#     quantity estimate, se, vcov (term "a|b"), sd (term sd_intercept / sd_slope / sd_residual),
#              corr, loglik, aic, bic, df, n_obs, n_groups; for lrt_*: chi2, df, p_value
#   tests/data/manova_reference.csv  term, pillai, f, num_df, den_df, p_value, p_bonferroni
#     (summary(manova(cbind(bsi, sipp, lpi) ~ g), test = "Pillai"), one fit per factor g)
suppressPackageStartupMessages(library(lme4))

out_dir <- "tests/data"
d <- read.csv(file.path(out_dir, "mixed_reference.csv"), stringsAsFactors = FALSE)
d$period <- factor(d$period, levels = c("I", "II"))

rename_terms <- function(x) {
  x <- sub("^\\(Intercept\\)$", "Intercept", x)
  x <- gsub("periodII", "period[II]", x, fixed = TRUE)
  sub("^site([A-Z])$", "site[\\1]", x)
}

# lme4's default tolerances stop early here (linear_corr: "Model failed to converge with
# max|grad| = 0.0119"; theta off by 1e-4 relative): tight nloptwrap tolerances reach the optimum
# that bobyqa with rhoend = 1e-12 also reaches (logLik equal to 1e-9).
tight <- list(xtol_rel = 1e-14, ftol_rel = 1e-14, ftol_abs = 1e-14, xtol_abs = 1e-14,
              maxeval = 1e5)
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = tight)
fits <- list(
  linear_corr = lmer(y ~ months + (months | patient_id), d, REML = FALSE, control = ctrl),
  linear_uncorr = lmer(y ~ months + (months || patient_id), d, REML = FALSE, control = ctrl),
  period_corr = lmer(y ~ months * period + (months | patient_id), d, REML = FALSE,
                     control = ctrl),
  period_uncorr = lmer(y ~ months * period + (months || patient_id), d, REML = FALSE,
                       control = ctrl),
  covariates_uncorr = lmer(y ~ months * period + age + site + (months || patient_id), d,
                           REML = FALSE, control = ctrl)
)

row <- function(model, quantity, term, value) {
  data.frame(model = model, quantity = quantity, term = term, value = value)
}

tidy_fit <- function(name, fit) {
  fe <- fixef(fit)
  v <- as.matrix(vcov(fit))
  terms <- rename_terms(names(fe))
  vc <- as.data.frame(VarCorr(fit))
  sds <- vc[is.na(vc$var2), ]
  sd_names <- ifelse(sds$grp == "Residual", "sd_residual",
                     ifelse(sds$var1 == "(Intercept)", "sd_intercept", "sd_slope"))
  ll <- logLik(fit)
  pairs <- expand.grid(i = seq_along(terms), j = seq_along(terms))
  out <- rbind(
    row(name, "estimate", terms, unname(fe)),
    row(name, "se", terms, sqrt(diag(v))),
    row(name, "vcov", paste(terms[pairs$i], terms[pairs$j], sep = "|"), v[cbind(pairs$i, pairs$j)]),
    row(name, "sd", sd_names, sds$sdcor),
    row(name, "loglik", "", as.numeric(ll)),
    row(name, "df", "", attr(ll, "df")),
    row(name, "aic", "", AIC(fit)),
    row(name, "bic", "", BIC(fit)),
    row(name, "n_obs", "", nobs(fit)),
    row(name, "n_groups", "", unname(ngrps(fit)[1]))
  )
  corr <- vc[!is.na(vc$var2), ]
  if (nrow(corr) > 0) out <- rbind(out, row(name, "corr", "corr", corr$sdcor))
  out
}

lrt <- function(name, small, big) {
  a <- anova(small, big)
  rbind(
    row(name, "chi2", "", a$Chisq[2]),
    row(name, "df", "", a$Df[2]),
    row(name, "p_value", "", a[["Pr(>Chisq)"]][2])
  )
}

# Boundary case: the ML slope SD is zero (lme4: "boundary (singular) fit").
b <- read.csv(file.path(out_dir, "lme4_boundary_data.csv"))
boundary <- lmer(y ~ months + (months || patient_id), b, REML = FALSE, control = ctrl)
stopifnot(isSingular(boundary))
boundary_corr <- lmer(y ~ months + (months | patient_id), b, REML = FALSE, control = ctrl)
stopifnot(isSingular(boundary_corr))

res <- do.call(rbind, c(
  Map(tidy_fit, names(fits), fits),
  list(tidy_fit("boundary_uncorr", boundary), tidy_fit("boundary_corr", boundary_corr)),
  list(lrt("lrt_corr", fits$linear_corr, fits$period_corr),
       lrt("lrt_uncorr", fits$linear_uncorr, fits$period_uncorr))
))
write.csv(res, file.path(out_dir, "lme4_reference.csv"), row.names = FALSE)
print(res[res$quantity %in% c("estimate", "sd", "corr", "loglik", "aic"), ], digits = 10)

# MANOVA (Pillai's trace) on one row per patient; Bonferroni over the two tests.
m <- read.csv(file.path(out_dir, "manova_data.csv"), stringsAsFactors = FALSE)
manova_row <- function(g) {
  m$g <- factor(m[[g]])
  fit <- manova(cbind(bsi, sipp, lpi) ~ g, data = m)
  s <- summary(fit, test = "Pillai")$stats
  data.frame(term = g, pillai = s[1, "Pillai"], f = s[1, "approx F"], num_df = s[1, "num Df"],
             den_df = s[1, "den Df"], p_value = s[1, "Pr(>F)"])
}
mv <- rbind(manova_row("period"), manova_row("site"))
mv$p_bonferroni <- p.adjust(mv$p_value, method = "bonferroni")
write.csv(mv, file.path(out_dir, "manova_reference.csv"), row.names = FALSE)
print(mv, digits = 10)
