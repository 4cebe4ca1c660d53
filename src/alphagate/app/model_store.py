"""Trained runs in a runs folder, served as online predictors: the ``ModelStore`` port.

A paper or live run names a trained run; this store finds its models and
calibrators and builds the :class:`~alphagate.models.online.OnlinePredictor`
that computes the run's features and predictions bar by bar. The folder
layout is read by :func:`~alphagate.app.model_backtest.load_trained_run`
alone, so the store follows whatever owns that layout.
"""

from __future__ import annotations

from pathlib import Path

from alphagate.app.model_backtest import load_trained_run, online_predictor
from alphagate.config import Settings
from alphagate.errors import AlphagateError
from alphagate.models.online import OnlinePredictor


class RunFolderModelStore:
    """The trained runs under one runs folder, made by ``alphagate train`` or ``pipeline run``.

    Parameters
    ----------
    runs_dir
        The folder that holds one folder per run.
    settings
        The settings the runs were trained with: their feature profile and
        calendar rebuild the features the models expect.
    """

    def __init__(self, runs_dir: Path, settings: Settings) -> None:
        self._runs_dir = runs_dir
        self._settings = settings

    def predictor(self, run_id: str) -> OnlinePredictor:
        """Run ``run_id``'s models and calibrators, computing predictions online.

        Raises
        ------
        AlphagateError
            When the run, or one of its horizons' files, is missing.
        """
        try:
            trained = load_trained_run(self._runs_dir, run_id)
        except FileNotFoundError as error:
            raise AlphagateError(
                f"run {run_id!r} has no trained models in {self._runs_dir} ({error.filename} "
                "is missing); train it with `alphagate train` or pass the runs folder it is in"
            ) from None
        return online_predictor(self._settings, trained)
