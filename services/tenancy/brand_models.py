"""A supplier's brand, and the checks that keep one readable and safe to serve."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from services.runtime.errors import InvalidArgument

MAX_LOGO_BYTES = 100 * 1024
# A logo is served only as one of these, recognised by its first bytes (never SVG: it can carry script).
LOGO_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
# What the colours are drawn against (gateway/web/static/app.css): the primary colour is the header's
# background under white text; the accent colour is the buttons' background under white text and the links'
# colour on the page's light grey and the cards' white.
PRIMARY_TEXT = ("#ffffff",)
ACCENT_AGAINST = ("#ffffff", "#f5f7fa")
AA_CONTRAST = 4.5
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Brand:
    supplier_id: uuid.UUID
    product_name: str
    primary_colour: str
    accent_colour: str
    domain: str | None
    logo: bytes | None
    logo_type: str | None
    updated_at: datetime | None = None


def check_colour(field: str, value: str, against: tuple[str, ...]) -> str:
    """The colour as lower-case ``#rrggbb``, if it is one and reads at WCAG AA against each of ``against``."""
    if not _HEX.fullmatch(value or ""):
        raise InvalidArgument.of(field, "must be a hex colour like #0b5cad", reason="BAD_COLOUR")
    for other in against:
        ratio = contrast(value, other)
        if ratio < AA_CONTRAST:
            raise InvalidArgument.of(
                field,
                f"{value} against {other} has contrast {ratio:.2f}:1; WCAG AA needs {AA_CONTRAST}:1 (choose a darker colour)",
                reason="LOW_CONTRAST",
            )
    return value.lower()


def contrast(one: str, other: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def check_logo(logo: bytes, declared: str) -> str:
    """The logo's type, if it is a PNG or JPEG (by its bytes, which must match the declared type) and small."""
    if len(logo) > MAX_LOGO_BYTES:
        raise InvalidArgument.of(
            "logo", f"is larger than {MAX_LOGO_BYTES // 1024} KB", reason="LOGO_TOO_LARGE"
        )
    magic = LOGO_MAGIC.get(declared)
    if magic is None or not logo.startswith(magic):
        raise InvalidArgument.of("logo", "must be a PNG or JPEG image", reason="BAD_LOGO")
    return declared


def platform_zone(public_url: str) -> str:
    """The platform's own DNS zone, which no supplier may claim: the public host's parent when it has one
    (``app.sfcloud.example`` → ``sfcloud.example``), else the host itself (``localhost``)."""
    host = (urlsplit(public_url).hostname or "").lower()
    return host.split(".", 1)[1] if host.count(".") >= 2 else host


def check_domain(domain: str, reserved: str) -> str | None:
    """A host name the supplier's tenants reach it on (lower case, at least two labels, no port), or None;
    never in the platform's ``reserved`` zone (a supplier must not brand sfcloud's own sign-in page)."""
    domain = (domain or "").strip().lower().rstrip(".")
    if not domain:
        return None
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidArgument.of(
            "domain", "must be a host name like factory.example.com", reason="BAD_DOMAIN"
        )
    if domain == reserved or domain.endswith(f".{reserved}"):
        raise InvalidArgument.of("domain", f"{reserved} is the platform's own", reason="DOMAIN_RESERVED")
    return domain
