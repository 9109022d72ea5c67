"""What the CLI and the HTTP API both do, written once: check requests against the data, submit tasks, read and
wait for their state, operate on tasks, watch queues and workers, check health, start workers.

- :mod:`~fgrid.service.resolve`: a request checked against the synced data, as the task's kwargs.
- :mod:`~fgrid.service.lifecycle`: submit one task, read its state, wait for it.
- :mod:`~fgrid.service.operations`: the task index, cancel, retry, purge.
- :mod:`~fgrid.service.monitor`: queues, workers, ``fgrid top``'s dashboard.
- :mod:`~fgrid.service.health`: ``fgrid doctor`` and the API's health probe.
- :mod:`~fgrid.service.backtest`: a backtest run in this process.
- :mod:`~fgrid.service.workers`: start and stop workers.
"""
