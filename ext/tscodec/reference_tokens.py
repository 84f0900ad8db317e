"""Pure-Python tscodec version 2, residual tokens (docs/CODEC.md, section 5): the hybrid-integer
split, frequency tables, rANS and the raw bits. Mirrors the compiled ``_v2_tokens.pxi``."""

from __future__ import annotations

import struct

from tscodec import format_v2 as f2
from tscodec.format import CodecError
from tscodec.format_v2 import get_uvarint, put_uvarint

RANS_LOW = 1 << 16  # rANS states live in [2**16, 2**32)


# ---- tokens: a zigzag value as a token plus raw low bits --------------------


def token_of(z: int, s: int, m: int) -> tuple[int, int, int]:
    """(token, raw bit count, raw bits) of zigzag value ``z``."""
    if z < 1 << s:
        return z, 0, 0
    top = z.bit_length() - 1
    raw = top - m
    return (1 << s) + ((top - s) << m) + ((z >> raw) & ((1 << m) - 1)), raw, z & ((1 << raw) - 1)


def token_base(token: int, s: int, m: int) -> tuple[int, int]:
    """(smallest value, raw bit count) of a token."""
    if token < 1 << s:
        return token, 0
    top = s + ((token - (1 << s)) >> m)
    raw = top - m
    return (1 << top) | ((token & ((1 << m) - 1)) << raw), raw


def max_token(s: int, m: int) -> int:
    return (1 << s) + ((64 - s) << m) - 1


# ---- the frequency table ----------------------------------------------------


def frequency_code(f: int) -> tuple[int, int, int]:
    """(E, mantissa, mantissa bits) of a frequency with at most 3 significant bits."""
    e = f.bit_length()
    if e <= 3:
        return e, f & ~(1 << (e - 1)) if e else 0, max(e - 1, 0)
    return e, (f >> (e - 3)) & 3, 2


def round_frequency(f: int) -> int:
    """``f`` rounded (half up) to at most 3 significant bits."""
    if f < 8:
        return f
    shift = f.bit_length() - 3
    return ((f + (1 << (shift - 1))) >> shift) << shift


def lower_frequency(f: int) -> int:
    """The next smaller frequency with at most 3 significant bits (f >= 2)."""
    if f <= 8:
        return f - 1
    shift = f.bit_length() - 3
    return f - (1 << shift) if f >> shift > 4 else f - (1 << (shift - 1))


def normalize(counts: dict[int, int], total: int) -> tuple[int, dict[int, int], int]:
    """(precision, frequencies summing to 2**precision, designated token) for token counts."""
    present = sorted(counts)
    precision = min(f2.MAX_PRECISION, max(total.bit_length(), len(present).bit_length() + 1))
    scale = 1 << precision
    designated = max(present, key=lambda t: (counts[t], -t))
    freqs = {t: max(1, round_frequency((2 * counts[t] * scale + total) // (2 * total))) for t in present}
    others = sum(f for t, f in freqs.items() if t != designated)
    while others > scale - 1:
        t = max((t for t in present if t != designated and freqs[t] > 1), key=lambda t: (freqs[t], -t))
        lowered = lower_frequency(freqs[t])
        others -= freqs[t] - lowered
        freqs[t] = lowered
    freqs[designated] = scale - others
    return precision, freqs, designated


def write_table(bits: BitWriter, precision: int, freqs: dict[int, int], designated: int) -> None:
    lo, hi = min(freqs), max(freqs)
    bits.put(precision, 4)
    bits.put(lo, 8)
    bits.put(hi - lo, 8)
    if hi > lo:
        bits.put(designated - lo, 8)
    previous = 0
    for t in range(lo, hi + 1):
        if t != designated:
            e, mantissa, width = frequency_code(freqs.get(t, 0))
            step = e - previous
            if step in (0, 1, -1):
                bits.put((0, 0b01, 0b011)[step], (1, 2, 3)[step])
            else:
                bits.put(0b111 | e << 3, 7)
            bits.put(mantissa, width)
            previous = e


def read_table(buf: bytes, pos: int, s: int, m: int) -> tuple[int, int, list[int], int]:
    """(precision, lowest token, frequencies from it on, position after the table)."""
    bits = BitReader(buf, pos)
    precision, lo, span = bits.take(4), bits.take(8), bits.take(8)
    if not 1 <= precision <= f2.MAX_PRECISION:
        raise CodecError(f"corrupt payload: rANS precision {precision}")
    if lo + span > max_token(s, m):
        raise CodecError("corrupt payload: token table beyond the largest token")
    designated = bits.take(8) if span else 0
    if designated > span:
        raise CodecError("corrupt payload: designated token outside the table")
    freqs, e = [0] * (span + 1), 0
    for i in range(span + 1):
        if i == designated:
            continue
        if bits.take(1):
            if not bits.take(1):
                e += 1
            elif not bits.take(1):
                e -= 1
            else:
                e = bits.take(4)
        if not 0 <= e <= 13:
            raise CodecError(f"corrupt payload: frequency exponent {e}")
        freqs[i] = ((4 | bits.take(2)) << (e - 3)) if e > 3 else (1 << (e - 1) | bits.take(e - 1)) if e else 0
    rest = (1 << precision) - sum(freqs)
    if rest < 1:
        raise CodecError("corrupt payload: token frequencies exceed the rANS range")
    freqs[designated] = rest
    return precision, lo, freqs, bits.end()


class BitWriter:
    """Fields packed least significant bit first (bit i is bit i % 8 of byte i // 8)."""

    def __init__(self) -> None:
        self.acc = self.used = 0

    def put(self, value: int, width: int) -> None:
        self.acc |= value << self.used
        self.used += width

    def bytes(self) -> bytes:
        return self.acc.to_bytes((self.used + 7) // 8, "little")


class BitReader:
    """Reads what ``BitWriter`` wrote from ``buf[pos:]``; padding of the last byte must be zero."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.start, self.bit = buf, pos, 0

    def take(self, width: int) -> int:
        end = self.bit + width
        if self.start + (end + 7) // 8 > len(self.buf):
            raise CodecError("truncated payload: it ends inside a bit field")
        first, last = self.start + self.bit // 8, self.start + (end + 7) // 8
        value = (int.from_bytes(self.buf[first:last], "little") >> (self.bit % 8)) & ((1 << width) - 1)
        self.bit = end
        return value

    def end(self) -> int:
        """The byte position after the fields; checks the padding."""
        if self.bit % 8 and self.buf[self.start + self.bit // 8] >> (self.bit % 8):
            raise CodecError("corrupt payload: padding bits are not zero")
        return self.start + (self.bit + 7) // 8


# ---- rANS: 1, 2 or 4 interleaved 32-bit states, 16-bit words ----------------


def states_for(n: int) -> int:
    """How many interleaved rANS states the writer uses for ``n`` tokens (log2: 0, 1 or 2)."""
    return 0 if n < 64 else 1 if n < 256 else 2


def rans_encode(
    tokens: list[int], freqs: dict[int, int], precision: int, ways: int
) -> tuple[list[int], list[int]]:
    """(final states, words in reading order); token i uses state i % ways, coded last to first."""
    starts, cum = {}, 0
    for t in sorted(freqs):
        starts[t], cum = cum, cum + freqs[t]
    states, words = [RANS_LOW] * ways, []
    for i in range(len(tokens) - 1, -1, -1):
        t = tokens[i]
        f, x = freqs[t], states[i % ways]
        if x >= ((RANS_LOW >> precision) << 16) * f:
            words.append(x & 0xFFFF)
            x >>= 16
        states[i % ways] = ((x // f) << precision) + x % f + starts[t]
    words.reverse()
    return states, words


def rans_decode(
    buf: bytes, pos: int, n: int, ways: int, precision: int, lo: int, freqs: list[int]
) -> tuple[list[int], int]:
    """``n`` tokens and the position after the rANS section."""
    if pos + 4 * ways > len(buf):
        raise CodecError("truncated payload: it ends inside the rANS states")
    states = list(struct.unpack_from(f"<{ways}I", buf, pos))
    count, pos = get_uvarint(buf, pos + 4 * ways)
    if count > (len(buf) - pos) // 2:
        raise CodecError("truncated payload: fewer rANS words than the column declares")
    words = struct.unpack_from(f"<{count}H", buf, pos)
    if min(states) < RANS_LOW:
        raise CodecError("corrupt payload: rANS state below 2**16")
    slots, starts = [], []
    for i, f in enumerate(freqs):
        starts.append(len(slots))
        slots += [i] * f
    mask, tokens, next_word = (1 << precision) - 1, [], 0
    for i in range(n):
        x = states[i % ways]
        i_tok = slots[x & mask]
        x = freqs[i_tok] * (x >> precision) + (x & mask) - starts[i_tok]
        if x < RANS_LOW:
            if next_word == count:
                raise CodecError("corrupt payload: the rANS words run out")
            x = (x << 16) | words[next_word]
            next_word += 1
        states[i % ways] = x
        tokens.append(lo + i_tok)
    if next_word != count or states != [RANS_LOW] * ways:
        raise CodecError("corrupt payload: the rANS stream does not end where the column does")
    return tokens, pos + 2 * count


def encode_tokens(zs: list[int], out: bytearray, s: int, m: int, ways: int) -> None:
    coded = [token_of(z, s, m) for z in zs]
    counts: dict[int, int] = {}
    for token, _, _ in coded:
        counts[token] = counts.get(token, 0) + 1
    precision, freqs, designated = normalize(counts, len(zs))
    table = BitWriter()
    write_table(table, precision, freqs, designated)
    out += table.bytes()
    if len(freqs) > 1:
        states, words = rans_encode([t for t, _, _ in coded], freqs, precision, ways)
        out += struct.pack(f"<{ways}I", *states)
        put_uvarint(out, len(words))
        out += struct.pack(f"<{len(words)}H", *words)
    raw = BitWriter()
    for _, width, value in coded:
        raw.put(value, width)
    out += raw.bytes()


def decode_tokens(buf: bytes, pos: int, n: int, s: int, m: int, ways: int) -> tuple[list[int], int]:
    """``n`` zigzag values: the table, the rANS section (unless one token), the raw bits."""
    precision, lo, freqs, pos = read_table(buf, pos, s, m)
    if len(freqs) == 1:
        tokens = [lo] * n
    else:
        tokens, pos = rans_decode(buf, pos, n, ways, precision, lo, freqs)
    bases = [token_base(t, s, m) for t in tokens]
    raw_bits = sum(width for _, width in bases)
    if pos + (raw_bits + 7) // 8 > len(buf):
        raise CodecError("truncated payload: it ends inside the raw bits of a column")
    bits = BitReader(buf, pos)
    zs = [base + bits.take(width) if width else base for base, width in bases]
    return zs, bits.end()
