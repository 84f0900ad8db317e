"""Short-lived signed internal tokens (JWT, HS256) carried in gRPC metadata `x-sf-token`.

The gateway turns a session or API key into one; services turn each other's
identity into one. Every service verifies the signature, the expiry and the
audience before it does anything.
"""

from __future__ import annotations

import time
import uuid

import jwt

from services.runtime.errors import Unauthenticated
from services.runtime.principal import Kind, Principal, Role

METADATA_KEY = "x-sf-token"
_ALGORITHM = "HS256"
_AUDIENCE = "sfcloud-internal"


class TokenSigner:
    """Signs and verifies internal tokens with one shared key."""

    def __init__(self, key: str, ttl_seconds: int = 60) -> None:
        self._key = key
        self._ttl = ttl_seconds

    def sign(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "aud": _AUDIENCE,
            "iat": now,
            "exp": now + self._ttl,
            "sub": principal.subject,
            "knd": principal.kind.value,
            "tid": str(principal.tenant_id) if principal.tenant_id else None,
            "rol": principal.role.value if principal.role else None,
            "op": principal.platform_operator,
            "sup": str(principal.supplier_id) if principal.supplier_id else None,
            "scp": sorted(principal.scopes),
            "src": principal.origin,
            "cel": principal.cell,
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={"require": ["exp", "sub", "knd", "aud"]},
            )
            return Principal(
                kind=Kind(claims["knd"]),
                subject=claims["sub"],
                tenant_id=uuid.UUID(claims["tid"]) if claims.get("tid") else None,
                role=Role(claims["rol"]) if claims.get("rol") else None,
                platform_operator=bool(claims.get("op")),
                supplier_id=uuid.UUID(claims["sup"]) if claims.get("sup") else None,
                scopes=frozenset(claims.get("scp") or ()),
                origin=str(claims.get("src") or ""),
                cell=str(claims.get("cel") or "default"),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("internal token expired", reason="TOKEN_EXPIRED") from None
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
            raise Unauthenticated("internal token invalid", reason="TOKEN_INVALID") from None


def service_principal(name: str, tenant_id: uuid.UUID | None = None) -> Principal:
    """The identity one sfcloud service uses when calling another."""
    return Principal(kind=Kind.SERVICE, subject=name, tenant_id=tenant_id)


class TokenAuthenticator:
    """Authenticates calls by the internal token in metadata `x-sf-token`."""

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    async def authenticate(self, metadata) -> Principal:
        token = next((v for k, v in metadata if k == METADATA_KEY), None)
        if not token:
            raise Unauthenticated("missing internal token (metadata x-sf-token)", reason="TOKEN_MISSING")
        return self._signer.verify(token if isinstance(token, str) else token.decode())
