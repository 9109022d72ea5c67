"""Nothing lost: the ledger of submitted tasks, the sweep that restores or republishes what killed workers took with
them, chord upkeep, and the consumer bootstep that runs the sweep in every worker.

- :mod:`~fgrid.recovery.ledger`: record a task, then publish it (one function); look tasks up.
- :mod:`~fgrid.recovery.sweep`: one recovery pass over the broker, the heartbeats and the ledger.
- :mod:`~fgrid.recovery.chords`: finish a killed chord part's count.
- :mod:`~fgrid.recovery.bootstep`: the worker's thread (heartbeats and passes) as a consumer bootstep.
"""
