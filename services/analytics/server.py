"""Composition root of the analytics service: pool, tenancy client, servicers (queries, production,
level, anomaly detection, reports), health, shutdown."""

from __future__ import annotations

import functools

from services.analytics.anomaly.handlers import AnomalyHandlers
from services.analytics.anomaly.service import AnomalyService
from services.analytics.config import AnalyticsSettings
from services.analytics.handlers import QueryHandlers
from services.analytics.level.activity import ControlPlaneActivity
from services.analytics.level.handlers import LevelHandlers
from services.analytics.level.service import LevelService
from services.analytics.production.alarm_reports import SpcAlarmReporter
from services.analytics.production.assets import AssetDirectory
from services.analytics.production.handlers import ProductionHandlers
from services.analytics.production.service import ProductionService
from services.analytics.reports.handlers import ReportHandlers
from services.analytics.reports.service import ReportService
from services.analytics.service import QueryService
from services.analytics.sharing import SharedQueries, TenancyGrants
from services.analytics.sharing_handlers import SharedQueryHandlers
from services.analytics.tenant_limits import LimitedCells, TenantTurns
from services.analytics.windows import RawWindow, windows_by_plan
from services.runtime.cells import CellDatabases
from services.runtime.channels import CallerIdentity, open_channel
from services.runtime.plans import DEFAULT_RAW_WINDOW_DAYS, TenantPlans, plan_code
from services.runtime.process import ServiceCore
from services.runtime.registration import add_service
from services.runtime.series import SeriesDirectory
from services.runtime.tokens import TokenAuthenticator, TokenSigner
from sfcloud.v1 import (
    alarms_pb2_grpc,
    anomaly_pb2,
    anomaly_pb2_grpc,
    directory_pb2_grpc,
    level_pb2,
    level_pb2_grpc,
    production_pb2,
    production_pb2_grpc,
    query_pb2,
    reports_pb2,
    reports_pb2_grpc,
    sharing_pb2,
    sharing_pb2_grpc,
    tenancy_pb2_grpc,
)

SERVICE = query_pb2.DESCRIPTOR.services_by_name["QueryService"]
SERVICE_NAME = SERVICE.full_name
PRODUCTION_NAME = production_pb2.DESCRIPTOR.services_by_name["ProductionService"].full_name
LEVEL_NAME = level_pb2.DESCRIPTOR.services_by_name["LevelService"].full_name
ANOMALY_NAME = anomaly_pb2.DESCRIPTOR.services_by_name["AnomalyService"].full_name
REPORT_NAME = reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name
SHARED_QUERY_NAME = sharing_pb2.DESCRIPTOR.services_by_name["SharedQueryService"].full_name


class AnalyticsServer:
    def __init__(self, settings: AnalyticsSettings) -> None:
        signer = TokenSigner(settings.service.signing_key)
        self.core = ServiceCore(
            settings.service,
            SERVICE_NAME,
            TokenAuthenticator(signer),
            also_serves=[PRODUCTION_NAME, LEVEL_NAME, ANOMALY_NAME, REPORT_NAME, SHARED_QUERY_NAME],
        )
        self.cells = CellDatabases(self.core.db, settings.service.cells, "sf-analytics")
        self.core.grpc.add_readiness_check(self.cells.check)
        turns = TenantTurns(settings.tenant_reads, settings.tenant_wait_s)
        self.limited = LimitedCells(self.cells, turns, settings.statement_timeout_ms)
        self.tenancy_channel = open_channel(settings.tenancy_target)
        tenancy = tenancy_pb2_grpc.TenancyServiceStub(self.tenancy_channel)
        identity = CallerIdentity(signer)
        series = SeriesDirectory(tenancy, identity, "analytics")
        self.service = QueryService(self.limited, series)
        code_of = functools.partial(plan_code, identity.call, tenancy, "analytics")
        window = RawWindow(
            TenantPlans(code_of, windows_by_plan(settings.catalog_dir), DEFAULT_RAW_WINDOW_DAYS)
        )
        add_service(QueryHandlers(self.service, turns, window), self.core.grpc.server, SERVICE)
        assets = AssetDirectory(tenancy, identity)
        alarms = alarms_pb2_grpc.AlarmServiceStub(self.tenancy_channel)  # served by tenancy
        self.production = ProductionService(
            self.limited, self.service, assets, SpcAlarmReporter(alarms, identity)
        )
        production_pb2_grpc.add_ProductionServiceServicer_to_server(
            ProductionHandlers(self.production), self.core.grpc.server
        )
        directory = directory_pb2_grpc.DirectoryServiceStub(self.tenancy_channel)  # served by tenancy
        activity = ControlPlaneActivity(tenancy, alarms, directory, identity)
        self.level = LevelService(self.limited, assets, activity)
        level_pb2_grpc.add_LevelServiceServicer_to_server(LevelHandlers(self.level), self.core.grpc.server)
        self.anomaly = AnomalyService(self.limited, self.service, assets)
        anomaly_pb2_grpc.add_AnomalyServiceServicer_to_server(
            AnomalyHandlers(self.anomaly), self.core.grpc.server
        )
        reports = ReportService(self.production, self.anomaly, self.level, assets, activity)
        reports_pb2_grpc.add_ReportServiceServicer_to_server(ReportHandlers(reports), self.core.grpc.server)
        grants = TenancyGrants(
            sharing_pb2_grpc.SharingServiceStub(self.tenancy_channel), identity
        )  # tenancy's
        sharing_pb2_grpc.add_SharedQueryServiceServicer_to_server(
            SharedQueryHandlers(SharedQueries(self.service, grants), window), self.core.grpc.server
        )

    async def start(self) -> int:
        await self.core.open()
        await self.cells.open_extra()
        return await self.core.serve()

    async def stop(self) -> None:
        await self.core.stop()
        await self.tenancy_channel.close()
        await self.cells.close_extra()
        await self.core.close()
