#!/usr/bin/env bash
# Install R + brms (rstan backend) from Debian bookworm packages, as root, and make rstan find Boost.
# Idempotent. Tested on Debian 12 (bookworm): R 4.2.2, brms 2.18.0, rstan 2.21.7, StanHeaders 2.21.0-7, BH 1.74.0-2.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends r-base-core r-cran-lme4 r-cran-brms r-cran-rstan
# (libboost-dev 1.74 comes in as a dependency of r-cran-bh; named here in case it ever does not)
apt-get install -y --no-install-recommends libboost-dev
# rstan looks for Boost at system.file("include", package = "BH") (rstan_options("boost_lib"));
# Debian's r-cran-bh ships no include/ folder, so stan_model() stops with
# "Boost not found; call install.packages('BH')". Point BH/include/boost at the system Boost:
BH_DIR=$(Rscript -e 'cat(find.package("BH"))')          # /usr/lib/R/site-library/BH
mkdir -p "$BH_DIR/include"
ln -sfn /usr/include/boost "$BH_DIR/include/boost"
# check: rstan sees Boost, and a tiny brms model compiles and samples
Rscript -e 'stopifnot(file.exists(rstan::rstan_options("boost_lib")))'
Rscript -e 'suppressPackageStartupMessages(library(brms)); d <- data.frame(y = rnorm(40), x = rnorm(40), g = rep(1:8, each = 5)); f <- brm(y ~ x + (1 | g), data = d, chains = 2, iter = 400, cores = 2, backend = "rstan", seed = 1, refresh = 0); print(fixef(f))'
