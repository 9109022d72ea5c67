"""The matchup engine's fitted constants, per scoring and position (data, refit by
:func:`fgrid.analysis.backtest.fit_engine`; the terms they weigh are :data:`fgrid.analysis.matchup.engine.TERMS`).
"""

from __future__ import annotations

from typing import Any

#: Fitted constants, per scoring and position: usage weights (points per expected target, carry, air yard, pass
#: attempt), the intercept and coefficients of TERMS, the 10% and 90% quantiles of the log residuals (the 80%
#: interval), the START and FLEX point lines, and the spread across teams of the schedule-adjusted
#: points-allowed ratio (the matchup score's scale). Fit by :func:`fgrid.analysis.backtest.fit_engine` on the
#: 2019-2022 regular seasons (weeks 3-18; rows with 4+ earlier games and 5+ PPR points a game over the last 8):
#: usage weights by non-negative least squares, the rest by median (L1) regression of log(points + 3), small
#: terms shrunk by half and the intercept re-centred, interval quantiles from the same rows' residuals.
ENGINE: dict[str, dict[str, dict[str, Any]]] = {
    "ppr": {
        "QB": {
            "usage": {"exp_att": 0.38657, "exp_car": 0.96648},
            "intercept": 0.70447,
            "coef": {
                "recent": 0.36187, "long_run": 0.03614, "usage": 0.2105, "team_share": 0.15716,
                "implied": 0.10585, "missed_last": -0.3806, "missed_season": -0.01828, "trend": 0.00428,
                "defence": 0.16096, "home": 0.00719, "indoor": 0.01246, "wind": -0.00623,
                "cold": 0.00041, "short_rest": -0.00852, "long_rest": -0.0139,
            },
            "q10": -0.76442, "q90": 0.47687, "start": 16.632, "flex": 14.912,
            "def_scale": 0.10736, "debut": [1.9, 0.0, 17.2],
        },
        "RB": {
            "usage": {"exp_tgt": 1.30114, "exp_car": 0.65479, "exp_ay": 0.0},
            "intercept": -0.30404,
            "coef": {
                "recent": 0.06602, "long_run": 0.27406, "usage": 0.4942, "team_share": 0.24109,
                "implied": 0.11748, "missed_last": -0.1322, "missed_season": -0.02074, "trend": 0.09408,
                "defence": 0.23691, "home": 0.0036, "indoor": 0.00122, "wind": 0.00036,
                "cold": -0.00048, "short_rest": 0.02283, "long_rest": 0.02824,
            },
            "q10": -0.72603, "q90": 0.69634, "start": 9.596, "flex": 6.808,
            "def_scale": 0.11573, "debut": [2.4, 0.2, 12.2],
        },
        "WR": {
            "usage": {"exp_tgt": 1.53723, "exp_car": 1.08752, "exp_ay": 0.01361},
            "intercept": -0.17044,
            "coef": {
                "recent": 0.11344, "long_run": 0.41052, "usage": 0.4089, "team_share": 0.09615,
                "implied": 0.16358, "missed_last": -0.19083, "missed_season": -0.01635, "trend": -0.02302,
                "defence": 0.04093, "home": -0.00992, "indoor": 0.03781, "wind": -0.00427,
                "cold": 0.00161, "short_rest": 0.00404, "long_rest": -0.03721,
            },
            "q10": -0.80064, "q90": 0.68494, "start": 11.413, "flex": 9.533,
            "def_scale": 0.08488, "debut": [2.6, 0.0, 10.47],
        },
        "TE": {
            "usage": {"exp_tgt": 1.5821, "exp_car": 1.30353, "exp_ay": 0.01249},
            "intercept": 0.01148,
            "coef": {
                "recent": -0.24213, "long_run": 0.45263, "usage": 0.67078, "team_share": 0.09304,
                "implied": 0.38344, "missed_last": -0.0846, "missed_season": -0.01772, "trend": 0.07241,
                "defence": 0.07498, "home": -0.01009, "indoor": -0.00219, "wind": -0.00494,
                "cold": 0.00039, "short_rest": 0.01265, "long_rest": -0.06632,
            },
            "q10": -0.72121, "q90": 0.60898, "start": 7.833, "flex": 6.479,
            "def_scale": 0.13837, "debut": [1.7, 0.0, 7.3],
        },
    },
    "half": {
        "QB": {
            "usage": {"exp_att": 0.3866, "exp_car": 0.96405},
            "intercept": 0.76721,
            "coef": {
                "recent": 0.35147, "long_run": 0.07236, "usage": 0.17814, "team_share": 0.14369,
                "implied": 0.09576, "missed_last": -0.37827, "missed_season": -0.01917, "trend": 0.00231,
                "defence": 0.18023, "home": 0.00672, "indoor": 0.01038, "wind": -0.00648,
                "cold": 0.0002, "short_rest": -0.00396, "long_rest": -0.01543,
            },
            "q10": -0.77324, "q90": 0.4752, "start": 16.737, "flex": 14.988,
            "def_scale": 0.10746, "debut": [1.9, 0.0, 17.2],
        },
        "RB": {
            "usage": {"exp_tgt": 0.98312, "exp_car": 0.64199, "exp_ay": 0.0},
            "intercept": -0.3585,
            "coef": {
                "recent": 0.08541, "long_run": 0.20388, "usage": 0.54366, "team_share": 0.26072,
                "implied": 0.14086, "missed_last": -0.12566, "missed_season": -0.02092, "trend": 0.09071,
                "defence": 0.24283, "home": -0.00033, "indoor": -0.00169, "wind": 0.00142,
                "cold": -0.00047, "short_rest": 0.01996, "long_rest": 0.01099,
            },
            "q10": -0.69945, "q90": 0.71362, "start": 8.327, "flex": 5.87,
            "def_scale": 0.1257, "debut": [2.0, 0.2, 11.3],
        },
        "WR": {
            "usage": {"exp_tgt": 1.17177, "exp_car": 1.01281, "exp_ay": 0.01914},
            "intercept": -0.24699,
            "coef": {
                "recent": -0.01226, "long_run": 0.51977, "usage": 0.42022, "team_share": 0.12519,
                "implied": 0.17477, "missed_last": -0.18807, "missed_season": -0.01853, "trend": -0.01631,
                "defence": 0.01941, "home": -0.01005, "indoor": 0.03963, "wind": -0.00402,
                "cold": 0.00136, "short_rest": 0.00647, "long_rest": -0.04074,
            },
            "q10": -0.74228, "q90": 0.72129, "start": 9.055, "flex": 7.6,
            "def_scale": 0.09044, "debut": [2.0, 0.0, 8.64],
        },
        "TE": {
            "usage": {"exp_tgt": 1.22881, "exp_car": 1.28979, "exp_ay": 0.01621},
            "intercept": -0.1667,
            "coef": {
                "recent": -0.41044, "long_run": 0.60018, "usage": 0.73051, "team_share": 0.11284,
                "implied": 0.41654, "missed_last": -0.06091, "missed_season": -0.01159, "trend": 0.07627,
                "defence": 0.08914, "home": -0.01116, "indoor": -0.00124, "wind": -0.00542,
                "cold": -1e-05, "short_rest": 0.0151, "long_rest": -0.06747,
            },
            "q10": -0.65779, "q90": 0.65322, "start": 5.978, "flex": 4.893,
            "def_scale": 0.14978, "debut": [1.2, 0.0, 6.76],
        },
    },
    "standard": {
        "QB": {
            "usage": {"exp_att": 0.38662, "exp_car": 0.96162},
            "intercept": 0.86586,
            "coef": {
                "recent": 0.38121, "long_run": 0.04816, "usage": 0.11887, "team_share": 0.16346,
                "implied": 0.08532, "missed_last": -0.35782, "missed_season": -0.02003, "trend": 0.00239,
                "defence": 0.17717, "home": 0.00723, "indoor": 0.00835, "wind": -0.00654,
                "cold": 0.0002, "short_rest": -0.00558, "long_rest": -0.01561,
            },
            "q10": -0.7736, "q90": 0.47619, "start": 16.73, "flex": 14.977,
            "def_scale": 0.10757, "debut": [1.9, 0.0, 17.2],
        },
        "RB": {
            "usage": {"exp_tgt": 0.66511, "exp_car": 0.62919, "exp_ay": 0.0},
            "intercept": -0.42701,
            "coef": {
                "recent": 0.13563, "long_run": 0.10098, "usage": 0.64199, "team_share": 0.23658,
                "implied": 0.17669, "missed_last": -0.15134, "missed_season": -0.01377, "trend": 0.08743,
                "defence": 0.24151, "home": -0.00064, "indoor": 0.00407, "wind": 0.0021,
                "cold": -0.00044, "short_rest": 0.02258, "long_rest": -0.00107,
            },
            "q10": -0.67589, "q90": 0.75757, "start": 7.255, "flex": 4.955,
            "def_scale": 0.14035, "debut": [1.5, 0.2, 9.0],
        },
        "WR": {
            "usage": {"exp_tgt": 0.80631, "exp_car": 0.93811, "exp_ay": 0.02467},
            "intercept": -0.23669,
            "coef": {
                "recent": -0.0971, "long_run": 0.49796, "usage": 0.51126, "team_share": 0.12769,
                "implied": 0.23793, "missed_last": -0.17601, "missed_season": -0.01906, "trend": -0.01863,
                "defence": -0.02916, "home": -0.00753, "indoor": 0.03422, "wind": -0.00417,
                "cold": 0.00176, "short_rest": 0.00404, "long_rest": -0.04181,
            },
            "q10": -0.67466, "q90": 0.78374, "start": 6.655, "flex": 5.521,
            "def_scale": 0.10101, "debut": [1.4, 0.0, 6.74],
        },
        "TE": {
            "usage": {"exp_tgt": 0.87553, "exp_car": 1.27605, "exp_ay": 0.01992},
            "intercept": -0.28842,
            "coef": {
                "recent": -0.30915, "long_run": 0.51209, "usage": 0.76051, "team_share": 0.10115,
                "implied": 0.46374, "missed_last": -0.03079, "missed_season": -0.00325, "trend": 0.04626,
                "defence": 0.08426, "home": -0.0156, "indoor": 0.00354, "wind": -0.00567,
                "cold": 0.0006, "short_rest": 0.00683, "long_rest": -0.05259,
            },
            "q10": -0.5796, "q90": 0.72749, "start": 4.159, "flex": 3.292,
            "def_scale": 0.17113, "debut": [0.7, 0.0, 5.68],
        },
    },
}
