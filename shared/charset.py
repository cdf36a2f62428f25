"""Request bodies reach every service as UTF-8, whatever charset a real client sent.

Front ends send form and JSON bodies in several ways: percent-encoded UTF-8 (browsers), raw UTF-8 bytes
in a form body (`curl -d 描述=…`, many HTTP libraries), or a legacy charset named in the Content-Type
(`charset=GBK` or `GB18030` from older Chinese systems). Starlette decodes form fields as Latin-1 before
percent-decoding, so raw UTF-8 became mojibake and escaped every keyword rule downstream. This middleware
rewrites such bodies before the app reads them:

- `application/x-www-form-urlencoded`: every name and value is percent-decoded to bytes, decoded with
  the declared charset (UTF-8 when none is named), and percent-encoded again as UTF-8;
- `application/json` (and `+json`): a body in a declared non-UTF-8 charset is transcoded to UTF-8.

Bytes that are not valid in the charset answer 400 naming the field and the fix; an unknown charset answers
415. Nothing else is touched (multipart bodies carry their own per-part encoding). Bodies are read into
memory, so this middleware sits behind the body-size limit.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from urllib.parse import quote_plus, unquote_to_bytes

from fastapi import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM = "application/x-www-form-urlencoded"
# GB2312 and GBK are subsets of GB18030; decoding with the superset accepts what either sends.
ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030", "utf8": "utf-8"}

Render = Callable[[Scope, HTTPException], Response]


class BadEncoding(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def parse_content_type(header: str) -> tuple[str, str | None]:
    """The media type (lower case) and the charset parameter, if any."""
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return media.strip().lower(), charset


def codec_for(charset: str | None) -> str:
    """A Python codec name for a declared charset; UTF-8 when none is named. Raises BadEncoding (415)."""
    if charset is None:
        return "utf-8"
    name = ALIASES.get(charset, charset)
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise BadEncoding(
            415, f"Content-Type: charset {charset!r} is not supported; send UTF-8 (or GB18030 / GBK)"
        ) from None


def _decode(raw: bytes, codec: str, field: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise BadEncoding(
            400,
            f"{field}: bytes {exc.start}-{exc.end} are not valid {codec}; send UTF-8, "
            "or name the charset in the Content-Type header (e.g. charset=GB18030)",
        ) from None


def normalize_form(body: bytes, codec: str) -> bytes:
    """The same form, every name and value percent-encoded UTF-8."""
    pairs = []
    for part in body.split(b"&"):
        if not part:
            continue
        raw_name, eq, raw_value = part.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        name = _decode(name_bytes, codec, name_bytes.decode("utf-8", "replace") or "form field")
        value = _decode(unquote_to_bytes(raw_value.replace(b"+", b" ")), codec, name)
        pairs.append(quote_plus(name) + ("=" + quote_plus(value) if eq else ""))
    return "&".join(pairs).encode("ascii")


def normalize_json(body: bytes, codec: str) -> bytes:
    if codec == "utf-8":
        return body  # the JSON parser reads UTF-8 itself and reports its own errors
    return _decode(body, codec, "body").encode("utf-8")


def _default_render(_scope: Scope, exc: HTTPException) -> Response:
    error = "unsupported_media_type" if exc.status_code == 415 else "bad_encoding"
    return JSONResponse({"error": error, "message": exc.detail, "fields": []}, exc.status_code)


class CharsetMiddleware:
    def __init__(self, app: ASGIApp, render: Render = _default_render) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        media, charset = parse_content_type(headers.get(b"content-type", b"").decode("latin-1"))
        is_json = media == "application/json" or media.endswith("+json")
        if media != FORM and not is_json:
            await self.app(scope, receive, send)
            return
        try:
            body, more_messages = await _read_body(receive)
        except HTTPException as exc:  # a limit further out (body size) refused the body while it streamed
            await self.render(scope, exc)(scope, receive, send)
            return
        try:
            codec = codec_for(charset)
            new_body = normalize_form(body, codec) if media == FORM else normalize_json(body, codec)
        except BadEncoding as exc:
            response = self.render(scope, HTTPException(exc.status_code, exc.message))
            await response(scope, receive, send)
            return
        if new_body is not body or charset is not None:
            content_type = f"{media}; charset=utf-8" if is_json else media
            scope = dict(scope)
            scope["headers"] = [
                (k, v) for k, v in scope.get("headers") or [] if k.lower() not in (b"content-type", b"content-length")
            ] + [(b"content-type", content_type.encode()), (b"content-length", str(len(new_body)).encode())]
        await self.app(scope, _replay(new_body, receive, more_messages), send)


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    chunks: list[bytes] = []
    others: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            others.append(message)  # a disconnect: hand it on after the body
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), others


def _replay(body: bytes, receive: Receive, others: list[Message]) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if others:
            return others.pop(0)
        return await receive()

    return replay
