"""Lists of plain objects are completed directly (`gateway/graphql/executor.py`): the answer, errors
included, is the one graphql-core's own item-by-item completion gives, for any data and selection; and
the timestamps in them are written quickly, as before."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig

from gateway.graphql.executor import PerEventExecutor
from gateway.graphql.scalars import SCALARS, Timestamp, format_timestamp, parse_timestamp


@strawberry.enum
class Quality(enum.Enum):
    GOOD = "good"
    BAD = "bad"


class Nobody(BasePermission):
    message = "nobody may read this"

    def has_permission(self, source, info, **kwargs) -> bool:
        return False


@strawberry.type
class Reading:
    at: Timestamp
    value: float | None
    count: int
    quality: Quality | None
    label: str

    @strawberry.field
    def doubled(self) -> float | None:
        return None if self.value is None else self.value * 2

    @strawberry.field(permission_classes=[Nobody])
    def secret(self) -> int:
        return 1


@strawberry.type
class Query:
    @strawberry.field
    def readings(self, info: strawberry.Info) -> list[Reading]:
        return info.context["readings"]

    @strawberry.field
    def maybe_readings(self, info: strawberry.Info) -> list[Reading | None]:
        return info.context["readings"]


def schema(executor=None) -> strawberry.Schema:
    config = StrawberryConfig(scalar_map=SCALARS)
    return strawberry.Schema(query=Query, config=config, execution_context_class=executor)


DIRECT, GENERAL = schema(PerEventExecutor), schema()

readings = st.lists(
    st.one_of(
        st.none(),
        st.builds(
            Reading,
            at=st.one_of(st.integers(0, 2**62), st.none()),
            value=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            count=st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(2**31, 2**40), st.none()),
            quality=st.one_of(st.none(), st.sampled_from(Quality)),
            label=st.one_of(st.text(max_size=5), st.none()),
        ),
    ),
    min_size=1,
    max_size=6,
)
SELECTIONS = [
    "{ readings { at value count quality label } }",
    "{ readings { v: value c: count at } }",
    "{ readings { a: at b: at value c: value at } }",
    "{ maybeReadings { value quality } }",
    "{ readings { value doubled } }",
    "{ readings { __typename value } }",
    "{ readings { value secret } }",
    "query($x: Boolean!) { readings { value count @include(if: $x) label @skip(if: $x) } }",
    "{ readings { ...parts } } fragment parts on Reading { at value }",
]


def answer(schema: strawberry.Schema, query: str, rows: list) -> dict:
    result = schema.execute_sync(query, variable_values={"x": True}, context_value={"readings": rows})
    return {
        "data": result.data,
        "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or ()),
    }


@pytest.mark.parametrize("query", SELECTIONS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rows=readings)
def test_the_direct_answer_is_graphql_cores(query, rows):
    assert answer(DIRECT, query, rows) == answer(GENERAL, query, rows)


def test_plain_lists_are_completed_directly(monkeypatch):
    """The direct way is taken for plain selections (and not for a resolver or a permission)."""
    taken = []
    original = PerEventExecutor._plain_columns

    def spy(self, *args):
        plan = original(self, *args)
        taken.append(plan is not None)
        return plan

    monkeypatch.setattr(PerEventExecutor, "_plain_columns", spy)
    rows = [Reading(at=1, value=1.5, count=2, quality=Quality.GOOD, label="a")]
    for query, direct in [
        ("{ readings { at value count quality label } }", True),
        ("{ readings { value doubled } }", False),
        ("{ readings { value secret } }", False),
    ]:
        taken.clear()
        answer(DIRECT, query, rows)
        assert taken == [direct], query


@settings(max_examples=2000, deadline=None)
@given(ns=st.integers(-(2**63), 2**63 - 1))
def test_a_timestamp_is_written_as_strftime_wrote_it_and_reads_back(ns):
    """`format_timestamp` writes the date from a cache and the time in arithmetic, for speed."""
    seconds, fraction = divmod(ns, 10**9)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert format_timestamp(ns) == (f"{base}.{fraction:09d}Z" if fraction else f"{base}Z")
    assert parse_timestamp(format_timestamp(ns)) == ns
