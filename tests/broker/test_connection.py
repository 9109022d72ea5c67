"""How a failure to reach the broker or the result store is told (narrow, in-process: the end-to-end cases are in
tests/faults/test_secrets.py and tests/faults/test_rabbitmq.py): a refusal (trying again cannot help) only when the
client's exception says the server refused, never from words in a host name; what to fix never shows a password."""

from __future__ import annotations

import amqp.exceptions
import pytest
import redis.exceptions
from kombu.exceptions import OperationalError

from fgrid.broker import connection
from fgrid.config import Settings
from fgrid.errors import RefusedError, UnavailableError


def settings(broker: str) -> Settings:
    return Settings.from_env({"CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/0"})


def wrapped(exc: BaseException) -> OperationalError:
    """As kombu raises it: its OperationalError, raised from the client's own."""
    try:
        raise OperationalError(str(exc)) from exc
    except OperationalError as outer:
        return outer


@pytest.mark.parametrize(
    "broker, exc",
    [
        ("redis://:pw@127.0.0.1:6379/0", redis.exceptions.AuthenticationError("invalid username-password pair")),
        ("amqp://app:s3cret@rabbit:5672//", amqp.exceptions.AccessRefused("Login was refused using PLAIN")),
    ],
)
def test_a_refused_login_is_a_refusal_naming_the_variable(broker, exc):
    told = connection.unavailable(settings(broker), wrapped(exc))
    assert isinstance(told, RefusedError)
    assert told.fix == "the server refused the user or password: check them in CELERY_BROKER_URL"


def test_an_unknown_vhost_is_named_from_the_url_and_no_password_is_shown():
    told = connection.unavailable(
        settings("amqp://app:s3cret@rabbit:5672"), amqp.exceptions.NotAllowed("vhost / not found")
    )
    assert isinstance(told, RefusedError)
    assert told.fix is not None and told.fix.startswith("the virtual host '/' does not exist")
    assert "s3cret" not in str(told) + told.fix


@pytest.mark.parametrize(
    "broker, exc",
    [
        # RabbitMQ's answers for states that pass: a virtual host that is down, a connection limit reached.
        ("amqp://a:b@h/v", amqp.exceptions.NotAllowed("access to vhost 'v' refused for user 'a': vhost 'v' is down")),
        (
            "amqp://a:b@h/v",
            amqp.exceptions.NotAllowed("access to vhost 'v' refused for user 'a': connection limit (5) is reached"),
        ),
        # Words of a refusal in a host name: an outage all the same.
        (
            "redis://redis-noauth:6379/0",
            redis.exceptions.ConnectionError("Error 111 connecting to redis-noauth:6379. Connection refused."),
        ),
        ("amqp://a:b@vhost-refused/v", ConnectionRefusedError(111, "Connection refused")),
    ],
)
def test_what_passes_is_not_a_refusal(broker, exc):
    told = connection.unavailable(settings(broker), wrapped(exc))
    assert type(told) is UnavailableError, told
