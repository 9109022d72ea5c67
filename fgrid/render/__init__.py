"""Pure Rich views: data in, renderables out. No I/O and no loops; the commands refresh them.

- :mod:`~fgrid.render.text`: what every view shares: plain text, states, verdicts, numbers, durations, ages.
- :mod:`~fgrid.render.tasks`: tasks being followed, a task's status, the task index, a cancellation.
- :mod:`~fgrid.render.results`: the view of a task's result, chosen by its shape.
- :mod:`~fgrid.render.analysis`: matchup analyses, rankings, backtests.
- :mod:`~fgrid.render.ai`: trained models, predictions, grades, slates.
- :mod:`~fgrid.render.data`: the effective settings and the synced data.
- :mod:`~fgrid.render.monitor`: queues, workers, the doctor's checks, the ``fgrid top`` dashboard.
"""
