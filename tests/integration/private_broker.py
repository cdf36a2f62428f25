"""A private RabbitMQ node for tests that restart the broker, so other tests (and other people's
tests on this machine) keep their broker. The node itself lives in `huiying.cluster` (the chaos
suite and `huiying cluster` use it too)."""

from huiying.cluster import PrivateNode as PrivateBroker
from huiying.cluster import available, make_private_broker

__all__ = ["PrivateBroker", "available", "make_private_broker"]
