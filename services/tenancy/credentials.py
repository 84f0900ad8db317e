"""Passwords (argon2id) and device credentials (random, stored as a SHA-256 hash).

Password verification is CPU- and memory-heavy by design, so it runs in two
threads of its own, at a lower scheduling priority than the rest of the process:
a storm of sign-ins queues behind itself and leaves the event loop (every other
call) the CPU it needs (RELIABILITY A1). An unknown email is checked against a
dummy hash so it costs the same as a wrong password.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import string
import zlib

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.runtime.background import low_priority_threads

# OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
_DUMMY_HASH = _HASHER.hash("not-a-real-password-only-for-timing")
_ALPHABET = string.ascii_letters + string.digits
_CREDENTIAL = re.compile(r"^sfd_([A-Za-z0-9]{10,16})_([A-Za-z0-9]{32})$")
_API_KEY = re.compile(r"^sfk_([A-Za-z0-9]{12})_([A-Za-z0-9]{32})([A-Za-z0-9]{6})$")
MIN_PASSWORD_LENGTH = 12


class PasswordChecker:
    """Hashes and verifies passwords off the event loop, at most two at a time, in low-priority threads."""

    def __init__(self, concurrency: int = 2) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._threads = low_priority_threads(concurrency, "argon2")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await self._in_thread(_HASHER.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        async with self._slots:
            return await self._in_thread(
                _verify, stored_hash or _DUMMY_HASH, password, stored_hash is not None
            )

    async def _in_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether a hash was made with weaker parameters than today's (or another variant): sign-in upgrades it."""
        return _HASHER.check_needs_rehash(stored_hash)


def _verify(stored_hash: str, password: str, real: bool) -> bool:
    try:
        return _HASHER.verify(stored_hash, password) and real
    except (VerificationError, InvalidHashError):
        return False


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_device_credential() -> str:
    return f"sfd_{_random(12)}_{_random(32)}"


def checksum_key(text: str) -> str:
    """Six base-62 digits of CRC32, so a mistyped or truncated key is caught without a lookup."""
    value, digits = zlib.crc32(text.encode()), []
    for _ in range(6):
        value, digit = divmod(value, 62)
        digits.append(_ALPHABET[digit])
    return "".join(digits)


def new_api_key() -> str:
    """`sfk_<prefix>_<secret><checksum>`: a visible prefix, 190 random bits, an offline checksum."""
    prefix, secret = _random(12), _random(32)
    return f"sfk_{prefix}_{secret}{checksum_key(prefix + secret)}"


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key whose checksum holds, else None."""
    match = _API_KEY.match(key)
    if not match or checksum_key(match.group(1) + match.group(2)) != match.group(3):
        return None
    return match.group(1)


def credential_prefix(credential: str) -> str | None:
    """The lookup prefix of a well-formed credential, else None."""
    match = _CREDENTIAL.match(credential)
    return match.group(1) if match else None


def credential_hash(credential: str) -> bytes:
    """SHA-256 of a device credential or API key: both carry ~190 random bits, so no salt or stretching."""
    return hashlib.sha256(credential.encode()).digest()


def credential_matches(credential: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(credential_hash(credential), stored_hash)
