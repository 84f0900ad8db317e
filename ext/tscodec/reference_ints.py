"""Pure-Python tscodec version 2, integer columns (docs/CODEC.md, section 4): delta order, centre,
and a constant, dense or sparse kind, with the writer's cost model (section 8). Mirrors the compiled
``_v2_ints.pxi``."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import NamedTuple

from tscodec import format_v2 as f2
from tscodec.format import CodecError
from tscodec.format_v2 import M64, get_uvarint, log2_fixed, put_uvarint, signed, unzigzag, zigzag
from tscodec.reference_tokens import decode_tokens, encode_tokens, max_token, states_for, token_of

SAMPLE = 31  # residuals sampled for the centre (their median)
LOG2_E = 94548  # 2**16 * log2(e)
DENSE_PENALTY = 4096  # 2**-16 bits per token: 1/16 bit
CONSTANT, DENSE, SPARSE = 0, 1, 2


class Plan(NamedTuple):
    """The writer's choice for a column: estimated cost (2**-16 bits), delta order, centre, kind."""

    cost: int
    order: int
    centre: int
    kind: int


def differences(xs: list[int], order: int) -> tuple[list[int], list[int]]:
    """(the first value of each lower order, the order-th differences), all signed 64-bit."""
    heads = []
    for _ in range(order):
        heads.append(xs[0])
        xs = [signed(b - a) for a, b in pairwise(xs)]
    return heads, xs


def centre(residuals: list[int]) -> int:
    """The median of an evenly spaced sample of at most SAMPLE residuals."""
    n = len(residuals)
    size = min(n, SAMPLE)
    sample = sorted(residuals[i * n // size] for i in range(size))
    return sample[(size - 1) // 2]


def varint_bits(value: int) -> int:
    return 8 * max(1, (value.bit_length() + 6) // 7)


def plan_ints(xs: list[int], x0_known: bool = False, nested: bool = False) -> Plan:
    """The cheapest delta order and kind for a column, by the integer cost model."""
    best = None
    for order in range(min(3, len(xs))):
        heads, residuals = differences(xs, order)
        c = centre(residuals)
        fixed = sum(varint_bits(zigzag(h)) for h in heads[1 if x0_known else 0 :]) + varint_bits(zigzag(c))
        counts, raw_bits = token_counts([signed(r - c) for r in residuals])
        plan = kind_plan(counts, raw_bits, len(residuals), fixed, order, c, nested)
        best = plan if best is None or plan.cost < best.cost else best
    return best


def kind_plan(
    counts: dict[int, int], raw_bits: int, n: int, fixed: int, order: int, c: int, nested: bool
) -> Plan:
    """Constant, dense or sparse for one order, from its token counts alone.

    A sparse column's cost is estimated, not planned: its offsets cost what their
    tokens do; its positions, gaps of mean n / k, about log2(e n / k) bits each.
    Dense pays DENSE_PENALTY per token over sparse: decoding token by token is slower.
    """
    if counts.keys() == {0}:
        return Plan((fixed + 8) * 65536, order, c, CONSTANT)
    dense = (fixed + 24 + raw_bits + table_bits(counts)) * 65536 + entropy(counts, n)
    zeros = counts.get(0, 0)
    if nested or 2 * zeros < n:
        return Plan(dense, order, c, DENSE)
    k = n - zeros
    others = {t: v for t, v in counts.items() if t}
    offsets = (24 + raw_bits + table_bits(others)) * 65536 + entropy(others, k)
    positions = k * (log2_fixed(n) - log2_fixed(k) + LOG2_E) + 48 * 65536
    sparse = (fixed + 8 + varint_bits(k)) * 65536 + offsets + positions
    if sparse < dense + n * DENSE_PENALTY:
        return Plan(sparse, order, c, SPARSE)
    return Plan(dense, order, c, DENSE)


def token_counts(offsets: list[int]) -> tuple[dict[int, int], int]:
    """Token counts and raw bit total of zigzagged offsets."""
    counts: dict[int, int] = {}
    raw_bits = 0
    for o in offsets:
        token, raw, _ = token_of(zigzag(o), f2.TOKEN_SPLIT, f2.TOKEN_MANTISSA)
        counts[token] = counts.get(token, 0) + 1
        raw_bits += raw
    return counts, raw_bits


def table_bits(counts: dict[int, int]) -> int:
    return 28 + 4 * (max(counts) - min(counts))


def entropy(counts: dict[int, int], total: int) -> int:
    """Shannon cost of the token counts, in 2**-16 bits, by the integer log2 table."""
    whole = log2_fixed(total)
    return sum(c * (whole - log2_fixed(c)) for c in counts.values())


def encode_ints(
    xs: list[int], out: bytearray, x0_known: bool = False, plan: Plan | None = None, nested: bool = False
) -> None:
    """Append an integer column (signed 64-bit values, n >= 1)."""
    _, order, c, kind = plan or plan_ints(xs, x0_known, nested)
    heads, residuals = differences(xs, order)
    offsets = [signed(r - c) for r in residuals]
    out.append(order | kind << 2)
    for h in heads[1 if x0_known else 0 :]:
        put_uvarint(out, zigzag(h))
    put_uvarint(out, zigzag(c))
    if kind == SPARSE:
        where = [i for i, o in enumerate(offsets) if o]
        put_uvarint(out, len(where))
        encode_ints(where, out, nested=True)
        encode_ints([offsets[i] for i in where], out, nested=True)
    elif kind == DENSE:
        g = 0
        for o in offsets:
            g = math.gcd(g, o)
            if g == 1:
                break
        s, m, w = f2.TOKEN_SPLIT, f2.TOKEN_MANTISSA, states_for(len(offsets))
        out.append(s | m << 3 | w << 5)
        put_uvarint(out, g)
        encode_tokens([zigzag(o // g) for o in offsets], out, s, m, 1 << w)


def decode_ints(
    buf: bytes, pos: int, n: int, x0: int | None = None, nested: bool = False
) -> tuple[list[int], int]:
    """``n`` values (modulo 2**64) of the integer column at ``pos``, and the position after it."""
    if pos >= len(buf):
        raise CodecError("truncated payload: it ends before an integer column")
    mode = buf[pos]
    order, kind = mode & 3, mode >> 2
    if order == 3 or order >= n or kind > (DENSE if nested else SPARSE):
        raise CodecError(f"corrupt payload: integer column mode {mode:#04x} for {n} values")
    heads, pos = [], pos + 1
    for j in range(order):
        if j == 0 and x0 is not None:
            heads.append(x0)
            continue
        value, pos = get_uvarint(buf, pos)
        heads.append(unzigzag(value))
    value, pos = get_uvarint(buf, pos)
    c = unzigzag(value)
    residuals = [c] * (n - order)
    if kind == SPARSE:
        count, pos = get_uvarint(buf, pos)
        if not 1 <= count <= n - order:
            raise CodecError(f"corrupt payload: {count} non-zero residuals among {n - order}")
        where, pos = decode_ints(buf, pos, count, nested=True)
        offsets, pos = decode_ints(buf, pos, count, nested=True)
        if where[-1] >= n - order or any(b <= a for a, b in pairwise(where)):
            raise CodecError("corrupt payload: sparse positions not increasing within the column")
        for i, o in zip(where, offsets, strict=True):
            residuals[i] = c + o
    elif kind == DENSE:
        if pos >= len(buf):
            raise CodecError("truncated payload: it ends before a token layout")
        layout = buf[pos]
        s, m, w = layout & 7, layout >> 3 & 3, layout >> 5
        g, pos = get_uvarint(buf, pos + 1)
        if m > s or w > 2 or max_token(s, m) > 255 or g == 0:
            raise CodecError(f"corrupt payload: token layout {layout:#04x} or step {g}")
        zs, pos = decode_tokens(buf, pos, n - order, s, m, 1 << w)
        residuals = [c + g * unzigzag(z) for z in zs]
    return integrate(heads, residuals), pos


def integrate(heads: list[int], residuals: list[int]) -> list[int]:
    """Undo ``differences``: running sums, highest order first, all modulo 2**64."""
    xs = residuals
    for head in reversed(heads):
        out, x = [head & M64], head
        for r in xs:
            x = (x + r) & M64
            out.append(x)
        xs = out
    return [x & M64 for x in xs]
