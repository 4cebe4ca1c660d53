"""Strategy drafts: a language model writes a strategy from a document; alphagate checks it.

The flow (:mod:`~alphagate.drafts.workflow`): the document's text
(:mod:`~alphagate.drafts.documents`) goes to an OpenAI-compatible model
(:mod:`~alphagate.drafts.llm_client`, :mod:`~alphagate.drafts.prompt`); the
module in its answer (:mod:`~alphagate.drafts.code`) passes the static check
(:mod:`~alphagate.drafts.safety`) before anything imports it, then runs in a
subprocess with a time limit and no network (:mod:`~alphagate.drafts.sandbox`,
:mod:`~alphagate.drafts.child`): import, look-ahead check, training backtest,
walk-forward windows, judged by :mod:`~alphagate.drafts.walk_forward`. One
repair round trip; then the draft is validated or discarded, with its
reasons, through the :class:`~alphagate.drafts.records.DraftRecorder` port.

This package's ``__init__`` imports nothing: the subprocess enters through
:mod:`alphagate.drafts.child`, which must block the network before anything
heavier is imported.
"""
