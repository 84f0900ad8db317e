# Version 2 residual tokens, included by _kernels.pyx: the hybrid-integer split,
# the frequency table and rANS with 1, 2 or 4 interleaved states (docs/CODEC.md, section 5).

cdef enum:
    MAX_PRECISION = 12
    MAX_TOKENS = 256


cdef struct Coded:
    int token
    int nraw


cdef inline Coded token_of(uint64_t z, int s, int m) noexcept nogil:
    """The token of zigzag value ``z`` and how many raw low bits follow it."""
    cdef Coded out
    cdef int top
    if z < (<uint64_t>1 << s):
        out.token, out.nraw = <int>z, 0
        return out
    top = bitlen(z) - 1
    out.nraw = top - m
    out.token = (1 << s) + ((top - s) << m) + <int>((z >> out.nraw) & ((<uint64_t>1 << m) - 1))
    return out


cdef inline int max_token(int s, int m) noexcept nogil:
    return (1 << s) + ((64 - s) << m) - 1


# ---- frequencies: at most 3 significant bits, summing to 2**precision --------------

cdef inline uint64_t round_frequency(uint64_t f) noexcept nogil:
    cdef int shift
    if f < 8:
        return f
    shift = bitlen(f) - 3
    return ((f + (<uint64_t>1 << (shift - 1))) >> shift) << shift


cdef inline uint64_t lower_frequency(uint64_t f) noexcept nogil:
    cdef int shift
    if f <= 8:
        return f - 1
    shift = bitlen(f) - 3
    return f - (<uint64_t>1 << shift) if (f >> shift) > 4 else f - (<uint64_t>1 << (shift - 1))


cdef struct Table:
    int precision
    int lo
    int span
    int designated          # a token
    uint32_t freq[256]      # by token
    uint32_t start[256]     # by token: cumulative frequency below it


cdef void normalize(const uint32_t* counts, uint64_t total, Table* t) noexcept nogil:
    """Frequencies for token counts, as ``reference.normalize`` chooses them."""
    cdef int k, present = 0, best
    cdef uint64_t scale, others = 0, f
    t.lo, t.span, t.designated = -1, 0, -1
    for k in range(MAX_TOKENS):
        t.freq[k] = 0
        if counts[k]:
            present += 1
            if t.lo < 0:
                t.lo = k
            t.span = k - t.lo
            if t.designated < 0 or counts[k] > counts[t.designated]:
                t.designated = k
    t.precision = min(<int>MAX_PRECISION, max(bitlen(total), bitlen(present) + 1))
    scale = <uint64_t>1 << t.precision
    for k in range(t.lo, t.lo + t.span + 1):
        if counts[k]:
            f = round_frequency((2 * counts[k] * scale + total) // (2 * total))
            t.freq[k] = <uint32_t>(f if f else 1)
            if k != t.designated:
                others += t.freq[k]
    while others > scale - 1:
        best = -1
        for k in range(t.lo, t.lo + t.span + 1):
            if k != t.designated and t.freq[k] > 1 and (best < 0 or t.freq[k] > t.freq[best]):
                best = k
        f = lower_frequency(t.freq[best])
        others -= t.freq[best] - f
        t.freq[best] = <uint32_t>f
    t.freq[t.designated] = <uint32_t>(scale - others)
    f = 0
    for k in range(t.lo, t.lo + t.span + 1):
        t.start[k] = <uint32_t>f
        f += t.freq[k]


cdef void write_table(BitSink* w, const Table* t) noexcept nogil:
    cdef int k, e, previous = 0, step
    cdef uint64_t f
    put_bits(w, <uint64_t>t.precision, 4)
    put_bits(w, <uint64_t>t.lo, 8)
    put_bits(w, <uint64_t>t.span, 8)
    if t.span:
        put_bits(w, <uint64_t>(t.designated - t.lo), 8)
    for k in range(t.lo, t.lo + t.span + 1):
        if k == t.designated:
            continue
        f = t.freq[k]
        e = bitlen(f)
        step = e - previous
        if step == 0:
            put_bits(w, 0, 1)
        elif step == 1:
            put_bits(w, 0b01, 2)
        elif step == -1:
            put_bits(w, 0b011, 3)
        else:
            put_bits(w, 0b111 | (<uint64_t>e << 3), 7)
        if e > 3:
            put_bits(w, (f >> (e - 3)) & 3, 2)
        elif e > 1:
            put_bits(w, f & ~(<uint64_t>1 << (e - 1)), e - 1)
        previous = e
    end_bits(w)


cdef int rans_encode(Sink* o, const uint8_t* tokens, Py_ssize_t n, const Table* t, int ways) noexcept nogil:
    """States, word count and words (in reading order); token i uses state i % ways, coded last to first."""
    cdef uint16_t* words = <uint16_t*>malloc(<size_t>(n if n else 1) * sizeof(uint16_t))
    cdef uint32_t x, f
    cdef uint32_t states[4]
    cdef uint64_t limit = (<uint64_t>RANS_LOW >> t.precision) << 16
    cdef Py_ssize_t i, count = 0
    cdef int sym, k
    if words == NULL:
        return E_MEMORY
    for k in range(ways):
        states[k] = RANS_LOW
    for i in range(n - 1, -1, -1):
        sym = tokens[i]
        f = t.freq[sym]
        x = states[i & (ways - 1)]
        if x >= limit * f:
            words[count] = <uint16_t>(x & 0xFFFF)
            count += 1
            x >>= 16
        states[i & (ways - 1)] = ((x // f) << t.precision) + (x % f) + t.start[sym]
    if sink_reserve(o, 26 + 2 * count) < 0:
        free(words)
        return E_MEMORY
    for k in range(ways):
        put_le(o, states[k], 4)
    put_uvarint(o, <uint64_t>count)
    for i in range(count - 1, -1, -1):
        put_le(o, words[i], 2)
    free(words)
    return OK


# ---- reading ---------------------------------------------------------------------

cdef struct Model:
    int s
    int m
    int ways                # interleaved rANS states: 1, 2 or 4
    int precision
    int lo
    int span
    uint32_t freq[256]      # by token - lo
    uint64_t base[256]      # by token - lo: smallest zigzag value of the token
    uint64_t mask[256]      # by token - lo: (1 << nraw) - 1
    uint8_t nraw[256]       # by token - lo: raw bits after it
    int max_raw             # largest nraw of a token in the table


cdef inline bint short(const BitSource* r, int width) noexcept nogil:
    """True when fewer than ``width`` bits are left (counting whole bytes, as the reference does)."""
    return <Py_ssize_t>((r.bit + <uint64_t>width + 7) >> 3) > r.avail


cdef int read_table(Cursor* c, Model* md) noexcept nogil:
    cdef BitSource r
    cdef uint64_t total = 0, f
    cdef int i, e = 0, designated = 0, width
    r.p, r.avail, r.bit = c.p + c.pos, c.end - c.pos, 0
    if short(&r, 20):
        return E_TRUNCATED
    md.precision = <int>take_bits(&r, 4)
    md.lo = <int>take_bits(&r, 8)
    md.span = <int>take_bits(&r, 8)
    if md.precision < 1 or md.precision > MAX_PRECISION or md.lo + md.span > max_token(md.s, md.m):
        return E_TABLE
    if md.span:
        if short(&r, 8):
            return E_TRUNCATED
        designated = <int>take_bits(&r, 8)
        if designated > md.span:
            return E_TABLE
    for i in range(md.span + 1):
        md.freq[i] = 0
        if i == designated:
            continue
        if short(&r, 1):
            return E_TRUNCATED
        if take_bits(&r, 1):
            if short(&r, 1):
                return E_TRUNCATED
            if not take_bits(&r, 1):
                e += 1
            else:
                if short(&r, 1):
                    return E_TRUNCATED
                if not take_bits(&r, 1):
                    e -= 1
                else:
                    if short(&r, 4):
                        return E_TRUNCATED
                    e = <int>take_bits(&r, 4)
        if e < 0 or e > 13:
            return E_TABLE
        if e:
            width = 2 if e > 3 else e - 1
            if short(&r, width):
                return E_TRUNCATED
            f = take_bits(&r, width)
            f = (4 | f) << (e - 3) if e > 3 else (<uint64_t>1 << (e - 1)) | f
            md.freq[i] = <uint32_t>f
            total += f
    if total >= (<uint64_t>1 << md.precision):
        return E_TABLE
    md.freq[designated] = <uint32_t>((<uint64_t>1 << md.precision) - total)
    if (r.bit & 7) and (r.p[r.bit >> 3] >> (r.bit & 7)):
        return E_PADDING
    c.pos += <Py_ssize_t>((r.bit + 7) >> 3)
    md.max_raw = 0
    for i in range(md.span + 1):
        token_base(md.lo + i, md.s, md.m, &md.base[i], &md.nraw[i])
        md.mask[i] = (<uint64_t>1 << md.nraw[i]) - 1
        md.max_raw = max(md.max_raw, <int>md.nraw[i])
    return OK


cdef inline void token_base(int token, int s, int m, uint64_t* base, uint8_t* nraw) noexcept nogil:
    cdef int top
    if token < (1 << s):
        base[0], nraw[0] = <uint64_t>token, 0
        return
    top = s + ((token - (1 << s)) >> m)
    nraw[0] = <uint8_t>(top - m)
    base[0] = (<uint64_t>1 << top) | ((<uint64_t>(token & ((1 << m) - 1))) << (top - m))


cdef inline uint64_t renormalize(uint64_t x, const uint8_t* words, uint64_t count, uint64_t* next_word) noexcept nogil:
    """``refill`` that reads a zero word once the words run out (and still counts it)."""
    if next_word[0] < count:
        return refill(x, words, next_word)
    if x < RANS_LOW:
        next_word[0] += 1
        return x << 16
    return x


cdef inline uint64_t step_state(uint64_t x, uint32_t e, int shift) noexcept nogil:
    """Undo one encoding step: ``e`` packs the token index, its frequency - 1 and the slot offset."""
    return (((e >> 12) & 0xFFF) + 1) * (x >> shift) + (e & 0xFFF)


cdef inline uint64_t residual(const Model* md, uint32_t e, BitSource* bits, uint64_t r, uint64_t g) noexcept nogil:
    cdef uint32_t t = e >> 24
    return r + g * unzz(md.base[t] | take_bits(bits, md.nraw[t]))


cdef inline uint64_t fast_residual(const Model* md, uint32_t e, const uint8_t* p, uint64_t* bit,
                                   uint64_t r, uint64_t g) noexcept nogil:
    """As ``residual``, for a token with at most 56 raw bits that the caller knows are in bounds."""
    cdef uint32_t t = e >> 24
    cdef uint64_t v = (le64(p + (bit[0] >> 3)) >> (bit[0] & 7)) & md.mask[t]
    bit[0] += md.nraw[t]
    return r + g * unzz(md.base[t] | v)


cdef int decode_residuals(Cursor* c, const Model* md, uint64_t* out, Py_ssize_t n, uint64_t r, uint64_t g) noexcept nogil:
    """``n`` residuals r + g * unzigzag(z): tokens from the rANS section, raw bits after it."""
    cdef uint32_t lut[4096]
    cdef uint64_t count = 0, next_word = 0, x0, x1, x2, x3
    cdef uint64_t xs[4]
    cdef const uint8_t* words
    cdef Py_ssize_t i, slot = 0, word_limit, bit_limit
    cdef uint32_t f, j, e0, e1, e2, e3, mask = (1u << md.precision) - 1
    cdef int k, status, shift = md.precision, ways = md.ways
    cdef BitSource bits
    if md.span == 0:
        lut[0] = (md.freq[0] - 1) << 12
        if <uint64_t>(c.end - c.pos) < (<uint64_t>n * md.nraw[0] + 7) >> 3:
            return E_TRUNCATED
    else:
        if c.end - c.pos < 4 * ways:
            return E_TRUNCATED
        for k in range(ways):
            xs[k] = le32(c.p + c.pos + 4 * k)
        c.pos += 4 * ways
        status = take_uvarint(c, &count)
        if status != OK:
            return status
        if count > <uint64_t>((c.end - c.pos) >> 1):
            return E_TRUNCATED
        for k in range(ways):
            if xs[k] < RANS_LOW:
                return E_RANS
        for k in range(md.span + 1):
            f = md.freq[k]
            for j in range(f):
                lut[slot + j] = (<uint32_t>k << 24) | ((f - 1) << 12) | j
            slot += f
    words = c.p + c.pos
    bits.p, bits.avail, bits.bit = words + 2 * count, c.end - c.pos - 2 * <Py_ssize_t>count, 0
    i = 0
    if md.span == 0:
        for i in range(n):
            out[i] = residual(md, lut[0], &bits, r, g)
    elif ways == 4 and md.max_raw <= 56:
        # Bounds checked once per four tokens: four words, four reads of <= 7 bytes each.
        word_limit = ((c.end - c.pos) >> 1) - 4
        bit_limit = bits.avail - 36
        x0, x1, x2, x3 = xs[0], xs[1], xs[2], xs[3]
        while i + 4 <= n and <Py_ssize_t>next_word <= word_limit and <Py_ssize_t>(bits.bit >> 3) <= bit_limit:
            e0, e1, e2, e3 = lut[x0 & mask], lut[x1 & mask], lut[x2 & mask], lut[x3 & mask]
            x0 = refill(step_state(x0, e0, shift), words, &next_word)
            x1 = refill(step_state(x1, e1, shift), words, &next_word)
            x2 = refill(step_state(x2, e2, shift), words, &next_word)
            x3 = refill(step_state(x3, e3, shift), words, &next_word)
            out[i] = fast_residual(md, e0, bits.p, &bits.bit, r, g)
            out[i + 1] = fast_residual(md, e1, bits.p, &bits.bit, r, g)
            out[i + 2] = fast_residual(md, e2, bits.p, &bits.bit, r, g)
            out[i + 3] = fast_residual(md, e3, bits.p, &bits.bit, r, g)
            i += 4
        xs[0], xs[1], xs[2], xs[3] = x0, x1, x2, x3
    if md.span:
        while i < n:
            k = <int>(i & (ways - 1))
            e0 = lut[xs[k] & mask]
            xs[k] = renormalize(step_state(xs[k], e0, shift), words, count, &next_word)
            out[i] = residual(md, e0, &bits, r, g)
            i += 1
        if next_word != count:
            return E_RANS
        for k in range(ways):
            if xs[k] != RANS_LOW:
                return E_RANS
    if <Py_ssize_t>((bits.bit + 7) >> 3) > bits.avail:
        return E_TRUNCATED
    if (bits.bit & 7) and (bits.p[bits.bit >> 3] >> (bits.bit & 7)):
        return E_PADDING
    c.pos += 2 * <Py_ssize_t>count + <Py_ssize_t>((bits.bit + 7) >> 3)
    return OK
