# Version 2 blobs, included by _kernels.pyx: the Python-visible encode and decode,
# the header (docs/CODEC.md, section 2) and the block statistics.

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE


import numpy as np

from tscodec import format_v1, format_v2
from tscodec.format import BlockStats, CodecError, as_columns, as_view, version_of

cdef enum:
    FIXED_SIZE = 9
    MAX_HEADER = 128
    MAX_COUNT = 1 << 24

for _i in range(256):
    LOG2_FRACTION[_i] = format_v2.LOG2_FRACTION[_i]
for _i in range(MAX_DECIMALS + 1):
    POWERS[_i] = float(10 ** _i)

_empty = np.empty
_INT64 = np.dtype(np.int64)
_FLOAT64 = np.dtype(np.float64)
_MESSAGES = {
    E_TRUNCATED: "truncated payload: it ends inside a column",
    E_VARINT: "corrupt payload: a varint exceeds 64 bits",
    E_MODE: "corrupt payload: unknown column or section mode",
    E_TABLE: "corrupt payload: invalid token frequency table",
    E_RANS: "corrupt payload: the rANS stream does not end where the column does",
    E_PADDING: "corrupt payload: padding bits are not zero",
    E_POSITIONS: "corrupt payload: positions not increasing within the block",
    E_INDEX: "corrupt payload: dictionary size or index out of range",
    E_DECIMAL: "corrupt payload: decimal exponent above 18 or integer beyond 2**51",
    E_TRAILING: "corrupt payload: bytes follow the value section",
}


cdef struct Summary:
    Py_ssize_t count
    uint64_t nans
    int64_t min_ts, max_ts, first_ts, last_ts
    uint64_t low, high, total, first, last     # IEEE-754 bits


cdef void summarize_block(const int64_t* ts, const double* vs, Py_ssize_t n, Summary* s) noexcept nogil:
    """The statistics docs/CODEC.md defines (as version 1's ``summarize``)."""
    cdef Py_ssize_t i
    cdef double v, low = 0, high = 0, total = 0
    cdef bint seen = False
    s.count, s.nans = n, 0
    s.min_ts = s.max_ts = s.first_ts = ts[0]
    s.last_ts = ts[n - 1]
    for i in range(n):
        s.min_ts = min(s.min_ts, ts[i])
        s.max_ts = max(s.max_ts, ts[i])
        v = vs[i]
        if v != v:
            s.nans += 1
        elif not seen:
            low = high = total = v
            seen = True
        else:
            low = v if v < low else low
            high = v if v > high else high
            total += v
    s.low = s.high = s.total = 0x7FF8000000000000
    if seen:
        memcpy(&s.low, &low, 8)
        memcpy(&s.high, &high, 8)
        memcpy(&s.total, &total, 8)
    memcpy(&s.first, &vs[0], 8)
    memcpy(&s.last, &vs[n - 1], 8)


cdef Py_ssize_t write_header(uint8_t* out, const Summary* s, Py_ssize_t payload_bytes) noexcept nogil:
    cdef Sink o
    o.buf, o.size, o.cap = out, 0, MAX_HEADER
    memcpy(out, b"SFTS\x02\0\0\0\0", FIXED_SIZE)
    o.size = FIXED_SIZE
    put_uvarint(&o, <uint64_t>s.count)
    put_uvarint(&o, <uint64_t>payload_bytes)
    if s.count:
        put_uvarint(&o, s.nans)
        put_le(&o, <uint64_t>s.first_ts, 8)
        put_uvarint(&o, zz(<uint64_t>s.last_ts - <uint64_t>s.first_ts))
        put_uvarint(&o, <uint64_t>s.first_ts - <uint64_t>s.min_ts)
        put_uvarint(&o, <uint64_t>s.max_ts - <uint64_t>s.last_ts)
        put_le(&o, s.first, 8)
        put_le(&o, s.last, 8)
        put_le(&o, s.low, 8)
        put_le(&o, s.high, 8)
        put_le(&o, s.total, 8)
    return o.size


cdef int encode_payload_v2(Sink* o, const int64_t* ts, const double* vs, Py_ssize_t n) noexcept nogil:
    cdef int status = OK
    if n >= 2:
        status = encode_ints(o, ts, n, True, False, NULL)
        if status == OK:
            status = encode_values(o, vs, n)
    return status


def encode(timestamps, values):
    """A version 2 blob holding the points in the given order (see ``tscodec.encode``)."""
    ts, vs = as_columns(timestamps, values)
    cdef const int64_t[::1] tv = ts
    cdef const double[::1] vv = vs
    cdef Py_ssize_t n = tv.shape[0], head_size
    cdef Summary s
    cdef Sink o
    cdef uint8_t head[MAX_HEADER]
    cdef int status = OK
    cdef uint32_t crc
    if n > MAX_COUNT:
        raise CodecError(f"{n} points: a blob holds at most {MAX_COUNT}; split the series")
    o.buf, o.size, o.cap = NULL, 0, 0
    s.count = 0
    with nogil:
        if n:
            summarize_block(&tv[0], &vv[0], n, &s)
            status = encode_payload_v2(&o, &tv[0], &vv[0], n)
        head_size = write_header(head, &s, o.size)
    if status != OK:
        free(o.buf)
        raise MemoryError(f"cannot encode {n} points")
    blob = PyBytes_FromStringAndSize(NULL, head_size + o.size)
    cdef uint8_t* out = <uint8_t*>PyBytes_AS_STRING(blob)
    memcpy(out, head, head_size)
    if o.size:
        memcpy(out + head_size, o.buf, o.size)
    free(o.buf)
    crc = crc32c(crc32c(0, out, 5), out + FIXED_SIZE, head_size + o.size - FIXED_SIZE)
    put_le_at(out + 5, crc)
    return blob


cdef inline void put_le_at(uint8_t* p, uint32_t v) noexcept nogil:
    p[0], p[1], p[2], p[3] = <uint8_t>v, <uint8_t>(v >> 8), <uint8_t>(v >> 16), <uint8_t>(v >> 24)


cdef bint read_header(const uint8_t* p, Py_ssize_t size, Summary* s, Py_ssize_t* head_size) noexcept nogil:
    """The header fields of a version 2 blob; False if ``format_v2.read_header`` would refuse it."""
    cdef Cursor c
    cdef uint64_t count, payload_bytes, span, below, above
    c.p, c.pos, c.end = p, FIXED_SIZE, size
    if size < FIXED_SIZE or take_uvarint(&c, &count) or take_uvarint(&c, &payload_bytes) or count > MAX_COUNT:
        return False
    s.count = <Py_ssize_t>count
    if count:
        if take_uvarint(&c, &s.nans) or s.nans > count or c.end - c.pos < 8:
            return False
        s.first_ts = <int64_t>le64(p + c.pos)
        c.pos += 8
        if take_uvarint(&c, &span) or take_uvarint(&c, &below) or take_uvarint(&c, &above):
            return False
        s.last_ts = <int64_t>(<uint64_t>s.first_ts + unzz(span))
        s.min_ts = <int64_t>(<uint64_t>s.first_ts - below)
        s.max_ts = <int64_t>(<uint64_t>s.last_ts + above)
        if (s.min_ts > min(s.first_ts, s.last_ts) or s.max_ts < max(s.first_ts, s.last_ts)
                or c.end - c.pos < 40):
            return False
        s.first = le64(p + c.pos)
        c.pos += 40
    if <uint64_t>(c.end - c.pos) != payload_bytes or (count > 1) != (payload_bytes > 0):
        return False
    head_size[0] = c.pos
    return True


def decode(blob):
    """The int64 timestamps and float64 values of a blob of any version (see ``tscodec.decode``)."""
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t size
    if type(blob) is bytes:
        return decode_from(blob, <const uint8_t*>PyBytes_AS_STRING(blob), PyBytes_GET_SIZE(blob))
    if not isinstance(blob, (bytearray, memoryview)):
        raise TypeError(f"blob must be bytes, got {type(blob).__name__}")
    blob = as_view(blob)
    PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE)
    try:
        return decode_from(blob, <const uint8_t*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def header_stats(bytes blob):
    """The header statistics of a version 2 blob of points (see ``tscodec.stats``), or None for any other
    blob (another version, no points, or a header ``format_v2.read_header`` refuses: it says why)."""
    cdef Summary s
    cdef Py_ssize_t head_size = 0, size = PyBytes_GET_SIZE(blob)
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(blob)
    cdef uint64_t bits[5]
    cdef double values[5]  # first, last, min, max, sum (docs/CODEC.md, header order)
    cdef int i
    if size < 5 or memcmp(p, b"SFTS", 4) != 0 or p[4] != 2 or not read_header(p, size, &s, &head_size):
        return None
    if s.count == 0:
        return None
    for i in range(5):
        bits[i] = le64(p + head_size - 40 + 8 * i)
    memcpy(values, bits, 40)
    return BlockStats(s.count, s.min_ts, s.max_ts, s.first_ts, s.last_ts, values[2], values[3], values[4],
                      values[0], values[1], s.nans)


cdef decode_from(blob, const uint8_t* p, Py_ssize_t size):
    cdef Summary s
    cdef Py_ssize_t head_size = 0, n
    cdef Py_buffer tb, vb
    cdef int status = OK
    cdef Cursor c
    if size < 5 or memcmp(p, b"SFTS", 4) != 0 or p[4] != 2:
        return decode_other(blob)
    if not read_header(p, size, &s, &head_size):
        format_v2.read_header(as_view(blob))
        raise CodecError("corrupt blob: bad header")
    if crc32c(crc32c(0, p, 5), p + FIXED_SIZE, size - FIXED_SIZE) != le32(p + 5):
        raise CodecError("corrupt blob: checksum mismatch")
    n = s.count
    ts = _empty(n, _INT64)
    vs = _empty(n, _FLOAT64)
    PyObject_GetBuffer(ts, &tb, PyBUF_SIMPLE)
    PyObject_GetBuffer(vs, &vb, PyBUF_SIMPLE)
    c.p, c.pos, c.end = p + head_size, 0, size - head_size
    with nogil:
        if n == 1:
            (<int64_t*>tb.buf)[0] = s.first_ts
            memcpy(vb.buf, &s.first, 8)
        elif n:
            status = decode_ints(&c, <int64_t*>tb.buf, n, True, s.first_ts, False)
            if status == OK:
                status = decode_values(&c, <int64_t*>vb.buf, n)
            if status == OK and c.pos != c.end:
                status = E_TRAILING
    PyBuffer_Release(&tb)
    PyBuffer_Release(&vb)
    if status == E_MEMORY:
        raise MemoryError(f"cannot decode {n} points")
    if status != OK:
        raise CodecError(_MESSAGES[status])
    return ts, vs


cdef decode_other(blob):
    """Version 1 blobs, and the errors for anything that is not a tscodec blob."""
    view = as_view(blob)
    version_of(view)
    header, payload = format_v1.unseal(view)
    ts = _empty(header.count, _INT64)
    vs = _empty(header.count, _FLOAT64)
    decode_payload_v1(payload, ts, vs)
    return ts, vs
