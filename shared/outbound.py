"""Outbound URLs (channel webhooks, the SMS gateway) are checked when saved and again when used.

A webhook URL is chosen by whoever administers a channel, and notify posts residents' updates there and
records the answer's status. Without a check it could be pointed at the services' own network:
loopback, the cloud metadata address (169.254.169.254), private ranges, or a host name or an encoded IP
(`http://2130706433/`, `http://0x7f.1/`) that resolves to one of them. So:

- when saved: the URL must be http(s) (https outside dev mode), with a host and no credentials, and its
  host must not be, or resolve to, a refused address;
- when used: the host is resolved again and every address checked (a DNS answer can change after the
  save), the request goes to that checked address (no second resolution between check and connect),
  and redirects are never followed.

Refused: loopback, private, link-local (metadata), carrier-grade NAT, multicast, reserved and
unspecified addresses, IPv4-mapped or NAT64 forms of those. A deployment that posts to its own network on
purpose lists those hosts or networks in `HUIYING_OUTBOUND_ALLOW` (e.g. `10.1.2.0/24,sms.internal`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedURL(ValueError):
    """The URL may not be used for an outbound call; the message says why and what to do."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """`HUIYING_TRUSTED_PROXIES` as networks; raises ValueError naming a bad entry."""
    networks = []
    for raw in entries:
        entry = raw.strip()
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def refused_reason(address: IPAddress) -> str | None:
    """Why calls to this address are refused, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refused_reason(mapped)
        if address in _NAT64:
            return refused_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (this is where cloud metadata services answer)"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_private:
        return "a private-network address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    return None


def _literal_ip(host: str) -> IPAddress | None:
    """The address a host string denotes by itself, including the forms `inet_aton` accepts
    (`2130706433`, `0x7f.1`, `127.1`) that some HTTP clients resolve without DNS."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_syntax(url: str, *, require_https: bool) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL; raises RefusedURL naming the problem."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURL(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedURL("use an http:// or https:// URL")
    if require_https and scheme != "https":
        raise RefusedURL("outbound URLs must use https outside dev mode")
    if not parts.hostname:
        raise RefusedURL("the URL has no host")
    if parts.username or parts.password:
        raise RefusedURL("put credentials in the channel's settings, not in the URL")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedURL(f"the host {host!r} does not resolve ({exc.strerror or exc})") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


async def checked_addresses(
    url: str, *, require_https: bool, allow: AllowList = AllowList(), unresolved_ok: bool = False
) -> list[IPAddress]:
    """Every address the URL's host resolves to, each checked; raises RefusedURL if any is refused.

    An allow-listed host skips the address check (its operator vouched for it); an allow-listed network
    admits its addresses. `unresolved_ok` (when saving: the name may be published later, and the check at
    use resolves it again): a host name that does not resolve now passes with no addresses."""
    _, host, port = check_syntax(url, require_https=require_https)
    literal = _literal_ip(host)
    try:
        addresses = [literal] if literal is not None else await resolve(host, port)
    except RefusedURL:
        if unresolved_ok:
            return []
        raise
    if allow.allows_host(host):
        return addresses
    for address in addresses:
        reason = refused_reason(address)
        if reason and not allow.allows_address(address):
            raise RefusedURL(
                f"the host {host!r} is {reason} ({address}); outbound calls go to public addresses only "
                "(an operator can allow it with HUIYING_OUTBOUND_ALLOW)"
            )
    return addresses


@dataclass(frozen=True)
class Pinned:
    """A request target pinned to a checked address: connect there, but speak to the original host
    (Host header, TLS server name and certificate check), so no second DNS answer can slip in between
    the check and the connection."""

    url: str
    host_header: str
    sni_hostname: str

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.sni_hostname}


def pin(url: str, address: IPAddress) -> Pinned:
    parts = urlsplit(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    return Pinned(parts._replace(netloc=netloc).geturl(), parts.netloc.rpartition("@")[2], parts.hostname or "")


async def checked_target(url: str, *, require_https: bool, allow: AllowList = AllowList()) -> Pinned:
    """Check the URL now (at use) and pin it to the first checked address."""
    addresses = await checked_addresses(url, require_https=require_https, allow=allow)
    return pin(url, addresses[0])
