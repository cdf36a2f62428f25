"""Outbound URLs are refused for loopback, private, link-local and encoded addresses (shared/outbound.py)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from shared.outbound import AllowList, RefusedURL, checked_addresses, checked_target, refused_reason

REFUSED = [
    "http://127.0.0.1/hook",
    "http://localhost:8003/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/hook",  # 127.0.0.1 in hex, short form
    "http://127.1/hook",
    "http://0177.0.0.1/hook",  # octal
    "http://0.0.0.0/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 form of 169.254.169.254
]


@pytest.mark.parametrize("url", REFUSED)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedURL) as refused:
        await checked_addresses(url, require_https=False)
    assert "HUIYING_OUTBOUND_ALLOW" in str(refused.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.org/x", "http"),
        ("http://user:pw@93.184.216.34/x", "credentials"),
        ("https:///x", "no host"),
        ("http://93.184.216.34:99999/x", "valid URL"),
    ],
)
async def test_malformed_urls_are_named(url: str, problem: str) -> None:
    with pytest.raises(RefusedURL, match=problem):
        await checked_addresses(url, require_https=False)


async def test_https_is_required_outside_dev_mode() -> None:
    with pytest.raises(RefusedURL, match="https"):
        await checked_addresses("http://93.184.216.34/hook", require_https=True)


async def test_a_public_address_passes_and_is_pinned_with_the_original_host() -> None:
    assert await checked_addresses("https://93.184.216.34/hook", require_https=True) == [
        ipaddress.ip_address("93.184.216.34")
    ]
    target = await checked_target("https://93.184.216.34:8443/hook?x=1", require_https=True)
    assert target.url == "https://93.184.216.34:8443/hook?x=1" and target.host_header == "93.184.216.34:8443"


async def test_an_allow_list_admits_named_hosts_and_networks() -> None:
    allow = AllowList.parse(["localhost", "10.1.2.0/24", ""])
    assert await checked_addresses("http://localhost:1/x", require_https=False, allow=allow)
    assert await checked_addresses("http://10.1.2.9/x", require_https=False, allow=allow)
    with pytest.raises(RefusedURL):
        await checked_addresses("http://10.1.3.9/x", require_https=False, allow=allow)


def test_reasons_are_plain() -> None:
    assert refused_reason(ipaddress.ip_address("169.254.169.254")) is not None
    assert "metadata" in (refused_reason(ipaddress.ip_address("169.254.169.254")) or "")
    assert refused_reason(ipaddress.ip_address("8.8.8.8")) is None


async def test_a_pinned_request_reaches_the_checked_address_with_the_original_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = await checked_target("http://localhost:9/hook", require_https=False, allow=AllowList.parse(["localhost"]))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.post(target.url, headers={"host": target.host_header}, extensions=target.extensions)
    assert seen[0].url.host in ("127.0.0.1", "::1") and seen[0].headers["host"] == "localhost:9"
