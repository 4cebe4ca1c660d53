"""Gates a candidate must pass, each recorded with its evidence.

``validation`` holds the checks of the research pipeline's validate stage;
``deflated_sharpe`` the selection-bias correction they use. Later gates
(stress, paper, live) join them here. This ring sits beside ``pipeline``:
it may read features, models and metrics, never the composition modules.
"""
