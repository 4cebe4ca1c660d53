"""Ring 7: the edges to the outside world (databases, journals, brokers, tracking servers).

Everything here implements a port of :mod:`alphagate.ports` or stores what
the rings below produce; only :mod:`alphagate.app` picks which adapter runs.
"""
