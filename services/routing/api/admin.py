"""Teams, the lifecycle's vocabulary, staff accounts (admin) and the versioned routing rules (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.routing import lifecycle as lc
from services.routing.api.deps import Accounts, AdminOrToken, CurrentActor, Service, require
from services.routing.domain import STATUSES, Invalid
from services.routing.rules import PRIORITIES, VULNERABILITIES, RoutingInput, RuleSet, decide
from services.routing.rulestore import StaleVersion
from services.routing.staff import NewStaff, StaffPatch, team_problem
from services.routing.teams import normalize_building
from services.routing.views import PRIORITY_LABELS, STATUS_LABELS

router = APIRouter(prefix="/v1")


def _hours(hours: Any) -> list[str] | None:
    return [f"{a:%H:%M}-{b:%H:%M}" for a, b in hours] if hours else None


@router.get("/teams", summary="The staff teams, the areas they serve and their working hours", tags=["teams"])
async def list_teams(request: Request) -> dict[str, Any]:
    svc = request.app.state.service
    directory, calendar = svc.directory, svc.calendar
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    teams = []
    for t in directory.teams:
        team_calendar = directory.calendar(t.id, calendar)
        teams.append(
            {
                "id": t.id,
                "name": t.name,
                "serves": "all"
                if t.serves.all
                else {"grids": sorted(t.serves.grids), "buildings": sorted(t.serves.buildings)},
                "hours": _hours(team_calendar.hours),
                "days": [days[d] for d in sorted(team_calendar.workdays)],
                "assignment": t.assignment,
                "work_queue": svc.relay.bus.work_queue_name(t.id),
            }
        )
    grids = [{"id": g.id, "name": g.name, "buildings": list(g.buildings)} for g in directory.areas.grids]
    return {"teams": teams, "grids": grids, "timezone": calendar.timezone}


@router.get(
    "/lifecycle", summary="Statuses, actions (who, from which status), reasons: labels in zh-CN and en", tags=["tasks"]
)
async def lifecycle_vocabulary() -> dict[str, Any]:
    return {
        "statuses": [{"id": s, "label": STATUS_LABELS[s]} for s in STATUSES],
        "actions": [
            {"id": s.name, "label": s.label, "roles": list(s.roles), "from": sorted(s.statuses)}
            for s in lc.SPECS.values()
        ],
        "return_reasons": [{"id": k, "label": v} for k, v in lc.RETURN_REASONS.items()],
        "not_accept_reasons": [{"id": k, "label": v} for k, v in lc.NOT_ACCEPT_REASONS.items()],
        "priorities": [{"id": p, "label": PRIORITY_LABELS[p]} for p in reversed(PRIORITIES)],
    }


# -- staff ----------------------------------------------------------------------------------------------------


@router.get("/staff", summary="Staff accounts (members and leads: their own team)", tags=["staff"])
async def list_staff(actor: CurrentActor, accounts: Accounts, team: str | None = None) -> dict[str, Any]:
    if not actor.sees_everything:
        team = actor.team
    people = await accounts.list(team)
    return {"staff": [p.public(with_contact=actor.role == "admin") for p in people]}


@router.post("/staff", summary="Create a staff account (admin, or X-Admin-Token for the first admin)", status_code=201,
             tags=["staff"])  # fmt: skip
async def create_staff(body: NewStaff, request: Request, accounts: Accounts, by: AdminOrToken) -> dict[str, Any]:
    problem = team_problem(body.role, body.team, request.app.state.service.directory)
    if problem:
        raise Invalid(*problem)
    account = await accounts.create(body, request.app.state.clock())
    if account is None:
        raise HTTPException(409, f"username {body.username!r} is taken")
    return account.public(with_contact=True)


@router.patch("/staff/{username}", summary="Change a staff account (admin)", tags=["staff"])
async def update_staff(
    username: str, body: StaffPatch, request: Request, accounts: Accounts, by: AdminOrToken
) -> dict[str, Any]:
    current = await accounts.get(username)
    if current is None:
        raise HTTPException(404, f"no staff account {username!r}")
    fields = body.model_dump(exclude_unset=True)
    role = fields.get("role", current.role)
    team = fields["team"] if "team" in fields else current.team
    problem = team_problem(role, team, request.app.state.service.directory)
    if problem:
        raise Invalid(*problem)
    account = await accounts.update(username, body, request.app.state.clock())
    assert account is not None
    return account.public(with_contact=True)


# -- rules ----------------------------------------------------------------------------------------------------


class RulesEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_version: int = Field(
        ge=1, le=1_000_000_000, description="the version you edited (GET /v1/rules); a stale one gets 409"
    )
    note: str | None = Field(None, max_length=500)
    rules: RuleSet


class Preview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_code: str = Field(min_length=1, max_length=60)
    description: str = Field("", max_length=4000)
    building: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=300)
    attributes: dict[str, str | list[str]] = {}
    vulnerability: list[str] = Field([], description=f"any of {', '.join(VULNERABILITIES)}")
    version: int | None = Field(None, ge=1, le=1_000_000_000, description="a stored version (default: the current one)")
    rules: RuleSet | None = Field(None, description="unsaved rules to try instead")


@router.get("/rules", summary="The current routing rules (supervisors, admins)", tags=["rules"])
async def current_rules(request: Request, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    return (await svc.rules.current(request.app.state.clock())).body()


@router.get("/rules/versions", summary="Every version of the rules", tags=["rules"])
async def rule_versions(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    return {"versions": await svc.rules.versions()}


@router.get("/rules/versions/{version}", summary="One version of the rules", tags=["rules"])
async def rule_version(
    version: Annotated[int, Path(ge=1, le=1_000_000_000)], actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    found = await svc.rules.get(version)
    if found is None:
        raise HTTPException(404, f"no rules version {version}")
    return found.body()


@router.put("/rules", summary="Publish a new version of the rules (admin)", status_code=201, tags=["rules"])
async def publish_rules(body: RulesEdit, request: Request, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    require(actor, "admin")
    problems = body.rules.problems(svc.directory)
    if problems:
        field, message = problems[0]
        raise Invalid(f"rules.{field}", message + "; teams and grids are those of GET /v1/teams")
    try:
        version = await svc.rules.publish(
            body.base_version, body.rules, actor.username, body.note, request.app.state.clock()
        )
    except StaleVersion as exc:
        raise HTTPException(409, f"{exc}; reload GET /v1/rules and apply your edit to version {exc.current}") from exc
    return version.body()


@router.post("/rules/preview", summary="Where would this request go? (a dry run, nothing stored)", tags=["rules"])
async def preview(body: Preview, request: Request, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    if body.rules is not None:
        problems = body.rules.problems(svc.directory)
        if problems:
            raise Invalid(f"rules.{problems[0][0]}", problems[0][1])
        rules, version = body.rules, 0
    else:
        stored = await (svc.rules.get(body.version) if body.version else svc.rules.current(request.app.state.clock()))
        if stored is None:
            raise Invalid("version", f"no rules version {body.version}")
        rules, version = stored.rules, stored.version
    building = normalize_building(body.building, body.address)
    grid = svc.directory.grid_of(building)
    decision = decide(
        RoutingInput(body.service_code, body.description, building, grid, body.attributes, tuple(body.vulnerability)),
        rules,
        version,
        svc.directory,
    )
    limits = svc.policy.limits_for(body.service_code, decision.priority, body.description, dict(body.attributes))
    return {
        "team_id": decision.team_id,
        "team_rule": decision.team_rule,
        "priority": decision.priority,
        "priority_rules": list(decision.priority_rules),
        "building": building,
        "grid": grid,
        "sla": {"rule": limits.rule, "claim": limits.claim.describe(), "handle": limits.handle.describe()},
    }
