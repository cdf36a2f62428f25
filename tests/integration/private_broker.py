"""A private RabbitMQ node for tests that restart the broker, so other tests (and other people's
tests on this machine) keep their broker. The node itself lives in `huiying.chaos.broker` (the chaos
suite and `huiying cluster` use it too)."""

from huiying.chaos.broker import PrivateNode as PrivateBroker
from huiying.chaos.broker import available, make_private_broker

__all__ = ["PrivateBroker", "available", "make_private_broker"]
