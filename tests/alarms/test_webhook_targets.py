"""Webhooks never go into sfcloud's own network (server-side request forgery): a URL whose host resolves
to a loopback, private or link-local address is refused before anything is sent, unless allowed."""

from __future__ import annotations

import pytest

from services.worker.webhook_targets import TargetRefused, check_target, forbidden


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",  # a cloud metadata service
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_addresses_are_refused(url):
    with pytest.raises(TargetRefused, match="non-public address"):
        await check_target(url, allow_private=False)
    await check_target(url, allow_private=True)  # a local stack may


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "gopher://a/"]
)
async def test_only_http_urls_with_a_host(url):
    with pytest.raises(TargetRefused, match="http"):
        await check_target(url, allow_private=True)


def test_public_addresses_are_allowed():
    assert not forbidden("93.184.215.14") and not forbidden("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert all(forbidden(a) for a in ("172.16.5.4", "fe80::1%eth0", "224.0.0.1", "240.0.0.1"))


async def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(TargetRefused, match="does not resolve"):
        await check_target("https://no-such-host.invalid/hook", allow_private=False)
