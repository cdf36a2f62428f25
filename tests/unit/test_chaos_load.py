"""The chaos client: a request whose answer was lost (a time-out after intake stored it) is accepted on its
retry with the same Idempotency-Key, never left "unexpected"; a 503 is retried; a 4xx is not."""

from __future__ import annotations

import asyncio

import httpx

from huiying.chaos.load import LoadResult, send_one


def intake(answers: list[httpx.Response | Exception], seen: list[str]) -> httpx.AsyncClient:
    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def send(answers: list[httpx.Response | Exception]) -> tuple[LoadResult, list[str]]:
    result, seen = LoadResult(), list[str]()

    async def go() -> None:
        async with intake(answers, seen) as client:
            await send_one(client, asyncio.Semaphore(1), ["http://intake"], "t", 7, result, budget_s=30)

    asyncio.run(go())
    return result, seen


STORED = {"id": "r1", "tracking_code": "HY0000000001"}


def test_a_lost_answer_is_accepted_on_the_retry_with_the_same_key() -> None:
    result, seen = send([httpx.ReadTimeout("stored, answer lost"), httpx.Response(200, json=STORED)])
    assert result.accepted == {"chaos-t-7": STORED} and not result.refused
    assert seen == ["chaos-t-7", "chaos-t-7"] and result.retries == 1


def test_a_busy_intake_is_asked_again_and_counted_as_a_5xx() -> None:
    busy = httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "busy"})
    result, _ = send([busy, httpx.Response(201, json=STORED)])
    assert result.accepted == {"chaos-t-7": STORED} and result.server_errors == 1


def test_a_refusal_is_final() -> None:
    result, seen = send([httpx.Response(422, json={"detail": "no"})])
    assert not result.accepted and result.refused["chaos-t-7"].startswith("HTTP 422") and len(seen) == 1
