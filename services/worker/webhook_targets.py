"""Where the worker may send a tenant's webhooks: not into sfcloud's own network.

A tenant chooses its webhook URL; without a check it could point the worker at an address only the
worker reaches (a metadata service, a database, another tenant's internal tool: server-side request
forgery). Before every delivery the URL's host is resolved and refused when any address it resolves to
is loopback, private, link-local, multicast, reserved or unspecified, unless ``SF_ALARM_PRIVATE_WEBHOOKS``
allows it (a local stack or a test with a receiver on 127.0.0.1). Redirects are not followed. A name that
resolves to a public address at this check and to a private one at the connection (DNS rebinding) is not
caught here: the network around the worker should refuse it too (infra/terraform: egress rules).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(Exception):
    """The webhook URL may not be called (its scheme, or where its host resolves)."""


def forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_target(url: str, allow_private: bool) -> None:
    """Raises TargetRefused unless ``url`` is an http(s) URL whose host resolves only to public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"webhook URL must be http(s) with a host: {url[:100]!r}")
    if allow_private:
        return
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise TargetRefused(f"webhook host {parts.hostname!r} does not resolve: {exc.strerror}") from None
    private = sorted({info[4][0] for info in found if forbidden(info[4][0])})
    if private:
        raise TargetRefused(
            f"webhook host {parts.hostname!r} resolves to a non-public address ({private[0]})"
        )
