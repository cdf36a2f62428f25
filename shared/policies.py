"""Putting the topology's policies in place through RabbitMQ's management HTTP API (plugin
`rabbitmq_management`, port 15672).

Why the HTTP API: AMQP has no operation for policies, and `rabbitmqctl` needs the broker's Erlang cookie
and node name, which a service in a container does not have. The API takes the same login as AMQP (the
user needs the `policymaker` tag). Where the services must not hold that right (Kubernetes, see
deploy/README.md), set `HUIYING_BROKER_POLICIES=skip` and load deploy/rabbitmq/definitions.json, which
carries the same policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from shared.redact import redact_url
from shared.settings import Settings, broker_login
from shared.topology import Policy


class PoliciesUnavailable(RuntimeError):
    """One line an operator can act on."""


@dataclass(frozen=True)
class Management:
    base_url: str
    user: str
    password: str
    vhost: str

    @classmethod
    def of(cls, settings: Settings) -> list[Management]:
        """One per broker node, in the order of HUIYING_AMQP_URL, each tried in turn (a cluster's first node
        may be the one that is down). HUIYING_AMQP_MANAGEMENT_URL, one URL or several comma-separated (one
        per node, in the same order), replaces the AMQP port + 10000 pairing."""
        given = [u.strip() for u in settings.amqp_management_url.split(",") if u.strip()]
        out = []
        for i, url in enumerate(settings.amqp_urls):
            parts = urlsplit(url)
            user, password = broker_login(url)
            vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
            if given:
                if i >= len(given):
                    break
                base = given[i]
            else:
                # RabbitMQ's own pairing (5672 -> 15672): a node on another AMQP port is never mistaken for
                # the machine's default broker, whose policies it would otherwise change.
                # A node past port 55535 cannot follow the pairing: it needs HUIYING_AMQP_MANAGEMENT_URL.
                port = (parts.port or 5672) + 10000
                if port > 65535:
                    continue
                base = f"http://{parts.hostname or '127.0.0.1'}:{port}/"
            out.append(cls(base.rstrip("/"), user, password, vhost))
        return out

    def _path(self, name: str = "") -> str:
        path = f"/api/policies/{quote(self.vhost, safe='')}"
        return f"{path}/{quote(name, safe='')}" if name else path

    def client(self, timeout_s: float = 10.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, auth=(self.user, self.password), timeout=timeout_s)


async def _first_answering(settings: Settings) -> tuple[Management, httpx.AsyncClient]:
    problems = []
    for node in Management.of(settings):
        client = node.client()
        try:
            r = await client.get("/api/overview")
        except httpx.HTTPError as exc:
            await client.aclose()
            problems.append(f"{redact_url(node.base_url)}: {type(exc).__name__}")
            continue
        if r.status_code == 200:
            return node, client
        await client.aclose()
        problems.append(f"{redact_url(node.base_url)}: HTTP {r.status_code}")
    raise PoliciesUnavailable(
        "cannot put the queue policies in place: RabbitMQ's management API does not answer ("
        + "; ".join(problems)
        + "); enable it with `rabbitmq-plugins enable rabbitmq_management`, or set HUIYING_BROKER_POLICIES=skip "
        "and load deploy/rabbitmq/definitions.json"
    )


async def apply_policies(settings: Settings, policies: list[Policy]) -> int:
    """Create or update `policies`; returns how many changed. Idempotent."""
    node, client = await _first_answering(settings)
    changed = 0
    try:
        current = await _current(node, client)
        for p in policies:
            body = {"pattern": p.pattern, "apply-to": p.apply_to, "definition": p.definition, "priority": p.priority}
            old = current.get(p.name)
            if old is not None and all(old.get(k) == v for k, v in body.items()):
                continue
            r = await client.put(node._path(p.name), json=body)
            if r.status_code not in (201, 204):
                raise PoliciesUnavailable(
                    f"RabbitMQ refused policy {p.name!r} (HTTP {r.status_code}: {r.text[:200]}); "
                    f"the user {node.user!r} needs the `policymaker` tag"
                )
            changed += 1
    finally:
        await client.aclose()
    return changed


async def _current(node: Management, client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    r = await client.get(node._path())
    if r.status_code != 200:
        raise PoliciesUnavailable(f"cannot list the policies of vhost {node.vhost!r} (HTTP {r.status_code})")
    return {p["name"]: p for p in r.json()}


async def current_policies(settings: Settings) -> dict[str, dict[str, Any]]:
    node, client = await _first_answering(settings)
    try:
        return await _current(node, client)
    finally:
        await client.aclose()


async def delete_policies(settings: Settings, prefix: str) -> list[str]:
    """Delete every policy of the vhost whose name starts with `prefix` (tests and benches clean up)."""
    if not prefix:
        raise ValueError("refusing to delete every policy: give a prefix")
    node, client = await _first_answering(settings)
    deleted = []
    try:
        for name in sorted(await _current(node, client)):
            if name.startswith(prefix):
                r = await client.delete(node._path(name))
                if r.status_code in (204, 404):
                    deleted.append(name)
    finally:
        await client.aclose()
    return deleted


async def queues_info(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every queue of the vhost as the management API shows it: arguments, policy, effective settings."""
    node, client = await _first_answering(settings)
    try:
        r = await client.get(f"/api/queues/{quote(node.vhost, safe='')}")
        if r.status_code != 200:
            raise PoliciesUnavailable(f"cannot list the queues of vhost {node.vhost!r} (HTTP {r.status_code})")
        return {q["name"]: q for q in r.json()}
    finally:
        await client.aclose()
