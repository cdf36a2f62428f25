"""deploy/rabbitmq/definitions.json loaded into a private RabbitMQ node: the services' own users can run
the bus (declare the whole topology) and each may publish only its own event types."""

from __future__ import annotations

from collections.abc import Iterator

import aiormq
import pytest

from huiying.topology import DEFINITIONS, teams
from shared.bus import Bus
from shared.events import TaskDispatched, new_event
from shared.settings import Settings
from tests.integration.private_broker import PrivateBroker, available, make_private_broker
from tests.integration.test_bus_reliability import submitted

pytestmark = pytest.mark.skipif(not available(), reason="needs rabbitmq-server and rabbitmqctl on this machine")


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateBroker]:
    node = make_private_broker()
    try:
        done = node.ctl("import_definitions", str(DEFINITIONS))
        assert done.returncode == 0, done.stderr
        for service in ("intake", "routing"):
            node.ctl("change_password", f"huiying-{service}", f"{service}-secret")
        yield node
    finally:
        node.destroy()


def as_service(broker: PrivateBroker, service: str) -> Settings:
    url = f"amqp://huiying-{service}:{service}-secret@127.0.0.1:{broker.port}/huiying"
    # The policies came with the definitions: the services' users are not policymakers.
    return Settings(amqp_url=url, broker_policies="skip", mode="dev")


def task_dispatched() -> TaskDispatched:
    return TaskDispatched(
        request_id="r1",
        tracking_code="HY0000000000",
        status="dispatched",
        team={"id": "legal_aid", "name": {"en": "Legal aid"}},
        rule="legal@1",
    )


async def test_routing_may_publish_its_events_but_not_requests(broker: PrivateBroker) -> None:
    bus = Bus(as_service(broker, "routing"), producer="routing")
    await bus.connect()
    try:
        topology = await bus.declare_topology(teams())  # the whole topology, with routing's own rights
        assert "routing.request-events" in {q.name for q in topology.queues()}
        await bus.publish(new_event(task_dispatched(), producer="routing", seq=1))  # confirmed: its own type
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match=r"request\.submitted"):
            await bus.publish(submitted("impostor"))
    finally:
        await bus.close()


async def test_intake_may_publish_requests_but_not_task_events(broker: PrivateBroker) -> None:
    bus = Bus(as_service(broker, "intake"), producer="intake")
    await bus.connect()
    try:
        await bus.declare_topology()
        await bus.publish(submitted("genuine"))
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match=r"task\.dispatched"):
            await bus.publish(new_event(task_dispatched(), producer="intake", seq=1))
    finally:
        await bus.close()


def test_the_definitions_carry_the_queue_policies(broker: PrivateBroker) -> None:
    listing = broker.ctl("list_queues", "-p", "huiying", "name", "policy", "arguments", "--quiet").stdout
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in listing.splitlines() if "\t" in line}
    assert rows["routing.request-events"][0] == "routing.request-events"
    assert rows["notify.events.retry"][0] == "notify.events.retry"
    assert "delivery-limit" not in rows["routing.request-events"][1]  # a policy, not a queue argument
