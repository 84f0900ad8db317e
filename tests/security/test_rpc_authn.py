"""RELIABILITY R3: every gRPC method of every sfcloud.v1 service, found in the proto descriptors, refuses a
caller with no credential, an expired token or a token signed with another key, before it does anything;
and a service configured for production (`SF_ENV=prod`) offers no server reflection.

The standard health service (`grpc.health.v1.Health`) answers without a credential on purpose: load
balancers and Kubernetes probes ask it. It reports SERVING or NOT_SERVING per service name and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from pathlib import Path

import grpc
from google.protobuf import message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import sfcloud.v1
from services.runtime.grpc_server import GrpcServer
from services.runtime.principal import Kind, Principal, Role
from services.runtime.settings import ServiceSettings
from services.runtime.tokens import METADATA_KEY, TokenAuthenticator, TokenSigner

PROTOS = Path(__file__).parents[2] / "proto" / "sfcloud" / "v1"
REFUSED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
OWNER = Principal(Kind.USER, str(uuid.uuid4()), tenant_id=uuid.uuid4(), role=Role.OWNER)


def declared_methods() -> list:
    """Every method of every service in the generated sfcloud.v1 modules."""
    methods = []
    for info in pkgutil.iter_modules(sfcloud.v1.__path__):
        if info.name.endswith("_pb2"):
            for service in importlib.import_module(
                f"sfcloud.v1.{info.name}"
            ).DESCRIPTOR.services_by_name.values():
                methods += service.methods
    return methods


def _callable(channel: grpc.aio.Channel, method):
    path = f"/{method.containing_service.full_name}/{method.name}"
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    kind = {(False, False): channel.unary_unary, (False, True): channel.unary_stream}.get(
        (method.client_streaming, method.server_streaming), channel.stream_stream
    )
    call = kind(
        path,
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )
    return call, request_type


async def _outcome(channel: grpc.aio.Channel, method, metadata) -> grpc.StatusCode:
    """The status of one call with an empty request: OK if it was answered, else its error code."""
    call, request_type = _callable(channel, method)
    request = iter([request_type()]) if method.client_streaming else request_type()
    try:
        answer = call(request, metadata=metadata, timeout=5)
        if method.server_streaming:
            answer = [message async for message in answer]
        else:
            await answer
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def credentials(signing_key: str) -> dict[str, tuple]:
    return {
        "none": (),
        "expired": ((METADATA_KEY, TokenSigner(signing_key, ttl_seconds=-120).sign(OWNER)),),
        "forged": ((METADATA_KEY, TokenSigner("x" * 48).sign(OWNER)),),
        "unknown-device": (("authorization", "Device sfd_notacredential"),),
    }


def test_the_descriptors_hold_every_service_of_the_protos():
    """The enumeration misses nothing: each `service` declared in proto/sfcloud/v1 is in the descriptors."""
    declared = {
        f"sfcloud.v1.{name}"
        for proto in PROTOS.glob("*.proto")
        for name in re.findall(r"^service (\w+)", proto.read_text(), re.MULTILINE)
    }
    assert {m.containing_service.full_name for m in declared_methods()} == declared


async def test_every_method_refuses_a_caller_without_a_valid_credential(stack, signing_key):
    channels = {name: grpc.aio.insecure_channel(target) for name, target in stack.targets.items()}
    try:
        outcomes, hosted = {}, set()
        for method in declared_methods():
            for host, channel in channels.items():
                for label, metadata in credentials(signing_key).items():
                    code = await _outcome(channel, method, metadata)
                    if code is grpc.StatusCode.UNIMPLEMENTED:
                        break  # this process does not serve the method
                    hosted.add(method.full_name)
                    outcomes[(method.full_name, host, label)] = code
    finally:
        for channel in channels.values():
            await channel.close()
    assert hosted == {m.full_name for m in declared_methods()}, "a declared method that no service serves"
    accepted = {key: code for key, code in outcomes.items() if code not in REFUSED}
    assert accepted == {}
    print(
        f"\nR3: {len(hosted)} methods x {len(credentials(signing_key))} credentials, {len(outcomes)} calls, all refused"
    )


async def _reflection_answers(env: str, monkeypatch) -> bool:
    """Whether a server composed from settings with `SF_ENV=env` answers a reflection request."""
    for name, value in {
        "SF_DATABASE_URL": "postgresql://h/db",
        "SF_SIGNING_KEY": "k" * 40,
        "SF_ENV": env,
    }.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings.from_env("tenancy", 0)
    server = GrpcServer(
        service_names=["sfcloud.v1.TenancyService"],
        authenticator=TokenAuthenticator(TokenSigner(settings.signing_key)),
        reflection_enabled=settings.reflection,
    )
    port = await server.start("127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            try:
                async for _ in stub.ServerReflectionInfo(iter([request]), timeout=5):
                    return True
            except grpc.aio.AioRpcError as error:
                assert error.code() is grpc.StatusCode.UNIMPLEMENTED
            return False
    finally:
        await server.stop(0)


async def test_production_settings_turn_reflection_off(monkeypatch):
    assert await _reflection_answers("dev", monkeypatch)  # the probe sees reflection where it is on
    assert not await _reflection_answers("prod", monkeypatch)
