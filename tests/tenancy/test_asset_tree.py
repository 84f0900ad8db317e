"""Renaming, moving and deleting nodes of the asset tree, keeping ISA-95 levels and no cycles."""

from __future__ import annotations

import grpc

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected


async def _tree(tenancy, owner) -> dict[str, str]:
    ids = {}
    for key, parent, kind, name in (
        ("site", "", pb.ASSET_KIND_SITE, "Plant"),
        ("line1", "site", pb.ASSET_KIND_LINE, "L1"),
        ("line2", "site", pb.ASSET_KIND_LINE, "L2"),
        ("m", "line1", pb.ASSET_KIND_MACHINE, "M"),
    ):
        request = pb.CreateAssetRequest(parent_id=ids.get(parent, ""), kind=kind, name=name)
        ids[key] = (await tenancy.call("CreateAsset", request, owner)).asset.id
    return ids


async def test_rename_and_move_a_machine(tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    ids = await _tree(tenancy, owner)
    moved = (
        await tenancy.call(
            "UpdateAsset",
            pb.UpdateAssetRequest(asset_id=ids["m"], name="M-renamed", parent_id=ids["line2"]),
            owner,
        )
    ).asset
    assert (moved.name, moved.parent_id) == ("M-renamed", ids["line2"])
    listed = {a.id: a for a in (await tenancy.call("ListAssets", pb.ListAssetsRequest(), owner)).assets}
    assert listed[ids["m"]].parent_id == ids["line2"]


async def test_moves_keep_levels_and_never_make_cycles(tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    ids = await _tree(tenancy, owner)
    error = await rejected(
        tenancy.call("UpdateAsset", pb.UpdateAssetRequest(asset_id=ids["m"], parent_id=ids["site"]), owner)
    )
    assert (
        error.code() == grpc.StatusCode.INVALID_ARGUMENT
        and "a machine cannot sit under site" in error.details()
    )
    error = await rejected(
        tenancy.call(
            "UpdateAsset", pb.UpdateAssetRequest(asset_id=ids["line1"], parent_id=ids["line2"]), owner
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = await rejected(
        tenancy.call("UpdateAsset", pb.UpdateAssetRequest(asset_id=ids["line2"], name="L1"), owner)
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_only_empty_nodes_are_deleted(tenancy):
    _, owner = await tenancy.tenant(OPERATOR)
    ids = await _tree(tenancy, owner)
    series = (
        await tenancy.call(
            "CreateSeries",
            pb.CreateSeriesRequest(machine_id=ids["m"], name="t", unit="", kind="gauge"),
            owner,
        )
    ).series
    error = await rejected(tenancy.call("DeleteAsset", pb.DeleteAssetRequest(asset_id=ids["m"]), owner))
    assert (
        error.code() == grpc.StatusCode.FAILED_PRECONDITION and "0 children and 1 series" in error.details()
    )
    await tenancy.call("DeleteSeries", pb.DeleteSeriesRequest(series_id=series.id), owner)
    await tenancy.call("DeleteAsset", pb.DeleteAssetRequest(asset_id=ids["m"]), owner)
    remaining = {a.id for a in (await tenancy.call("ListAssets", pb.ListAssetsRequest(), owner)).assets}
    assert ids["m"] not in remaining and ids["line1"] in remaining
