"""Who the client is: its address and scheme, believing proxy headers only from proxies
the operator named (``TRUSTED_PROXIES``).

``X-Forwarded-For``, ``X-Real-IP`` and ``X-Forwarded-Proto`` are plain request headers:
anyone can send them. Taken from anyone, a rotating ``X-Forwarded-For`` walks past every
per-address rate limit and writes a chosen address into the logs; taken from anyone,
``X-Forwarded-Proto: https`` claims TLS that never happened. So they count only when the
connection itself comes from a trusted proxy, and ``X-Forwarded-For`` is read from the
right: each trusted proxy appends the address it saw, so the rightmost address that is
not one of ours is the client (the entries left of it are whatever the client wrote).

The application applies :meth:`ProxyTrust.apply` to each request before it picks the
handler (:class:`gateway.app.GatewayApplication`), so every handler (REST, websocket, the
404s), the rate limits, the access log and the HSTS header see one address and scheme.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ("http", "https")


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:4711
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 203.0.113.5:4711
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


def limit_subject(address: str) -> str:
    """The client as per-address limits count it: an IPv6 address by its /64, the block
    one subscriber (a home, a cloud host) is given and can rotate through at will
    (RFC 6177); an IPv4 address (an IPv4-mapped one included) as itself."""
    found = _address(address)
    if isinstance(found, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((found, 64), strict=False))
    return address if found is None else str(found)


class ProxyTrust:
    """The proxies whose forwarding headers are believed (none by default)."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str | None, headers: Any) -> tuple[str, str | None]:
        """The client's address and, when a trusted proxy says so, its scheme.

        :param peer: the address of the connection's other end.
        :param headers: the request's headers (``.get(name)``).
        """
        peer_text = peer or "unknown"
        hop = _address(peer_text)
        if not self.trusts(hop):
            return peer_text, None
        client = hop
        forwarded = headers.get("X-Forwarded-For")
        if forwarded:
            for entry in reversed(forwarded.split(",")):
                address = _address(entry)
                if address is None:
                    break  # garbage: keep the last hop we can vouch for
                client = address
                if not self.trusts(address):
                    break
        else:
            real = _address(headers.get("X-Real-IP") or "")
            if real is not None:
                client = real
        scheme = (headers.get("X-Forwarded-Proto") or headers.get("X-Scheme") or "")
        scheme = scheme.rpartition(",")[2].strip().lower()
        return str(client), scheme if scheme in SCHEMES else None

    def apply(self, request: Any) -> None:
        """Set the request's ``remote_ip`` (and ``protocol``, behind a TLS-ending proxy)
        to the client's."""
        address, scheme = self.client(request.remote_ip, request.headers)
        request.remote_ip = address
        if scheme is not None:
            request.protocol = scheme
