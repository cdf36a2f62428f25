"""Photos and additions on the native API (v1).

- `POST /v1/requests/with-photos`: a submission as multipart/form-data: the `request` part is the JSON body
  of POST /v1/requests, up to 5 `photos` parts are the files (JPEG, PNG, HEIC or WebP, 10 MB each).
- `POST /v1/track/{tracking_code}/additions`: the resident adds `text` and/or `photos` to an open request.
- `GET /v1/requests/{request_id}/photos/{photo_id}[/thumb]`: for staff (a staff token of a team that sees
  the request, the console's cookie, or a signed link from the console: shared/photo_links.py).
- `GET /v1/track/{tracking_code}/photos/{photo_id}[/thumb]`: for the resident holding the tracking code.
- `GET /v1/public/requests/{request_id}/photos/{photo_id}[/thumb]`: anyone, for the kinds whose details are
  public (`public_details` in the catalogue); Open311's `media_url` points here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from services.intake.api.deps import ChannelDep, Container, ContainerDep, limit_address
from services.intake.api.errors import native_errors
from services.intake.api.models import RequestIn, SubmitOut
from services.intake.api.requests import IdempotencyKey
from services.intake.api.uploads import uploads_of
from services.intake.domain.channels import Channel
from services.intake.domain.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from services.intake.domain.submission import take
from services.intake.domain.views import submit_view
from shared.http import FieldError
from shared.photo_links import link_holds
from shared.security import COOKIE, InvalidToken, verify_token
from shared.tracking import normalize_tracking_code

Document = dict[str, Any]
Variant = Literal["full", "thumb"]

router = APIRouter(
    prefix="/v1", tags=["photos"], dependencies=[Depends(limit_address)], responses=native_errors(400, 413, 422, 429)
)

PHOTOS_HELP = (
    f"up to {MAX_PHOTOS} photos, {MAX_PHOTO_BYTES // (1024 * 1024)} MB each: JPEG, PNG, HEIC or WebP. Intake keeps "
    "them re-encoded as JPEG, without their metadata (no GPS position)"
)


# -- submitting with photos ------------------------------------------------------------------------------


@router.post(
    "/requests/with-photos",
    status_code=201,
    response_model=SubmitOut,
    responses=native_errors(401, 403, 409, 503),
    summary="Submit a request with photos (multipart/form-data: `request` = the JSON body of POST /v1/requests, "
    "`photos` = the files)",
)
async def submit_with_photos(
    response: Response,
    container: ContainerDep,
    channel: ChannelDep,
    request: Annotated[str, Form(description="the JSON body of POST /v1/requests")],
    photos: Annotated[list[UploadFile], File(description=PHOTOS_HELP)] = [],  # noqa: B006 - FastAPI's form default
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    try:
        body = RequestIn.model_validate_json(request)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        raise FieldError(f"request.{where}" if where != "request" else where, first.get("msg", "invalid")) from None
    config = container.config
    command = take(body.draft("v1", Channel.of(channel), idempotency_key), config.catalogue, config.emergency)
    submitted = await container.service.submit_with_photos(command, await uploads_of(photos))
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    doc = submitted.document
    return submit_view(doc, f"{container.settings.public_url('intake')}/v1/track/{doc['tracking_code']}")


# -- adding to an open request ---------------------------------------------------------------------------


@router.post(
    "/track/{tracking_code}/additions",
    status_code=201,
    responses=native_errors(404, 409, 503),
    summary="Add words or photos to your open request (multipart/form-data: `text`, `photos`); staff see it at once",
)
async def add_to_request(
    tracking_code: str,
    container: ContainerDep,
    text: Annotated[
        str | None, Form(max_length=4000, description="what you want to add (at most 2000 characters)")
    ] = None,
    photos: Annotated[list[UploadFile], File(description=PHOTOS_HELP)] = [],  # noqa: B006
) -> dict[str, Any]:
    doc = await container.service.add_to(tracking_code, text, await uploads_of(photos))
    return addition_view(doc)


def addition_view(doc: Document) -> Document:
    added = doc["additions"][-1]
    return {
        "tracking_code": doc["tracking_code"],
        "status": doc["status"],
        "addition_id": added["id"],
        "text": added["text"],
        "photos": added["photos"],
        "added_at": added["at"],
    }


# -- serving photos ----------------------------------------------------------------------------------------


def _listed(doc: Document | None, photo_id: str) -> bool:
    return doc is not None and any(p.get("id") == photo_id for p in doc.get("photos") or [])


async def _bytes(container: Container, doc: Document | None, photo_id: str, variant: Variant) -> Response:
    """The photo, if the request lists it (an orphan or another request's photo is never served)."""
    if not _listed(doc, photo_id):
        raise HTTPException(404, "no such photo on this request")
    data = await container.photos.read(photo_id, variant)
    if data is None:
        raise HTTPException(404, "no such photo on this request")
    headers = {"Cache-Control": "private, max-age=900", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type="image/jpeg", headers=headers)


_bearer = HTTPBearer(auto_error=False, description="a staff token (routing's POST /v1/auth/login)")


async def _staff_may_see(
    request: Request, container: Container, doc: Document | None, credentials: HTTPAuthorizationCredentials | None
) -> None:
    """A staff token (or the console's cookie on the same host) whose account may see the request: a supervisor
    or admin, or a member of the team handling it. 401 without a token, 404 for a request the account may not
    see (ids are not probed)."""
    token = credentials.credentials if credentials else request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(
            401, "a staff token is required (Authorization: Bearer <token>), or open the photo from the console",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    try:
        claims = verify_token(container.settings, token)
    except InvalidToken as exc:
        raise HTTPException(401, f"invalid or expired token ({exc}); sign in again") from exc
    claims = await container.staff_access.current(claims)
    team = (doc or {}).get("team") or {}
    if doc is None or not (claims.sees_everything or (claims.team and claims.team == team.get("id"))):
        raise HTTPException(404, "no such photo on a request your team handles")


async def _staff_photo(
    request: Request,
    container: Container,
    request_id: str,
    photo_id: str,
    variant: Variant,
    expires: int | None,
    sig: str | None,
    credentials: HTTPAuthorizationCredentials | None,
) -> Response:
    doc = await container.service.get(request_id)
    if expires is not None and sig is not None:
        now = container.clock()
        if not link_holds(container.settings.jwt_secret, request_id, photo_id, variant, expires, sig, now):
            raise HTTPException(403, "this photo link has expired or is wrong; reload the task page in the console")
    else:
        await _staff_may_see(request, container, doc, credentials)
    return await _bytes(container, doc, photo_id, variant)


Expires = Annotated[int | None, Query(description="a console link's expiry (Unix seconds)")]
Sig = Annotated[str | None, Query(max_length=128, description="a console link's signature")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
STAFF_ERRORS = native_errors(401, 403, 404)


@router.get(
    "/requests/{request_id}/photos/{photo_id}",
    summary="A photo, for staff (JPEG)",
    responses=STAFF_ERRORS,
    response_class=Response,
)
async def staff_photo(
    request: Request, container: ContainerDep, request_id: str, photo_id: str,
    credentials: Credentials, expires: Expires = None, sig: Sig = None,
) -> Response:  # fmt: skip
    return await _staff_photo(request, container, request_id, photo_id, "full", expires, sig, credentials)


@router.get(
    "/requests/{request_id}/photos/{photo_id}/thumb",
    summary="A photo's thumbnail, for staff",
    responses=STAFF_ERRORS,
    response_class=Response,
)
async def staff_thumb(
    request: Request, container: ContainerDep, request_id: str, photo_id: str,
    credentials: Credentials, expires: Expires = None, sig: Sig = None,
) -> Response:  # fmt: skip
    return await _staff_photo(request, container, request_id, photo_id, "thumb", expires, sig, credentials)


async def _resident_photo(container: Container, tracking_code: str, photo_id: str, variant: Variant) -> Response:
    doc = await container.service.find(tracking_code) if normalize_tracking_code(tracking_code) else None
    return await _bytes(container, doc, photo_id, variant)


RESIDENT_ERRORS = native_errors(404)


@router.get(
    "/track/{tracking_code}/photos/{photo_id}",
    summary="A photo of your request (JPEG)",
    responses=RESIDENT_ERRORS,
    response_class=Response,
)
async def resident_photo(container: ContainerDep, tracking_code: str, photo_id: str) -> Response:
    return await _resident_photo(container, tracking_code, photo_id, "full")


@router.get(
    "/track/{tracking_code}/photos/{photo_id}/thumb",
    summary="A photo's thumbnail",
    responses=RESIDENT_ERRORS,
    response_class=Response,
)
async def resident_thumb(container: ContainerDep, tracking_code: str, photo_id: str) -> Response:
    return await _resident_photo(container, tracking_code, photo_id, "thumb")


async def _public_photo(container: Container, request_id: str, photo_id: str, variant: Variant) -> Response:
    doc = await container.service.get(request_id)
    if doc is None or not doc.get("public_details"):
        raise HTTPException(404, "no public photo with this id; only some kinds of request show their photos")
    return await _bytes(container, doc, photo_id, variant)


@router.get(
    "/public/requests/{request_id}/photos/{photo_id}",
    summary="A public kind's photo (JPEG)",
    responses=RESIDENT_ERRORS,
    response_class=Response,
)
async def public_photo(container: ContainerDep, request_id: str, photo_id: str) -> Response:
    return await _public_photo(container, request_id, photo_id, "full")


@router.get(
    "/public/requests/{request_id}/photos/{photo_id}/thumb",
    summary="A public kind's thumbnail",
    responses=RESIDENT_ERRORS,
    response_class=Response,
)
async def public_thumb(container: ContainerDep, request_id: str, photo_id: str) -> Response:
    return await _public_photo(container, request_id, photo_id, "thumb")
