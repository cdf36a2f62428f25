"""The versioned routing rules: read them (supervisors, admins), publish a new version (admin), and try where
a request would go (a dry run)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.routing.api.deps import ContainerDep, CurrentActor, require
from services.routing.domain.errors import Invalid
from services.routing.domain.rules import VULNERABILITIES, RoutingInput, RuleSet, decide
from services.routing.domain.teams import normalize_building
from services.routing.rulestore import StaleVersion

router = APIRouter(prefix="/v1", tags=["rules"])


class RulesEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_version: int = Field(
        ge=1, le=1_000_000_000, description="the version you edited (GET /v1/rules); a stale one gets 409"
    )
    note: str | None = Field(None, max_length=500)
    rules: RuleSet


# Bounds on what a client may send (a preview with 300,000 attributes must not take seconds).
AttributeCode = Annotated[str, StringConstraints(max_length=64)]
AttributeAnswer = (
    Annotated[str, StringConstraints(max_length=500)]
    | Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=20)]
)


class Preview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_code: str = Field(min_length=1, max_length=60)
    description: str = Field("", max_length=4000)
    building: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=300)
    attributes: dict[AttributeCode, AttributeAnswer] = Field(
        {}, max_length=50, description="answers by question code: at most 50, each a text or up to 20 choices"
    )
    vulnerability: list[str] = Field(
        [], max_length=len(VULNERABILITIES), description=f"any of {', '.join(VULNERABILITIES)}"
    )
    version: int | None = Field(None, ge=1, le=1_000_000_000, description="a stored version (default: the current one)")
    rules: RuleSet | None = Field(None, description="unsaved rules to try instead")


@router.get("/rules", summary="The current routing rules (supervisors, admins)")
async def current_rules(actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    return (await container.rules.current(container.clock())).body()


@router.get("/rules/versions", summary="Every version of the rules")
async def rule_versions(actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    return {"versions": await container.rules.versions()}


@router.get("/rules/versions/{version}", summary="One version of the rules")
async def rule_version(
    version: Annotated[int, Path(ge=1, le=1_000_000_000)], actor: CurrentActor, container: ContainerDep
) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    found = await container.rules.get(version)
    if found is None:
        raise HTTPException(404, f"no rules version {version}")
    return found.body()


@router.put("/rules", summary="Publish a new version of the rules (admin)", status_code=201)
async def publish_rules(body: RulesEdit, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    problems = body.rules.problems(container.config.directory)
    if problems:
        field, message = problems[0]
        raise Invalid(f"rules.{field}", message + "; teams and grids are those of GET /v1/teams")
    try:
        version = await container.rules.publish(
            body.base_version, body.rules, actor.username, body.note, container.clock()
        )
    except StaleVersion as exc:
        raise HTTPException(409, f"{exc}; reload GET /v1/rules and apply your edit to version {exc.current}") from exc
    return version.body()


@router.post("/rules/preview", summary="Where would this request go? (a dry run, nothing stored)")
async def preview(body: Preview, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    directory, rule_store = container.config.directory, container.rules
    if body.rules is not None:
        problems = body.rules.problems(directory)
        if problems:
            raise Invalid(f"rules.{problems[0][0]}", problems[0][1])
        rules, version = body.rules, 0
    else:
        stored = await (rule_store.get(body.version) if body.version else rule_store.current(container.clock()))
        if stored is None:
            raise Invalid("version", f"no rules version {body.version}")
        rules, version = stored.rules, stored.version
    building = normalize_building(body.building, body.address)
    grid = directory.grid_of(building)
    decision = decide(
        RoutingInput(body.service_code, body.description, building, grid, body.attributes, tuple(body.vulnerability)),
        rules,
        version,
        directory,
    )
    limits = container.config.policy.limits_for(
        body.service_code, decision.priority, body.description, dict(body.attributes)
    )
    return {
        "team_id": decision.team_id,
        "team_rule": decision.team_rule,
        "priority": decision.priority,
        "priority_rules": list(decision.priority_rules),
        "building": building,
        "grid": grid,
        "sla": {"rule": limits.rule, "claim": limits.claim.describe(), "handle": limits.handle.describe()},
    }
