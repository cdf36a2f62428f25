"""Photos and additions on intake, against the real app (real RabbitMQ, embedded MongoDB with GridFS):
upload re-encoded without EXIF/GPS, a thumbnail, who may fetch the bytes, 422s that name the file and the
limit with nothing half-stored, the orphan sweep, and adding to an open request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from services.intake.domain.photos import MAX_PHOTO_BYTES
from shared.photo_links import photo_link
from shared.security import StaffClaims, issue_token
from tests.integration.intake.conftest import REQUEST, WEB, dispatched, play, resolved
from tests.support import eventually
from tests.support_photos import exif_of, gps_of, heic, jpeg_with_gps, png


def _files(*photos: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", photo) for photo in photos]


async def _submit(client: Any, *photos: tuple[str, bytes, str], body: dict[str, Any] | None = None) -> Any:
    return await client.post(
        "/v1/requests/with-photos",
        data={"request": json.dumps(body or {**REQUEST, "media_urls": []})},
        files=_files(*photos),
        headers=WEB,
    )


async def _counts(app: Any) -> tuple[int, int]:
    db = app.state.container.infra.db
    return await db["requests"].count_documents({}), await db["photos.files"].count_documents({})


def _token(app: Any, role: str, team: str | None) -> dict[str, str]:
    claims = StaffClaims(sub=f"{role}-{team}", role=role, team=team)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {issue_token(app.state.settings, claims)}"}


async def test_photos_are_reencoded_without_gps_and_reach_the_event(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        original = jpeg_with_gps((1200, 900))
        assert gps_of(original)  # the test's photo does carry a position
        r = await _submit(
            client,
            ("leak.jpg", original, "image/jpeg"),
            ("wall.png", png(), "image/png"),
            ("a.heic", heic(), "image/heic"),
        )
        assert r.status_code == 201, r.text
        answer = r.json()
        events = await eventually(lambda: heard.of("request.submitted", answer["id"]), what="request.submitted")
        photos = events[0].data["photos"]
        assert [p["name"] for p in photos] == ["leak.jpg", "wall.png", "a.heic"]
        assert (photos[0]["width"], photos[0]["height"]) == (1200, 900)

        code, pid = answer["tracking_code"], photos[0]["id"]
        track = (await client.get(f"/v1/track/{code}")).json()
        assert [p["id"] for p in track["photos"]] == [p["id"] for p in photos] and track["can_add"] is True
        full = await client.get(f"/v1/track/{code}/photos/{pid}")
        assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
        assert full.content[:3] == b"\xff\xd8\xff"
        assert gps_of(full.content) == {} and exif_of(full.content) == {}  # no GPS, no camera, nothing
        thumb = await client.get(f"/v1/track/{code}/photos/{pid}/thumb")
        assert thumb.status_code == 200 and len(thumb.content) < len(full.content)
        import io

        from PIL import Image

        with Image.open(io.BytesIO(thumb.content)) as t:
            assert max(t.size) == 320


async def test_who_may_fetch_a_photo(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        r = await _submit(client, ("leak.jpg", jpeg_with_gps(), "image/jpeg"))
        answer = r.json()
        rid, code = answer["id"], answer["tracking_code"]
        doc = await app.state.container.service.get(rid)
        pid = doc["photos"][0]["id"]
        await play(app, dispatched(rid, code))  # the property team handles it
        await eventually(lambda: _team_is(app, rid, "property_maintenance"), what="the status view knows the team")
        staff_url = f"/v1/requests/{rid}/photos/{pid}"
        assert (await client.get(staff_url)).status_code == 401  # a stranger
        assert (await client.get(staff_url, headers=_token(app, "member", "property_maintenance"))).status_code == 200
        assert (await client.get(staff_url, headers=_token(app, "member", "legal_aid"))).status_code == 404
        assert (await client.get(staff_url, headers=_token(app, "supervisor", None))).status_code == 200
        assert (await client.get(f"/v1/track/{code}/photos/{pid}")).status_code == 200
        assert (await client.get(f"/v1/track/WRONG-CODE-1/photos/{pid}")).status_code == 404

        settings = app.state.settings
        link = photo_link("", settings.jwt_secret, rid, pid, "thumb", datetime.now(UTC))
        assert (await client.get(link)).status_code == 200  # the console's signed link
        assert (await client.get(link.replace("sig=", "sig=0"))).status_code == 403
        old = photo_link("", settings.jwt_secret, rid, pid, "thumb", datetime.now(UTC) - timedelta(hours=1))
        assert (await client.get(old)).status_code == 403
        full_with_thumb_sig = link.replace("/thumb?", "?")
        assert (await client.get(full_with_thumb_sig)).status_code == 403  # a link is for one size only

        # Property repairs are a public kind: Open311 shows the photo's public address, which serves it.
        public = (await client.get(f"/open311/v2/requests/{rid}.json")).json()[0]
        assert public["media_url"].endswith(f"/v1/public/requests/{rid}/photos/{pid}")
        assert (await client.get(f"/v1/public/requests/{rid}/photos/{pid}")).status_code == 200

        # Legal aid is not: no media_url, no public bytes, and the resident still sees their own photo.
        private = {**REQUEST, "service_code": "legal_aid", "attributes": {}, "media_urls": []}
        r = await _submit(client, ("contract.jpg", jpeg_with_gps(), "image/jpeg"), body=private)
        assert r.status_code == 201, r.text
        other = r.json()
        other_pid = (await app.state.container.service.get(other["id"]))["photos"][0]["id"]
        assert (await client.get(f"/v1/public/requests/{other['id']}/photos/{other_pid}")).status_code == 404
        assert (await client.get(f"/open311/v2/requests/{other['id']}.json")).json()[0]["media_url"] is None
        assert (await client.get(f"/v1/track/{other['tracking_code']}/photos/{other_pid}")).status_code == 200
        assert (await client.get(f"/v1/public/requests/{rid}/photos/{other_pid}")).status_code == 404  # not its photo


async def _team_is(app: Any, rid: str, team: str) -> bool:
    doc = await app.state.container.service.get(rid)
    return bool(doc and (doc.get("team") or {}).get("id") == team)


async def test_bad_files_are_refused_naming_the_file_and_nothing_is_stored(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        before = await _counts(app)
        big = b"\xff\xd8\xff" + b"\0" * MAX_PHOTO_BYTES
        cases = [
            (_files(("huge.jpg", big, "image/jpeg")), "huge.jpg", "at most 10 MB"),
            (_files(("notes.pdf", b"%PDF-1.4 hello", "application/pdf")), "notes.pdf", "is not a photo"),
            (_files(("pic.gif", b"GIF89a" + b"\0" * 20, "image/gif")), "pic.gif", "cannot take (image/gif)"),
            (_files(*[(f"p{i}.jpg", jpeg_with_gps(), "image/jpeg") for i in range(6)]), "photos", "at most 5"),
            (_files(("ok.jpg", jpeg_with_gps(), "image/jpeg"), ("broken.jpg", b"\xff\xd8\xff\xe0broken", "image/jpeg")),
             "broken.jpg", "could not be read"),
        ]  # fmt: skip
        for files, named, limit in cases:
            r = await client.post(
                "/v1/requests/with-photos", data={"request": json.dumps(REQUEST)}, files=files, headers=WEB
            )
            assert r.status_code == 422, r.text
            field = r.json()["fields"][0]
            assert field["field"] == "photos" and limit in field["message"], field
            assert named in r.json()["message"]
        assert await _counts(app) == before  # no request, no photo, nothing half-stored

        # A refused draft after the photos were checked: the photos go again.
        bad_body = {**REQUEST, "service_code": "no_such_kind"}
        r = await _submit(client, ("ok.jpg", jpeg_with_gps(), "image/jpeg"), body=bad_body)
        assert r.status_code == 422 and await _counts(app) == before


async def test_orphan_photos_are_swept_and_listed_ones_kept(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        photos = app.state.container.photos
        r = await _submit(client, ("kept.jpg", jpeg_with_gps(), "image/jpeg"))
        assert r.status_code == 201
        from services.intake.domain.photos import Upload

        orphan = await photos.keep([Upload("orphan.jpg", jpeg_with_gps())])  # as if the process died here
        photos.orphan_grace = timedelta(seconds=0)
        looked, deleted = await photos.sweep_once()
        assert (looked, deleted) == (2, 1)
        assert await photos.read(orphan[0].id, "full") is None
        doc = await app.state.container.service.get(r.json()["id"])
        assert await photos.read(doc["photos"][0]["id"], "thumb") is not None
        assert await photos.sweep_once() == (0, 0)  # the listed one is checked once, not again


async def test_the_resident_adds_words_and_photos_to_an_open_request(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        answer = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        code, rid = answer["tracking_code"], answer["id"]
        r = await client.post(
            f"/v1/track/{code}/additions",
            data={"text": "楼下邻居说天花板也湿了"},
            files=_files(("ceiling.jpg", jpeg_with_gps(), "image/jpeg")),
        )
        assert r.status_code == 201, r.text
        added = r.json()
        assert added["text"] == "楼下邻居说天花板也湿了" and len(added["photos"]) == 1
        events = await eventually(lambda: heard.of("request.supplemented", rid), what="request.supplemented")
        assert events[0].data["text"] == "楼下邻居说天花板也湿了" and events[0].seq == 2
        assert events[0].data["photos"][0]["id"] == added["photos"][0]
        photo = await client.get(f"/v1/track/{code}/photos/{added['photos'][0]}/thumb")
        assert photo.status_code == 200

        empty = await client.post(f"/v1/track/{code}/additions", data={"text": "  "})
        assert empty.status_code == 422 and empty.json()["fields"][0]["field"] == "text"
        assert (await client.post("/v1/track/NOPE-NOPE-1/additions", data={"text": "x"})).status_code == 404

        await play(app, dispatched(rid, code))
        await play(app, resolved(rid, code))
        await eventually(lambda: _status_is(app, rid, "resolved"), what="resolved")
        closed = await client.post(f"/v1/track/{code}/additions", data={"text": "还有一件事"})
        assert closed.status_code == 409 and "nothing can be added" in closed.json()["message"]


async def _status_is(app: Any, rid: str, status: str) -> bool:
    doc = await app.state.container.service.get(rid)
    return bool(doc and doc["status"] == status)


async def test_open311_takes_photos_as_media_and_names_a_bad_one(run_service: Any) -> None:
    form = {
        "api_key": "dev-web-key",
        "service_code": "property_repair",
        "address_string": "幸福路8号3号楼",
        "first_name": "明",
        "last_name": "李",
        "description": "楼道灯坏了",
    }
    async with run_service("intake") as (client, app):
        ok = await client.post(
            "/open311/v2/requests.json", data=form, files=[("media", ("light.jpg", jpeg_with_gps(), "image/jpeg"))]
        )
        assert ok.status_code == 201, ok.text
        rid = ok.json()[0]["service_request_id"]
        doc = await app.state.container.service.get(rid)
        assert [p["name"] for p in doc["photos"]] == ["light.jpg"]
        shown = (await client.get(f"/open311/v2/requests/{rid}.json")).json()[0]
        assert shown["media_url"].endswith(f"/v1/public/requests/{rid}/photos/{doc['photos'][0]['id']}")

        before = await _counts(app)
        bad = await client.post(
            "/open311/v2/requests.json", data=form, files=[("media", ("notes.pdf", b"%PDF-1.4", "application/pdf"))]
        )
        assert bad.status_code == 400  # Open311's error format: a list of {code, description}
        assert "media" in bad.text and "'notes.pdf' is not a photo" in bad.text
        other = await client.post(
            "/open311/v2/requests.json", data=form, files=[("picture", ("a.jpg", jpeg_with_gps(), "image/jpeg"))]
        )
        assert other.status_code == 400 and "`media` only" in other.text
        assert await _counts(app) == before
