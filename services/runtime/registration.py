"""A service registered as grpc_tools' generated ``add_*Servicer_to_server`` does, with two differences
that keep large messages off the event loop and out of memory:

- a handler may answer with its response's wire bytes, which gRPC then sends as they are. Analytics
  writes large answers column-wise (services/analytics/wire.py); parsing them into a message on the event
  loop only for gRPC to write them again cost ~3 ms per 20,000 buckets there (RELIABILITY I7);
- a method named in ``raw_requests`` hands its handler each request's wire bytes in a ``Wire``, to take
  and parse itself. gRPC's stream reader keeps the last message it read until the next one arrives, and
  on a stream that ended early (a refused batch ends it) until a full garbage collection: reader and its
  async generator form a reference cycle. A parsed 100,000-point ingest batch holds ~6 MB of protobuf
  arena, its wire bytes 1.7 MB; taken from their ``Wire``, the bytes live only while the handler parses
  them, and the reader keeps an empty holder (RELIABILITY D5).
"""

from __future__ import annotations

from collections.abc import Collection

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

_HANDLERS = {  # (client streaming, server streaming)
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def add_service(
    servicer: object, server: grpc.aio.Server, service: ServiceDescriptor, raw_requests: Collection[str] = ()
) -> None:
    handlers = {}
    for method in service.methods:
        parse = (
            Wire
            if method.name in raw_requests
            else message_factory.GetMessageClass(method.input_type).FromString
        )
        handler = _HANDLERS[method.client_streaming, method.server_streaming]
        handlers[method.name] = handler(
            getattr(servicer, method.name), request_deserializer=parse, response_serializer=as_sent
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)


class Wire:
    """A request's wire bytes, to be taken once (the request deserializer of a method in ``raw_requests``)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def take(self) -> bytes:
        data, self._data = self._data, None
        if data is None:
            raise RuntimeError("a request's bytes are taken once")
        return data


def as_sent(response: Message | bytes) -> bytes:
    """A response's wire bytes: written already, or by protobuf now."""
    return response if isinstance(response, bytes) else response.SerializeToString()
