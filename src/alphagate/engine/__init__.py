"""Ring 4: the kernel, a strategy's engine fed one event at a time, answering with commands.

:mod:`alphagate.engine.kernel` holds it; :mod:`alphagate.engine.market` the
bars it has seen; :mod:`alphagate.engine.declared_indicators` a strategy's
indicators, computed once and checked for look-ahead. Drivers that feed it
live in ring 5 (:mod:`alphagate.backtest.driver`, later ``live/``).
"""
