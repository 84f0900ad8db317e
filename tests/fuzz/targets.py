"""Coverage-guided (atheris) fuzz targets: the tscodec readers and ingest's batch path from raw bytes.

Run as ``python -m tests.fuzz.targets {codec,ingest} [libFuzzer flags] CORPUS_DIR`` (``test_atheris.py``
does). atheris needs clang to instrument C code, which our machines lack, so the compiled codec runs
uninstrumented: coverage comes from the Python code atheris instruments on import (the pure-Python
reference reader, the header readers, ingest's validation), and the compiled reader is held to the
reference's answer on every input. A failed assertion or any exception but the expected refusal is a
crash: libFuzzer saves the input beside the corpus and the process exits non-zero.
"""

from __future__ import annotations

import contextlib
import sys
import tracemalloc

import atheris
import numpy as np

with atheris.instrument_imports(include=["tscodec", "services.ingest", "services.runtime.blocks"]):
    import tscodec
    from services.ingest.admission import footprint
    from services.ingest.batches import MalformedBatch, validate
    from services.ingest.handlers import received
    from services.ingest.service import encode_blocks
    from tscodec import reference
    from tscodec.format import CodecError

from google.protobuf.message import DecodeError

from sfcloud.v1 import ingest_pb2
from tests.codec.fuzzing import seal

NOW_NS = 1_796_515_200 * 10**9  # 2026-12-06, so that runs are repeatable
SLACK_BYTES = 64 * 1024  # interpreter and numpy bookkeeping around a call
# The pure-Python reader takes seconds for a blob declaring half a million points (linear, as docs/CODEC.md
# allows), past libFuzzer's hang limit once instrumented: larger blobs go through the compiled reader alone.
REFERENCE_POINTS = 50_000


def decoded(decode, blob: bytes) -> tuple[bytes, bytes] | None:
    """The decoded bits of a blob, or None when the reader refuses it with CodecError."""
    try:
        timestamps, values = decode(blob)
    except CodecError:
        return None
    assert timestamps.dtype == np.int64 and values.dtype == np.float64 and timestamps.shape == values.shape
    return timestamps.tobytes(), values.tobytes()


def declared_points(blob: bytes) -> int:
    try:
        return tscodec.stats(blob).count
    except CodecError:
        return 0


def peak_bytes(call, *args) -> int:
    """The most memory ``call`` held at once beyond what was held before (tracemalloc sees numpy's and
    the Cython kernels' PyMem allocations alike)."""
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    call(*args)
    return tracemalloc.get_traced_memory()[1] - before


def codec_one(data: bytes) -> None:
    """Both readers decode a blob to the same bits or both refuse it; the compiled reader holds at most
    what docs/CODEC.md allows: 16 bytes per declared point for the result and 40 of scratch (a tiny blob
    of a constant series rightly decodes to megabytes), plus ten times the input."""
    if declared_points(data) <= REFERENCE_POINTS:
        assert decoded(tscodec.decode, data) == decoded(reference.decode, data), data.hex()
    held = peak_bytes(refused_or_decoded, data)
    assert held <= 56 * declared_points(data) + 10 * len(data) + SLACK_BYTES, (held, data.hex())


def refused_or_decoded(blob: bytes) -> None:
    with contextlib.suppress(CodecError):
        tscodec.decode(blob)


def ingest_one(data: bytes) -> None:
    """A request parsed from raw bytes is refused as a MalformedBatch or becomes sorted series whose
    blocks decode to exactly their points, with statistics that describe them; the work holds no more
    memory than the admission budget charged for it (``footprint``)."""
    try:
        batch = received(data)  # parsed as the handler does: MalformedBatch when the bytes do not parse
        entries, blocks = batch.entries, batch.blocks
        charged = footprint(entries, blocks)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        encoded = encoded_batch(entries, blocks)
        held = tracemalloc.get_traced_memory()[1] - before
    except MalformedBatch:
        return
    check_rows(encoded)
    assert held <= charged + 10 * len(data) + SLACK_BYTES, (held, charged, data.hex())


def encoded_batch(entries, blocks) -> list:
    """What ingest makes of a batch before writing: each series with the block rows it will store."""
    return [(series, encode_blocks(series)) for series in validate(entries, blocks, now_ns=NOW_NS)]


def check_rows(encoded: list) -> None:
    """Sorted series whose rows decode to exactly their points, with statistics that describe them."""
    for series, rows in encoded:
        assert np.all(series.timestamps[1:] >= series.timestamps[:-1])
        columns = [tscodec.decode(row.payload) for row in rows]
        assert np.concatenate([c[0] for c in columns]).tobytes() == series.timestamps.tobytes()
        assert np.concatenate([c[1] for c in columns]).tobytes() == series.values.tobytes()
        for row, (row_ts, row_vs) in zip(rows, columns, strict=True):
            assert row.count == row_ts.size and row.nan_count == int(np.isnan(row_vs).sum())
            assert (row.start_ns, row.end_ns) == (int(row_ts.min()), int(row_ts.max()))


def resealed_blob(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation, its checksum mostly repaired: a broken checksum stops a blob before the payload
    readers, so raw mutations alone would hardly ever reach them."""
    mutated = atheris.Mutate(data, max_size)
    return seal(mutated) if seed % 4 else mutated


def resealed_request(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation of a request, the checksums of its blocks mostly repaired."""
    mutated = atheris.Mutate(data, max_size)
    if seed % 4 == 0:
        return mutated
    try:
        request = ingest_pb2.IngestRequest.FromString(mutated)
    except DecodeError:
        return mutated
    for block in request.blocks:
        block.payload = seal(block.payload)
    return request.SerializeToString()[:max_size]


TARGETS = {"codec": (codec_one, resealed_blob), "ingest": (ingest_one, resealed_request)}


def main() -> None:
    target, mutator = TARGETS[sys.argv[1]]
    tracemalloc.start()
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target, custom_mutator=mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
