# Version 1 (Gorilla) kernels, included by _kernels.pyx: byte-identical to ``reference_v1``.
#
# Bit layout, buckets and the window rule are specified in ``format_v1.py``.

from cpython.mem cimport PyMem_Free, PyMem_Malloc

from tscodec.format import CodecError
from tscodec.format_v1 import NAN_BITS, payload_bounds


cdef extern from *:
    """
    static inline int tscodec_clz64(unsigned long long x) { return __builtin_clzll(x); }
    static inline int tscodec_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
    """
    int clz64 "tscodec_clz64"(uint64_t x) noexcept nogil
    int ctz64 "tscodec_ctz64"(uint64_t x) noexcept nogil

cdef enum:
    MAX_LEADING = 31
    WINDOW_HEADER_BITS = 11
    V1_OK = 0
    V1_TRUNCATED = 1
    V1_NO_WINDOW = 2
    V1_BAD_WINDOW = 3


cdef inline uint64_t _bits(const double* value) noexcept nogil:
    """The IEEE-754 bits, copied so that no NaN passes through a float register."""
    cdef uint64_t out = 0
    memcpy(&out, value, 8)
    return out


# ---- bit writer: MSB-first into a buffer sized for the worst case ----

cdef struct Writer:
    uint8_t* out
    Py_ssize_t pos      # bytes flushed
    uint64_t acc        # pending bits, left-aligned
    int used            # pending bit count, 0..63


cdef inline void _flush64(Writer* w) noexcept nogil:
    cdef int k
    for k in range(8):
        w.out[w.pos + k] = <uint8_t>(w.acc >> (56 - 8 * k))
    w.pos += 8


cdef inline void _put(Writer* w, uint64_t value, int width) noexcept nogil:
    """Append ``width`` (1..64) bits; ``value`` must fit in them."""
    cdef int room = 64 - w.used
    cdef int spill
    if width < room:
        w.acc |= value << (room - width)
        w.used += width
    elif width == room:
        w.acc |= value
        _flush64(w)
        w.acc = 0
        w.used = 0
    else:
        spill = width - room
        w.acc |= value >> spill
        _flush64(w)
        w.acc = value << (64 - spill)
        w.used = spill


cdef inline Py_ssize_t _finish(Writer* w) noexcept nogil:
    cdef int k
    for k in range((w.used + 7) // 8):
        w.out[w.pos + k] = <uint8_t>(w.acc >> (56 - 8 * k))
    return w.pos + (w.used + 7) // 8


cdef inline void _put_dod(Writer* w, uint64_t dod) noexcept nogil:
    cdef int64_t signed = <int64_t>dod
    if signed == 0:
        _put(w, 0, 1)
    elif -(1 << 11) <= signed < (1 << 11):
        _put(w, 0b10, 2)
        _put(w, dod & 0xFFF, 12)
    elif -(1 << 23) <= signed < (1 << 23):
        _put(w, 0b110, 3)
        _put(w, dod & 0xFFFFFF, 24)
    elif -(1LL << 35) <= signed < (1LL << 35):
        _put(w, 0b1110, 4)
        _put(w, dod & 0xFFFFFFFFFULL, 36)
    else:
        _put(w, 0b1111, 4)
        _put(w, dod, 64)


cdef struct Window:
    int lead            # -1 until the first '11' field
    int size


cdef inline void _put_xor(Writer* w, Window* win, uint64_t x) noexcept nogil:
    cdef int lead, trail, size
    if x == 0:
        _put(w, 0, 1)
        return
    lead = min(clz64(x), MAX_LEADING)
    trail = ctz64(x)
    size = 64 - lead - trail
    if (win.lead >= 0 and lead >= win.lead and trail >= 64 - win.lead - win.size
            and win.size <= size + WINDOW_HEADER_BITS):
        _put(w, 0b10, 2)
        _put(w, x >> (64 - win.lead - win.size), win.size)
        return
    _put(w, (0b11 << 11) | (<uint64_t>lead << 6) | <uint64_t>(size & 63), 13)
    _put(w, x >> trail, size)
    win.lead = lead
    win.size = size


cdef Py_ssize_t _encode(uint8_t* out, const int64_t* ts, const double* vs, Py_ssize_t n) noexcept nogil:
    cdef Writer w = Writer(out, 0, 0, 0)
    cdef Window win = Window(-1, 0)
    cdef uint64_t step, delta = 0, prev_bits = _bits(&vs[0])
    cdef uint64_t cur_bits
    cdef Py_ssize_t i
    _put(&w, <uint64_t>ts[0], 64)
    _put(&w, prev_bits, 64)
    for i in range(1, n):
        step = <uint64_t>ts[i] - <uint64_t>ts[i - 1]
        _put_dod(&w, step - delta)
        delta = step
        cur_bits = _bits(&vs[i])
        _put_xor(&w, &win, cur_bits ^ prev_bits)
        prev_bits = cur_bits
    return _finish(&w)


def encode_payload_v1(const int64_t[::1] timestamps, const double[::1] values):
    """The Gorilla bit stream of validated columns, as bytes."""
    cdef Py_ssize_t n = timestamps.shape[0], used
    if values.shape[0] != n:
        raise ValueError("timestamps and values differ in length")
    if n == 0:
        return b""
    cdef Py_ssize_t bound = payload_bounds(n)[1]  # exact: the writer never rounds up further
    cdef uint8_t* out = <uint8_t*>PyMem_Malloc(bound)
    if out == NULL:
        raise MemoryError(f"cannot allocate {bound} bytes for {n} points")
    try:
        with nogil:
            used = _encode(out, &timestamps[0], &values[0], n)
        return (<char*>out)[:used]
    finally:
        PyMem_Free(out)


# ---- bit reader: MSB-first, never reads past the payload ----

cdef struct Reader:
    const uint8_t* buf
    Py_ssize_t size     # payload bytes
    Py_ssize_t pos      # next byte to load
    uint64_t acc        # unread bits, left-aligned (bits below `avail` may hold the next byte)
    int avail           # unread bits in acc
    bint short          # a read wanted more bits than the payload has


cdef inline void _refill(Reader* r) noexcept nogil:
    """Top up ``acc`` to at least 56 bits, or to the end of the payload."""
    cdef uint64_t word = 0
    cdef int k
    if r.pos + 8 <= r.size:
        for k in range(8):
            word = (word << 8) | r.buf[r.pos + k]
        r.acc |= word >> r.avail
        r.pos += (63 - r.avail) >> 3
        r.avail |= 56
    else:
        while r.avail <= 56 and r.pos < r.size:
            r.acc |= (<uint64_t>r.buf[r.pos]) << (56 - r.avail)
            r.avail += 8
            r.pos += 1


cdef inline uint64_t _take(Reader* r, int width) noexcept nogil:
    """The next ``width`` (1..56) bits; 0 and ``short`` set past the end."""
    cdef uint64_t value
    if r.avail < width:
        _refill(r)
        if r.avail < width:
            r.short = True
            return 0
    value = r.acc >> (64 - width)
    r.acc <<= width
    r.avail -= width
    return value


cdef inline uint64_t _take_wide(Reader* r, int width) noexcept nogil:
    """Like ``_take`` for 33..64 bits."""
    cdef uint64_t high = _take(r, width - 32)
    return (high << 32) | _take(r, 32)


cdef inline uint64_t _take_dod(Reader* r) noexcept nogil:
    cdef uint64_t raw
    if _take(r, 1) == 0:
        return 0
    if _take(r, 1) == 0:
        raw = _take(r, 12)
        return raw - ((raw >> 11) << 12)
    if _take(r, 1) == 0:
        raw = _take(r, 24)
        return raw - ((raw >> 23) << 24)
    if _take(r, 1) == 0:
        raw = _take_wide(r, 36)
        return raw - ((raw >> 35) << 36)
    return _take_wide(r, 64)


cdef inline int _take_xor(Reader* r, Window* win, uint64_t* x) noexcept nogil:
    cdef int lead, size
    if _take(r, 1) == 0:
        x[0] = 0
        return V1_OK
    if _take(r, 1) == 1:
        lead = <int>_take(r, 5)
        size = <int>_take(r, 6)
        size = 64 if size == 0 else size
        if lead + size > 64:
            return V1_BAD_WINDOW
        win.lead = lead
        win.size = size
    elif win.lead < 0:
        return V1_NO_WINDOW
    if win.size > 32:
        x[0] = _take_wide(r, win.size) << (64 - win.lead - win.size)
    else:
        x[0] = _take(r, win.size) << (64 - win.lead - win.size)
    return V1_OK


cdef int _decode(Reader* r, int64_t* ts, double* vs, Py_ssize_t n, Py_ssize_t* at) noexcept nogil:
    cdef Window win = Window(-1, 0)
    cdef uint64_t t = _take_wide(r, 64), delta = 0, cur = _take_wide(r, 64), x = 0
    cdef Py_ssize_t i
    cdef int status = V1_OK
    at[0] = 0
    if r.short:
        return V1_TRUNCATED
    ts[0] = <int64_t>t
    memcpy(&vs[0], &cur, 8)
    for i in range(1, n):
        delta += _take_dod(r)
        t += delta
        status = _take_xor(r, &win, &x)
        if r.short or status != V1_OK:
            at[0] = i
            return V1_TRUNCATED if r.short else status
        cur ^= x
        ts[i] = <int64_t>t
        memcpy(&vs[i], &cur, 8)
    at[0] = n
    return V1_TRUNCATED if r.short else V1_OK


def decode_payload_v1(const uint8_t[::1] payload, int64_t[::1] timestamps, double[::1] values):
    """Fill the preallocated columns from a payload, or raise CodecError."""
    cdef Py_ssize_t n = timestamps.shape[0], at = 0
    cdef Reader r = Reader(NULL, payload.shape[0], 0, 0, 0, False)
    cdef int status = V1_OK
    if values.shape[0] != n:
        raise ValueError("timestamps and values differ in length")
    if r.size:
        r.buf = &payload[0]
    if n:
        with nogil:
            status = _decode(&r, &timestamps[0], &values[0], n, &at)
    if status == V1_TRUNCATED:
        raise CodecError(f"truncated payload: it ends inside point {at}")
    if status == V1_NO_WINDOW:
        raise CodecError("corrupt payload: a value reuses a window before any was set")
    if status == V1_BAD_WINDOW:
        raise CodecError("corrupt payload: value window wider than 64 bits")
    _check_tail(&r)


cdef _check_tail(Reader* r):
    """Only zero padding, less than a byte of it, may follow the last point."""
    cdef Py_ssize_t left = r.avail + 8 * (r.size - r.pos)
    if left >= 8:
        raise CodecError(f"corrupt payload: {left // 8} bytes follow the last point")
    if left and r.acc >> (64 - left):
        raise CodecError("corrupt payload: padding bits are not zero")


def summarize(const int64_t[::1] timestamps, const double[::1] values):
    """The header statistics in ``format.Header`` order, values as raw bits."""
    cdef Py_ssize_t n = timestamps.shape[0], i, nans = 0
    cdef int64_t low_ts, high_ts
    cdef double v, low = 0, high = 0, total = 0
    cdef bint seen = False
    if values.shape[0] != n:
        raise ValueError("timestamps and values differ in length")
    if n == 0:
        return (0, 0, 0, 0, 0, 0, NAN_BITS, NAN_BITS, NAN_BITS, NAN_BITS, NAN_BITS)
    low_ts = high_ts = timestamps[0]
    with nogil:
        for i in range(n):
            low_ts = min(low_ts, timestamps[i])
            high_ts = max(high_ts, timestamps[i])
            v = values[i]
            if v != v:
                nans += 1
            elif not seen:
                low = high = total = v
                seen = True
            else:
                low = v if v < low else low
                high = v if v > high else high
                total += v
    if seen:
        value_stats = (_bits(&low), _bits(&high), _bits(&total))
    else:
        value_stats = (NAN_BITS, NAN_BITS, NAN_BITS)
    return (n, nans, low_ts, high_ts, timestamps[0], timestamps[n - 1], *value_stats,
            _bits(&values[0]), _bits(&values[n - 1]))
