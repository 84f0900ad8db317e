"""Building a tenant's plant from a layout: sites, lines and machines of template machine types,
with their series (and alarm defaults, which become alarm rules of a series when it is made), their
ideal cycle times, and edge devices where declared.

Ids are UUIDv5s of the tenant and the object's path, so building the same layout again adds only
what is missing: the same function serves creating a tenant and reconciling a manifest.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.tenancy import alarm_rules, credentials
from services.tenancy.models import Asset, Device, Series
from services.tenancy.storage import access, assets

_NAMESPACE = uuid.UUID("5f0c1a4e-9a52-4c55-8a51-0d3f8a6b7c21")


def layout_id(*path: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "/".join(path))


async def build(
    conn: Any, tenant_id: uuid.UUID, key: str, sites: list[dict], machine_types: dict[str, dict]
) -> dict[str, str]:
    """Add what the layout has and the tenant lacks; returns {device name: credential} of devices made now
    whose credential was generated (shown once)."""
    new_credentials: dict[str, str] = {}
    for site in sites:
        site_id = layout_id(key, site["name"])
        await assets.insert_asset(conn, tenant_id, Asset(site_id, None, "site", site["name"]))
        for line in site["lines"]:
            line_id = layout_id(key, site["name"], line["name"])
            await assets.insert_asset(conn, tenant_id, Asset(line_id, site_id, "line", line["name"]))
            for machine in line["machines"]:
                path = (key, site["name"], line["name"], machine["name"])
                made = await _machine(conn, tenant_id, path, line_id, machine, machine_types[machine["type"]])
                new_credentials.update(made)
    return new_credentials


async def _machine(
    conn: Any, tenant_id: uuid.UUID, path: tuple[str, ...], line_id: uuid.UUID, machine: dict, spec: dict
) -> dict[str, str]:
    machine_id = layout_id(*path)
    asset = Asset(machine_id, line_id, "machine", machine["name"], machine["type"], spec["ideal_cycle_s"])
    await assets.insert_asset(conn, tenant_id, asset)
    alarms = spec.get("alarms", [])
    for s in spec["series"]:
        own = [a for a in alarms if a["series"] == s["name"]]
        series = Series(
            layout_id(*path, s["name"]), machine_id, s["name"], s["unit"], s["kind"], s["decimals"], own
        )
        if await assets.insert_series(conn, tenant_id, series) and own:
            await alarm_rules.template_rules(conn, tenant_id, series.id, own, machine["type"])
    if "device" not in machine:
        return {}
    credential = machine.get("credential") or credentials.new_device_credential()
    device = Device(layout_id(path[0], "device", machine["device"]), machine["device"])
    made = await access.insert_device(
        conn,
        tenant_id,
        device,
        credentials.credential_prefix(credential),
        credentials.credential_hash(credential),
    )
    return {machine["device"]: credential} if made and "credential" not in machine else {}
