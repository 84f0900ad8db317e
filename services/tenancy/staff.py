"""Who is on a supplier's staff, and whom its admins have invited onto it.

Any of its staff sees the staff list, as any of a tenant's people sees its people: they serve its tenants
together and need to know who else does. Only its admins see the open invitations, as only a tenant's owners
and admins see its: the list names people who are not on the staff (and may never be) and who invited them,
and only admins act on it. The operator sees any supplier's by naming it. Each read runs under the
supplier's `app.supplier_id`, so row-level security keeps it to that supplier's rows whatever the checks.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.runtime import keyset
from services.runtime.errors import PermissionDenied
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id
from services.tenancy.invitations import LISTED
from services.tenancy.models import Joined
from services.tenancy.organisations import require_supplier_exists, require_supplier_manager
from services.tenancy.storage import invitations as invitation_storage
from services.tenancy.storage import organisations as storage

MAX_PAGE = 200


class SupplierStaff:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def members(
        self, caller: Principal, supplier_id: str, page_size: int, page_token: str
    ) -> tuple[list[tuple[uuid.UUID, str, str, str]], str]:
        """A page of (user, email, name, role) of the supplier's staff, by email: for its staff and the operator."""
        to = Joined(supplier_id=_named(caller, supplier_id))
        (after,) = keyset.key_after(page_token, str)
        size = keyset.page_size(page_size, 50, MAX_PAGE)
        async with self._db.transaction(to.settings()) as conn:
            await require_supplier_exists(conn, to.supplier_id)
            found = await storage.supplier_staff(conn, to.supplier_id, after, size + 1)
        return keyset.cut(found, size, lambda member: (member[1].lower(),))

    async def invitations(
        self, caller: Principal, supplier_id: str
    ) -> list[tuple[uuid.UUID, str, str, str, datetime, datetime]]:
        """The supplier's open invitations onto its staff, newest first: for its admins and the operator."""
        to = Joined(supplier_id=_named(caller, supplier_id))
        async with self._db.transaction(to.settings()) as conn:
            await require_supplier_manager(conn, caller, to.supplier_id)
            return await invitation_storage.open_of(conn, to, LISTED)


def _named(caller: Principal, supplier_id: str) -> uuid.UUID:
    """The supplier asked about: any the operator names; a supplier's staff their own (named, or left empty)."""
    if caller.platform_operator:
        return parse_id("supplier_id", supplier_id)
    own = caller.require_supplier()
    if supplier_id and parse_id("supplier_id", supplier_id) != own:
        raise PermissionDenied("a supplier's staff see their own supplier's only", reason="OTHER_SUPPLIER")
    return own
