"""Gates a candidate must pass, each recorded with its evidence.

``validation`` holds the checks of the research pipeline's validate stage;
``deflated_sharpe`` the selection-bias correction they use. The promotion
gates build on them: ``candidates`` (the state machine), ``thresholds``
(gate 1 by trial count) and ``grader`` (gate 3's A-F grade); the
orchestration that runs the engines is ``app.gates``. This ring sits beside ``pipeline``:
it may read features, models and metrics, never the composition modules.
"""
