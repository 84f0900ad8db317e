"""Composition root of the tenancy service: pool, catalog, servicer, health, shutdown."""

from __future__ import annotations

import logging

from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.process import ServiceCore
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from services.tenancy import catalog, provisioning
from services.tenancy.access import Access
from services.tenancy.alarm_handlers import AlarmHandlers
from services.tenancy.alarm_rules import AlarmRules
from services.tenancy.alarms import Alarms, FlapLimit
from services.tenancy.assets import AssetCatalog
from services.tenancy.audit import AuditLog
from services.tenancy.brands import Brands
from services.tenancy.config import TenancySettings
from services.tenancy.credentials import PasswordChecker
from services.tenancy.device_telemetry import AnalyticsDeviceTelemetry
from services.tenancy.directory import Directory
from services.tenancy.directory_handlers import DirectoryHandlers
from services.tenancy.grant_exports import GrantExports
from services.tenancy.handlers import TenancyHandlers
from services.tenancy.invitations import Invitations
from services.tenancy.mail_outbox import MailOutbox
from services.tenancy.mailer import LogMailer, SmtpMailer
from services.tenancy.organisations import Organisations
from services.tenancy.programme_handlers import ProgrammeHandlers
from services.tenancy.recovery import Recovery
from services.tenancy.report_centre import ReportCentre
from services.tenancy.retention import RetentionMail
from services.tenancy.sharing import Sharing
from services.tenancy.sharing_handlers import SharingHandlers
from services.tenancy.staff import SupplierStaff
from services.tenancy.ticket_handlers import TicketHandlers
from services.tenancy.tickets import Tickets
from services.tenancy.transfers import Transfers
from services.tenancy.usage import Metering
from services.tenancy.utilisation import UtilisationReport
from sfcloud.v1 import (
    alarms_pb2,
    alarms_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    programme_pb2,
    programme_pb2_grpc,
    query_pb2_grpc,
    sharing_pb2,
    sharing_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
    tickets_pb2,
    tickets_pb2_grpc,
)

log = logging.getLogger(__name__)
SERVICE_NAME = tenancy_pb2.DESCRIPTOR.services_by_name["TenancyService"].full_name
ALARM_SERVICE_NAME = alarms_pb2.DESCRIPTOR.services_by_name["AlarmService"].full_name
DIRECTORY_SERVICE_NAME = directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name
TICKET_SERVICE_NAME = tickets_pb2.DESCRIPTOR.services_by_name["TicketService"].full_name
SHARING_SERVICE_NAME = sharing_pb2.DESCRIPTOR.services_by_name["SharingService"].full_name
PROGRAMME_SERVICE_NAME = programme_pb2.DESCRIPTOR.services_by_name["ProgrammeService"].full_name


class TenancyServer:
    """Everything the tenancy process runs, built from settings; ``start`` then ``stop``."""

    def __init__(self, settings: TenancySettings) -> None:
        self.settings = settings
        signer = TokenSigner(settings.service.signing_key)
        self.core = ServiceCore(
            settings.service,
            SERVICE_NAME,
            TokenAuthenticator(signer),
            also_serves=[
                ALARM_SERVICE_NAME,
                DIRECTORY_SERVICE_NAME,
                TICKET_SERVICE_NAME,
                SHARING_SERVICE_NAME,
                PROGRAMME_SERVICE_NAME,
            ],
        )
        self.passwords = PasswordChecker()
        self.catalog = catalog.load_catalog(settings.catalog_dir)
        db, public_url = self.core.db, settings.public_url
        mailer = SmtpMailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else LogMailer()
        self.outbox = MailOutbox(db, mailer, public_url, settings.mail_retry)
        self.invitations = Invitations(db, self.passwords, mailer, public_url)
        handlers = TenancyHandlers(
            Organisations(
                db, self.passwords, self.catalog, self.invitations, ("default", *settings.service.cells)
            ),
            Access(db, self.passwords, settings.sign_in),
            AssetCatalog(db),
            AuditLog(db),
            self.invitations,
            Recovery(db, self.passwords, mailer, public_url),
            Transfers(db, self.outbox),
            Metering(db, {code: plan.price_krw_month for code, plan in self.catalog.plans.items()}),
            RetentionMail(db, mailer, public_url),
            Brands(db, public_url),
            SupplierStaff(db),
        )
        tenancy_pb2_grpc.add_TenancyServiceServicer_to_server(handlers, self.core.grpc.server)
        flap = FlapLimit(settings.alarm_flap_count, int(settings.alarm_flap_window_s * 1e9))
        alarm_handlers = AlarmHandlers(AlarmRules(db), Alarms(db, mailer, public_url, flap))
        alarms_pb2_grpc.add_AlarmServiceServicer_to_server(alarm_handlers, self.core.grpc.server)
        directory_pb2_grpc.add_DirectoryServiceServicer_to_server(
            DirectoryHandlers(Directory(db)), self.core.grpc.server
        )
        self.analytics_channel = open_channel(
            settings.analytics_target
        )  # snapshots, utilisation: device telemetry
        telemetry = AnalyticsDeviceTelemetry(
            query_pb2_grpc.QueryServiceStub(self.analytics_channel), CallerIdentity(signer)
        )
        tickets_pb2_grpc.add_TicketServiceServicer_to_server(
            TicketHandlers(Tickets(db, telemetry, self.outbox)), self.core.grpc.server
        )
        sharing_pb2_grpc.add_SharingServiceServicer_to_server(
            SharingHandlers(Sharing(db), GrantExports(db)), self.core.grpc.server
        )
        utilisation = UtilisationReport(db, telemetry, self.catalog.utilisation_rules)
        programme_pb2_grpc.add_ProgrammeServiceServicer_to_server(
            ProgrammeHandlers(utilisation, ReportCentre(db)), self.core.grpc.server
        )

    async def start(self) -> int:
        await self.core.open()
        await self._load_catalog()
        if self.settings.mail_sender:
            self.outbox.start()
        return await self.core.serve()

    async def stop(self) -> None:
        await self.core.stop()
        await self.outbox.stop()
        await self.analytics_channel.close()
        await self.core.close()

    async def _load_catalog(self) -> None:
        await provisioning.load_plans(self.core.db, self.catalog.plans)
        if self.settings.load_demo:
            manifest = catalog.load_manifest(self.settings.catalog_dir / "demo" / "tenant.yaml", self.catalog)
            report = await provisioning.apply(self.core.db, self.passwords, manifest)
            if report.created:
                log.info("demo tenant created", extra={"tenant": report.tenant})
