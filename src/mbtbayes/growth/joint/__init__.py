"""The joint growth model of several outcomes (issue 12): one model for the four clinical
outcomes, period effects partially pooled, patient effects correlated across outcomes.

Modules: :mod:`~mbtbayes.growth.joint.data` (standardisation, padding, missingness patterns),
:mod:`~mbtbayes.growth.joint.kernel` (the marginal likelihood and its gradient in numba),
:mod:`~mbtbayes.growth.joint.ops` (the kernel as PyTensor Ops), :mod:`~mbtbayes.growth.joint.model`
(the PyMC graph), :mod:`~mbtbayes.growth.joint.fit` (``fit_joint``, behind the gate) and
:mod:`~mbtbayes.growth.joint.summaries` (``joint_model.csv``, the LOO comparison).
"""
