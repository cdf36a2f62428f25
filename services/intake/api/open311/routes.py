"""Open311 GeoReport v2 under /open311/v2: discovery, services, service definitions, POST/GET requests,
tokens. Every resource in `.xml` (the spec's required format) and `.json`.

The Open311 `api_key` is a channel key (the same as the native X-API-Key). Errors are the spec's list of
`{code, description}`: 403 missing or bad key, 404 unknown id, code or jurisdiction, 400 otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from services.intake.api.deps import ContainerDep, authenticate, limit_address
from services.intake.api.open311 import docs
from services.intake.api.open311.errors import Open311Error
from services.intake.api.open311.form import command, read_form, single
from services.intake.api.open311.formats import Format, render
from services.intake.api.open311.search import known_service, search_query
from services.intake.api.uploads import uploads_of
from services.intake.bootstrap import Container
from services.intake.domain.catalogue import Catalogue
from services.intake.domain.open311 import created_view, open311_definition, open311_request, open311_service
from shared.i18n import negotiate

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

Fmt = Annotated[Literal["json", "xml"], Path(alias="format", description="json or xml (the spec's required format)")]
Jurisdiction = Annotated[
    str | None, Query(max_length=200, description="optional: this endpoint serves one jurisdiction")
]


def language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def check_jurisdiction(container: Container, jurisdiction_id: str | None) -> None:
    expected = container.settings.open311_jurisdiction_id
    if expected and jurisdiction_id and jurisdiction_id != expected:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction_id!r} not found; this endpoint serves {expected!r}")


def requests_answer(fmt: Format, found: list[dict[str, Any]], request: Request, container: Container) -> Response:
    lang, tz, catalogue = language(request), container.settings.timezone, container.config.catalogue
    base = container.settings.public_url("intake")  # a stored photo's public address (public kinds only)
    return render(fmt, "service_requests", [open311_request(d, lang, tz, catalogue, base) for d in found])


async def discovery(fmt: Fmt, container: ContainerDep) -> Response:
    settings = container.settings
    body = {
        "changeset": settings.open311_changeset,
        "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": f"{settings.public_url('intake')}/open311/v2",
                "changeset": settings.open311_changeset,
                "type": "production" if not settings.is_dev else "test",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", body)


async def services(
    request: Request, fmt: Fmt, container: ContainerDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    check_jurisdiction(container, jurisdiction_id)
    lang = language(request)
    return render(fmt, "services", [open311_service(s, lang) for s in container.config.catalogue.services])


async def service_definition(
    request: Request,
    service_code: Annotated[str, Path(max_length=64)],
    fmt: Fmt,
    container: ContainerDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    check_jurisdiction(container, jurisdiction_id)
    service = known_service(container.config.catalogue, service_code)
    return render(fmt, "service_definition", open311_definition(service, language(request)))


async def post_request(
    request: Request,
    fmt: Fmt,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(pattern=r"^[\x21-\x7e]{1,200}$")] = None,
) -> Response:
    form = await read_form(request)
    api_key = single(form, "api_key")
    if api_key is None:
        raise Open311Error(403, "api_key is required to create a request; ask the administrator for your channel's key")
    channel = await authenticate(container, api_key)
    if channel is None:
        raise Open311Error(403, "invalid api_key received; it is unknown or disabled")
    check_jurisdiction(container, single(form, "jurisdiction_id"))
    config = container.config
    cmd = command(form, channel, config.catalogue, language(request), idempotency_key, config.emergency)
    # `media`: photos uploaded with the form (GeoReport v2 names the field; docs/intake.md, Photos).
    uploads = await uploads_of(form.getlist("media"), field="media")
    submitted = await container.service.submit_with_photos(cmd, uploads, field="media")  # refusals: api/errors.py
    headers = {"Idempotent-Replayed": "true"} if submitted.replayed else None
    return render(fmt, "service_requests", [created_view(submitted.document, cmd.resident.language)], 201, headers)


async def get_requests(
    request: Request,
    fmt: Fmt,
    container: ContainerDep,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: Annotated[str | None, Query(max_length=4000, description="comma-delimited ids")] = None,
    service_code: Annotated[str | None, Query(max_length=1000, description="comma-delimited codes")] = None,
    start_date: Annotated[str | None, Query(max_length=40, examples=["2025-01-01T00:00:00Z"])] = None,
    end_date: Annotated[str | None, Query(max_length=40, examples=["2025-03-01T00:00:00+08:00"])] = None,
    status: Annotated[str | None, Query(max_length=40, description="open, closed or open,closed")] = None,
    updated_after: Annotated[
        str | None,
        Query(max_length=40, description="changed after this time (W3C with a zone): the common sync extension"),
    ] = None,
    updated_before: Annotated[str | None, Query(max_length=40, description="changed before this time")] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Response:
    check_jurisdiction(container, jurisdiction_id)
    if not container.settings.open311_public_list and not service_request_id:
        raise Open311Error(
            403, "the public request list is turned off here; ask for your own requests with service_request_id"
        )
    query = search_query(
        container.clock(),
        container.config.catalogue,
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
        updated_after=updated_after,
        updated_before=updated_before,
    )
    found = await container.service.search(query, skip=(page - 1) * page_size, limit=page_size)
    return requests_answer(fmt, found, request, container)


async def get_request(
    request: Request,
    service_request_id: Annotated[str, Path(max_length=64)],
    fmt: Fmt,
    container: ContainerDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    check_jurisdiction(container, jurisdiction_id)
    doc = await container.service.get(service_request_id)
    if doc is None:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found")
    return requests_answer(fmt, [doc], request, container)


async def token(
    token: Annotated[str, Path(max_length=40)], fmt: Fmt, container: ContainerDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    check_jurisdiction(container, jurisdiction_id)
    doc = await container.service.find(token)
    if doc is None:
        raise Open311Error(404, "token not found; it is the tracking code given when the request was made")
    return render(fmt, "service_requests", [{"service_request_id": doc["_id"], "token": doc["tracking_code"]}])


def build_router(catalogue: Catalogue) -> APIRouter:
    """The Open311 routes. Built per app so the documented service codes are this catalogue's."""
    router = APIRouter(prefix="/open311/v2", tags=["open311"], dependencies=[Depends(limit_address)])
    form = {"application/x-www-form-urlencoded": {"schema": docs.form_schema(catalogue.codes)}}
    posted: dict[str, Any] = {"status_code": 201, "openapi_extra": {"requestBody": {"required": True, "content": form}}}
    # method, path, endpoint, the answer, errors documented beyond 400/413/429, summary, more route options
    table: list[tuple[str, str, Any, Any, tuple[int, ...], str, dict[str, Any]]] = [
        ("GET", "/discovery.{format}", discovery, docs.O311Discovery, (), "Service discovery", {}),
        ("GET", "/services.{format}", services, list[docs.O311Service], (404,), "GET Service List", {}),
        (
            "GET",
            "/services/{service_code}.{format}",
            service_definition,
            docs.O311Definition,
            (404,),
            "GET Service Definition",
            {},
        ),
        (
            "POST",
            "/requests.{format}",
            post_request,
            list[docs.O311Created],
            (403, 404),
            "POST Service Request (form-encoded)",
            posted,
        ),
        ("GET", "/requests.{format}", get_requests, list[docs.O311Request], (404,), "GET Service Requests", {}),
        (
            "GET",
            "/requests/{service_request_id}.{format}",
            get_request,
            list[docs.O311Request],
            (404,),
            "GET Service Request",
            {},
        ),
        (
            "GET",
            "/tokens/{token}.{format}",
            token,
            list[docs.O311Token],
            (404,),
            "GET service_request_id from a token (the tracking code)",
            {},
        ),
    ]
    for method, path, endpoint, answer, errors, summary, options in table:
        status = options.get("status_code", 200)
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_class=Response,
            responses=docs.responses(answer, status, *errors),
            summary=summary,
            **options,
        )
    return router
