"""shared/topology.py: one declaration that covers every event, every consumer, and policies that touch only
the queues they are made for; the broker settings' rules (several nodes, no guest in prod)."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from services.intake.bootstrap import QUEUE as INTAKE_QUEUE
from services.notify.handlers import QUEUE as NOTIFY_QUEUE
from services.routing.domain.workitems import KINDS
from services.routing.handlers import REQUEST_EVENTS, WORK_EVENTS
from services.routing.servicedays import SIGNUP_EVENTS
from shared.events import event_types
from shared.settings import Settings
from shared.topology import CONSUMER_QUEUES, PRIVACY_ANSWERS, PRIVACY_REQUESTS, PUBLISHES, Topology, topic_matches
from tests.support import PROD_SECRETS


def topology(prefix: str = "", teams: tuple[str, ...] = ()) -> Topology:
    return Topology.of(Settings(queue_prefix=prefix, events_exchange=f"{prefix}huiying.events"), teams=teams)


def test_every_event_type_reaches_at_least_one_consumer_queue() -> None:
    t = topology()
    unrouted = [name for name in event_types() if not t.routes(name)]
    assert unrouted == [], "an event nobody binds would end in huiying.unroutable"


def test_every_published_event_type_belongs_to_exactly_one_producer() -> None:
    for name in event_types():
        owners = [s for s, keys in PUBLISHES.items() if any(topic_matches(k, name) for k in keys)]
        if name in PRIVACY_ANSWERS:  # every service answers a privacy request with its own part (its `producer`)
            assert owners == ["intake", "routing", "notify"], (name, owners)
            continue
        assert len(owners) == 1, (name, owners)


def test_the_services_consume_the_queues_the_topology_declares_with_its_keys() -> None:
    t = topology()
    assert {c.name for c in CONSUMER_QUEUES} >= {INTAKE_QUEUE, NOTIFY_QUEUE, "routing.request-events"}
    # The resident's additions (request.supplemented) become work items too (services/routing/handlers.py).
    assert set(t.consumer("routing.work-items").keys) == set(WORK_EVENTS) == {*KINDS, "request.supplemented"}
    # service days: intake's sign-ups ride on routing's request-events queue (services/routing/servicedays.py)
    assert (
        t.consumer("routing.request-events").keys == REQUEST_EVENTS + SIGNUP_EVENTS + PRIVACY_REQUESTS + PRIVACY_ANSWERS
    )
    # staff.changed reaches intake's and notify's read models of staff accounts
    assert {q.split(".")[0] for q in t.routes("staff.changed")} == {"intake", "notify"}


def test_queues_have_retry_and_dead_letter_queues_and_teams_their_work_queues() -> None:
    names = {q.name for q in topology("p-", teams=("legal", "health")).queues()}
    for consumer in CONSUMER_QUEUES:
        assert {f"p-{consumer.name}", f"p-{consumer.name}.retry", f"p-{consumer.name}.dlq"} <= names
    assert {"p-work.legal", "p-work.legal.dlq", "p-work.health", "p-huiying.unroutable"} <= names


def test_each_policy_matches_its_own_queue_and_no_other_prefixs_or_queues() -> None:
    mine, other = topology("hyt1-a-", teams=("legal",)), topology("hyt1-ab-", teams=("legal",))
    production = topology(teams=("legal",))
    every_name = [q.name for t in (mine, other, production) for q in t.queues()]
    for policy in mine.policies():
        if policy.apply_to == "exchanges":
            continue
        matched = [n for n in every_name if re.search(policy.pattern, n)]
        assert matched == [policy.name], policy  # one queue, named like the policy
        assert policy.name.startswith("hyt1-a-")


def test_policies_carry_the_settings_not_the_queues() -> None:
    t = Topology.of(Settings(delivery_limit=7, retry_delay_ms=1234), teams=["legal"])
    by_name = {p.name: p.definition for p in t.policies()}
    assert by_name["routing.request-events"]["delivery-limit"] == 7
    assert by_name["routing.request-events"]["dead-letter-routing-key"] == "routing.request-events"
    assert by_name["routing.request-events.retry"] == {
        "dead-letter-exchange": "",
        "dead-letter-routing-key": "routing.request-events",
        "dead-letter-strategy": "at-least-once",
        "overflow": "reject-publish",
        "message-ttl": 1234,
    }
    assert by_name["work.legal"]["dead-letter-exchange"] == "huiying.work.dlx"
    assert by_name["huiying.events"] == {"alternate-exchange": "huiying.unroutable"}
    assert "routing.request-events.dlq" not in by_name  # a DLQ keeps what it gets


def test_the_broker_url_may_list_several_nodes() -> None:
    s = Settings(amqp_url=" amqp://a:b@n1:5672/v , amqp://a:b@n2:5672/v")
    assert s.amqp_urls == ["amqp://a:b@n1:5672/v", "amqp://a:b@n2:5672/v"]
    with pytest.raises(ValidationError, match="not an amqp"):
        Settings(amqp_url="http://n1:5672/")


def test_prod_refuses_the_guest_broker_login_and_dev_keeps_it() -> None:
    assert Settings(mode="dev").amqp_urls == ["amqp://guest:guest@127.0.0.1:5672/"]
    secrets = {k: v for k, v in PROD_SECRETS.items() if k != "amqp_url"}
    for url in ("amqp://guest:guest@10.0.0.5:5672/", "amqp://10.0.0.5:5672/", "amqp://u:p@n1/,amqp://n2/"):
        with pytest.raises(ValidationError, match="guest"):
            Settings(mode="prod", amqp_url=url, **secrets)
    assert Settings(mode="prod", amqp_url="amqp://huiying-intake:s3cret@n1:5672/huiying", **secrets)


def test_huiying_topology_show_and_definitions_check(capsys: pytest.CaptureFixture[str]) -> None:
    from huiying.cli import main

    assert main(["topology", "show"]) == 0
    shown = capsys.readouterr().out
    assert "routing.request-events  <- huiying.events:request.submitted" in shown
    assert "work.legal_aid" in shown and "huiying.unroutable" in shown
    assert main(["topology", "definitions", "--check"]) == 0


def test_huiying_topology_apply_without_a_broker_says_what_to_do_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from huiying.cli import main
    from tests.support import free_port

    port = free_port()
    monkeypatch.setenv("HUIYING_AMQP_URL", f"amqp://guest:guest@127.0.0.1:{port}/")
    monkeypatch.setenv("HUIYING_AMQP_MANAGEMENT_URL", f"http://127.0.0.1:{port}/")
    assert main(["topology", "apply"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "rabbitmq_management" in err and "Traceback" not in err


def test_the_management_api_of_every_node_is_tried_in_the_order_of_the_amqp_list() -> None:
    from shared.policies import Management

    nodes = "amqp://u:p@10.0.0.1:5672/,amqp://u:p@10.0.0.2:5672/,amqp://u:p@10.0.0.3:60000/"
    paired = Management.of(Settings(amqp_url=nodes))
    # RabbitMQ's pairing (AMQP port + 10000); a node past 55535 cannot follow it and is left out.
    assert [m.base_url for m in paired] == ["http://10.0.0.1:15672", "http://10.0.0.2:15672"]
    given = "http://127.0.0.1:20001/,http://127.0.0.1:20002/,http://127.0.0.1:20003/"
    listed = Management.of(Settings(amqp_url=nodes, amqp_management_url=given))
    assert [m.base_url for m in listed] == [u.rstrip("/") for u in given.split(",")]
    assert {(m.user, m.password) for m in listed} == {("u", "p")}
    one = Management.of(Settings(amqp_url=nodes, amqp_management_url="http://mgmt:15672/"))
    assert [m.base_url for m in one] == ["http://mgmt:15672"]
