"""The learned model of the ``ai`` queue: the 10th, 50th and 90th percentiles of a player's fantasy points in a game.

- :mod:`~fgrid.analysis.model.feature_matrix`: the features of every player-game (the engine's and the model's own).
- :mod:`~fgrid.analysis.model.trained`: a trained model and how it predicts rows (projection and 80% interval).
- :mod:`~fgrid.analysis.model.training`: training, validation on a held-out season, calibration.
- :mod:`~fgrid.analysis.model.registry`: saving, listing and loading models in ``models_dir``.
- :mod:`~fgrid.analysis.model.prediction`: one matchup's projection and grade, grades of several, a week's slate.
- :mod:`~fgrid.analysis.model.explain`: the top factors behind a prediction.

The package exposes what callers use (``from fgrid.analysis import model as ai``).
"""

from fgrid.analysis.model.prediction import grade, predict, predict_slate
from fgrid.analysis.model.registry import list_models, load_model, save
from fgrid.analysis.model.trained import TrainedModel
from fgrid.analysis.model.training import backtest_predictor, train

__all__ = [
    "TrainedModel",
    "backtest_predictor",
    "grade",
    "list_models",
    "load_model",
    "predict",
    "predict_slate",
    "save",
    "train",
]
