"""Ingest streams a tenant may hold open at once in this process.

Each device or edge agent needs one stream; a tenant holding hundreds more than its devices could use is a
reconnect loop gone wrong or an attack, and every stream costs a handler, buffers and a place in the event
loop that other tenants share. Past the cap a new stream is refused at its start with RESOURCE_EXHAUSTED
`TOO_MANY_STREAMS`, naming the limit, and a retry delay of the idle timeout (an abandoned stream's place
comes back within it, `services/runtime/streams.py`). Counted per process: ingest processes behind a
load balancer each allow the cap.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from services.ingest.errors import TooManyStreams


class TenantStreams:
    def __init__(self, per_tenant: int, idle_s: float) -> None:
        self._per_tenant = per_tenant
        self._idle_s = idle_s
        self._open: Counter[uuid.UUID] = Counter()

    def open_for(self, tenant_id: uuid.UUID) -> int:
        return self._open[tenant_id]

    @contextmanager
    def hold(self, tenant_id: uuid.UUID) -> Iterator[None]:
        """A place for one stream of the tenant while the block runs, or TooManyStreams."""
        if self._open[tenant_id] >= self._per_tenant:
            raise TooManyStreams(
                f"your tenant already has {self._per_tenant} ingest streams open on this server, the most it may:"
                " send each device's batches on its open stream; idle streams close after"
                f" {self._idle_s:g} s",
                retry_after_s=self._idle_s,
            )
        self._open[tenant_id] += 1
        try:
            yield
        finally:
            self._open[tenant_id] -= 1
            if not self._open[tenant_id]:
                del self._open[tenant_id]
