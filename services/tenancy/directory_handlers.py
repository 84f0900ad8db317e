"""gRPC ⇄ domain translation for DirectoryService; the rules live in `directory`."""

from __future__ import annotations

from services.runtime.principal import current_principal
from services.tenancy.directory import Directory
from services.tenancy.handlers import ns
from services.tenancy.support_models import ClientReference, KeyStaff, Listing, Profile, SearchFilter
from sfcloud.v1 import directory_pb2 as pb
from sfcloud.v1 import directory_pb2_grpc


def profile_of(p: pb.SupplierProfile) -> Profile:
    return Profile(
        p.summary,
        tuple(p.specialties),
        tuple(p.industries),
        tuple(p.regions),
        tuple(p.certifications),
        tuple(KeyStaff(s.role, s.count) for s in p.key_staff),
        tuple(ClientReference(r.client, r.project, r.year) for r in p.references),
    )


def listing_pb(listing: Listing) -> pb.SupplierListing:
    p, r = listing.profile, listing.track_record
    return pb.SupplierListing(
        id=str(listing.id),
        name=listing.name,
        description=listing.description,
        website=listing.website,
        contact_email=listing.contact_email,
        profile=pb.SupplierProfile(
            summary=p.summary,
            specialties=p.specialties,
            industries=p.industries,
            regions=p.regions,
            certifications=p.certifications,
            key_staff=[pb.KeyStaff(role=s.role, count=s.count) for s in p.key_staff],
            references=[
                pb.ClientReference(client=c.client, project=c.project, year=c.year) for c in p.references
            ],
            updated_ns=ns(p.updated_at),
        ),
        track_record=pb.TrackRecord(
            active_tenants=r.active_tenants,
            assessed_tenants=r.assessed_tenants,
            average_level_gain=r.average_level_gain,
            answered_tickets=r.answered_tickets,
            median_first_response_s=r.median_first_response_s,
        ),
    )


class DirectoryHandlers(directory_pb2_grpc.DirectoryServiceServicer):
    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def SearchSuppliers(self, request, context) -> pb.SearchSuppliersResponse:
        wanted = SearchFilter(request.specialty, request.industry, request.region, request.text)
        found, token = await self._directory.search(
            current_principal(), wanted, request.page_size, request.page_token
        )
        return pb.SearchSuppliersResponse(suppliers=[listing_pb(s) for s in found], next_page_token=token)

    async def GetSupplierListing(self, request, context) -> pb.GetSupplierListingResponse:
        listing = await self._directory.get(current_principal(), request.supplier_id)
        return pb.GetSupplierListingResponse(supplier=listing_pb(listing))

    async def UpdateSupplierProfile(self, request, context) -> pb.UpdateSupplierProfileResponse:
        listing = await self._directory.update_profile(current_principal(), profile_of(request.profile))
        return pb.UpdateSupplierProfileResponse(supplier=listing_pb(listing))

    async def RecordLevel(self, request, context) -> pb.RecordLevelResponse:
        await self._directory.record_level(current_principal(), request.day, request.level)
        return pb.RecordLevelResponse()
