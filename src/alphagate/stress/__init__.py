"""Stress testing: seeded economic scenarios a candidate is traded through.

The generator lives in :mod:`alphagate.stress.scenarios` (specs, the default
library, ``build``) with one module per family under
:mod:`alphagate.stress.families`; :mod:`alphagate.stress.monte_carlo` gives
the drawdown distribution of a trade list; :mod:`alphagate.stress.plots`
describes and draws a scenario. Nothing is imported here, so that importing
a submodule does not pull in ``arch`` and ``scipy`` for the others.
"""
