"""Answers written column-wise (`services/analytics/wire.py`) are byte for byte what protobuf writes for
the same messages built one at a time: zeros left out, -0.0 and NaN kept, negative int64 as ten bytes,
optional fields where present, packed arrays in field order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from services.analytics import wire
from sfcloud.v1 import query_pb2 as pb

BUCKETS = pb.AggregateResponse.DESCRIPTOR.fields_by_name["buckets"]
COLUMNS = pb.AggregateResponse.DESCRIPTOR.fields_by_name["columns"]
CHART = pb.ChartSeriesResponse.DESCRIPTOR.fields_by_name["columns"]
TYPES = {"double": np.float64, "int64": np.int64, "uint64": np.uint64}


def column(kind: str, rows: int):
    """A column whose values favour the edges: zero, -0.0, NaN, the extremes, small numbers."""
    dtype = TYPES[kind]
    special = {
        "double": st.sampled_from([0.0, -0.0, float("nan"), float("inf"), 1e-300, -1.5]),
        "int64": st.sampled_from([0, -1, 1, 127, 128, -(2**63), 2**63 - 1]),
        "uint64": st.sampled_from([0, 1, 127, 128, 16_383, 16_384, 2**64 - 1]),
    }[kind]
    return hnp.arrays(dtype, rows, elements=st.one_of(special, hnp.from_dtype(np.dtype(dtype))))


def _kind(field) -> str:
    return {field.TYPE_DOUBLE: "double", field.TYPE_INT64: "int64", field.TYPE_UINT64: "uint64"}[field.type]


def columns_of(message, rows: int):
    return st.fixed_dictionaries({f.name: column(_kind(f), rows) for f in message.DESCRIPTOR.fields})


def built_one_by_one(response, field: str, columns: dict[str, np.ndarray], present=None) -> bytes:
    """The reference: protobuf's own messages, a field set wherever wire.py would write it."""
    message = response()
    rows = len(next(iter(columns.values()))) if columns else 0
    for i in range(rows):
        item = getattr(message, field).add()
        for name, values in columns.items():
            if present and name in present and not present[name][i]:
                continue
            setattr(item, name, values[i].item())
    return message.SerializeToString()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40).flatmap(lambda rows: columns_of(pb.Bucket, rows)), st.booleans())
def test_buckets_are_written_as_protobuf_writes_them(columns, with_stddev):
    if not with_stddev:
        del columns["stddev"]
    assert wire.repeated(BUCKETS, columns) == built_one_by_one(pb.AggregateResponse, "buckets", columns)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 40).flatmap(
        lambda rows: st.tuples(
            columns_of(pb.ChartColumn, rows), hnp.arrays(bool, rows), hnp.arrays(bool, rows)
        )
    )
)
def test_optional_fields_are_written_where_present(drawn):
    columns, min_known, max_known = drawn
    present = {"min_ts": min_known, "max_ts": max_known}
    expected = built_one_by_one(pb.ChartSeriesResponse, "columns", columns, present)
    assert wire.repeated(CHART, columns, present) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40).flatmap(lambda rows: columns_of(pb.BucketColumns, rows)))
def test_packed_columns_are_written_as_protobuf_writes_them(columns):
    fields = sorted(pb.BucketColumns.DESCRIPTOR.fields, key=lambda f: f.number)
    body = b"".join(wire.packed(f, columns[f.name]) for f in fields)
    expected = pb.AggregateResponse(columns=pb.BucketColumns(**{k: v.tolist() for k, v in columns.items()}))
    assert wire.embedded(COLUMNS, body) == expected.SerializeToString()


def test_a_long_answer_parses_back_to_its_columns():
    """20,160 buckets (two weeks of minutes) with their timestamps near today's: the lengths take two
    bytes, the timestamps nine."""
    rows = 20_160
    starts = 1_700_000_000 * 10**9 + np.arange(rows, dtype=np.int64) * 60 * 10**9
    values = np.sin(np.arange(rows) / 50.0)
    columns = {
        "start_ns": starts,
        "count": np.full(rows, 60, np.uint64),
        "min": values,
        "last_ts": starts + 59,
    }
    parsed = pb.AggregateResponse.FromString(wire.repeated(BUCKETS, columns))
    assert [b.start_ns for b in parsed.buckets] == starts.tolist()
    assert [b.min for b in parsed.buckets] == values.tolist()
    assert {b.count for b in parsed.buckets} == {60}


def test_a_column_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match=r"sfcloud\.v1\.Bucket\.count"):
        wire.repeated(BUCKETS, {"count": np.zeros(3, np.float64)})
