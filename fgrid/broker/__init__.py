"""Everything that knows which broker and result store serve fgrid: Redis, fgrid's files, or another transport.

The rest of fgrid asks these modules and never tests a URL's scheme itself (``Settings.broker_kind`` says which).

- :mod:`~fgrid.broker.connection`: reach the broker and the result store, or fail in one masked line.
- :mod:`~fgrid.broker.messages`: read a raw kombu message (its task id, its queue).
- :mod:`~fgrid.broker.queues`: what waits in each queue, take or remove messages, the view recovery uses;
  :mod:`~fgrid.broker.redis` and :mod:`~fgrid.broker.files` implement it for each kind.
- :mod:`~fgrid.broker.results`: read many tasks' stored states at once, follow one task's changes.
- :mod:`~fgrid.broker.transports` and :mod:`~fgrid.broker.backends`: fgrid's subclasses of kombu's transports and
  Celery's file result store, selected by the app's configuration.
"""
