"""Sensitivity: does each conclusion survive other priors, likelihoods, structures and
missing-data mechanisms; and what could this design detect (calibration, power)."""
