# Version 2 byte and bit plumbing, included by _kernels.pyx: checksum, varints,
# a growing output buffer, LSB-first bit packing, a bounds-checked input cursor.

from cpython.mem cimport PyMem_RawFree as free, PyMem_RawMalloc as malloc, PyMem_RawRealloc as realloc

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    #include <nmmintrin.h>
    #define TSC_CRC_HW 1
    #endif

    static inline uint64_t tsc_le64(const uint8_t* p) {
        uint64_t v; memcpy(&v, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
    #endif
        return v;
    }
    static inline uint32_t tsc_le32(const uint8_t* p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    static inline uint32_t tsc_le16(const uint8_t* p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
    static inline int tsc_bitlen(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }
    /* Keeps a product in a register, so that no compiler fuses it into a later add (FMA). */
    static inline double tsc_opaque(double x) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __asm__("" : "+x"(x));
    #elif defined(__GNUC__) && defined(__aarch64__)
        __asm__("" : "+w"(x));
    #else
        volatile double v = x; x = v;
    #endif
        return x;
    }

    /* Bit fields packed least significant bit first; reads never pass p[avail - 1]
       (missing bits read as zero: callers check the length before or after). */
    static uint64_t tsc_slow_bits(const uint8_t* p, Py_ssize_t avail, Py_ssize_t at, int shift, int width) {
        uint64_t v = 0;
        int got = -shift;
        while (got < width && at < avail) {
            v |= got >= 0 ? (uint64_t)p[at] << got : (uint64_t)p[at] >> shift;
            got += 8;
            at++;
        }
        return v;
    }
    static inline __attribute__((always_inline))
    uint64_t tsc_take(const uint8_t* p, Py_ssize_t avail, uint64_t* bit, int width) {
        Py_ssize_t at = (Py_ssize_t)(*bit >> 3);
        int shift = (int)(*bit & 7);
        uint64_t v;
        if (__builtin_expect(width <= 56 && at + 8 <= avail, 1)) v = tsc_le64(p + at) >> shift;
        else v = tsc_slow_bits(p, avail, at, shift, width);
        *bit += (uint64_t)width;
        return v & ((1ULL << width) - 1);
    }

    /* rANS renormalisation without a branch (it is taken at random): when the state fell
       below 2**16, shift in the word at words[*next] and count it. The word must be readable. */
    static inline __attribute__((always_inline))
    uint64_t tsc_refill(uint64_t x, const uint8_t* words, uint64_t* next) {
        uint64_t w = tsc_le16(words + 2 * *next);
        uint64_t need = x < 65536;
        uint64_t mask = (uint64_t)0 - need;
        *next += need;
        return (x & ~mask) | (((x << 16) | w) & mask);
    }

    /* CRC-32C (Castagnoli), reflected: SSE4.2 where the CPU has it, else slicing by 8. */
    static uint32_t tsc_crc_table[8][256];
    static int tsc_crc_mode = 0;  /* 0 unknown, 1 software, 2 hardware */
    static void tsc_crc_init(void) {
        for (int b = 0; b < 256; b++) {
            uint32_t c = (uint32_t)b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0);
            tsc_crc_table[0][b] = c;
        }
        for (int b = 0; b < 256; b++)
            for (int t = 1; t < 8; t++)
                tsc_crc_table[t][b] = (tsc_crc_table[t - 1][b] >> 8) ^ tsc_crc_table[0][tsc_crc_table[t - 1][b] & 0xFF];
        tsc_crc_mode = 1;
    #ifdef TSC_CRC_HW
        __builtin_cpu_init();
        if (__builtin_cpu_supports("sse4.2")) tsc_crc_mode = 2;
    #endif
    }
    static uint32_t tsc_crc_sw(uint32_t c, const uint8_t* p, size_t n) {
        while (n >= 8) {
            uint64_t w = tsc_le64(p) ^ c;
            c = tsc_crc_table[7][w & 0xFF] ^ tsc_crc_table[6][(w >> 8) & 0xFF] ^
                tsc_crc_table[5][(w >> 16) & 0xFF] ^ tsc_crc_table[4][(w >> 24) & 0xFF] ^
                tsc_crc_table[3][(w >> 32) & 0xFF] ^ tsc_crc_table[2][(w >> 40) & 0xFF] ^
                tsc_crc_table[1][(w >> 48) & 0xFF] ^ tsc_crc_table[0][w >> 56];
            p += 8; n -= 8;
        }
        while (n--) c = tsc_crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        return c;
    }
    #ifdef TSC_CRC_HW
    __attribute__((target("sse4.2")))
    static uint32_t tsc_crc_hw(uint32_t c, const uint8_t* p, size_t n) {
        uint64_t c64 = c;
        while (n >= 8) { c64 = _mm_crc32_u64(c64, tsc_le64(p)); p += 8; n -= 8; }
        c = (uint32_t)c64;
        while (n--) c = _mm_crc32_u8(c, *p++);
        return c;
    }
    #endif
    /* Decimal integers (-2**51 <= d < 2**51) to d / power, in place, correctly rounded:
       d + 0x4338000000000000 read as a double is 2**52 + 2**51 + d exactly. Returns
       non-zero if any d is out of range (its result is then meaningless). */
    static uint64_t tsc_dec_scalar(int64_t* v, size_t i, size_t n, double power) {
        uint64_t bad = 0;
        for (; i < n; i++) {
            uint64_t b = (uint64_t)v[i] + 0x4338000000000000ULL;
            double d;
            bad |= (uint64_t)v[i] + (1ULL << 51);
            memcpy(&d, &b, 8);
            d = d - 6755399441055744.0;
            if (power != 1.0) d /= power;
            memcpy(&v[i], &d, 8);
        }
        return bad >> 52;
    }
    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    #include <immintrin.h>
    __attribute__((target("avx2")))
    static uint64_t tsc_dec_avx2(int64_t* v, size_t n, double power) {
        const __m256i bias = _mm256_set1_epi64x(0x4338000000000000LL), half = _mm256_set1_epi64x(1LL << 51);
        const __m256d magic = _mm256_set1_pd(6755399441055744.0), p = _mm256_set1_pd(power);
        __m256i bad = _mm256_setzero_si256();
        uint64_t lanes[4];
        const int whole = power == 1.0;  /* x / 1.0 is x: skip the division */
        size_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256i y = _mm256_loadu_si256((const __m256i*)(v + i));
            bad = _mm256_or_si256(bad, _mm256_add_epi64(y, half));
            __m256d d = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(y, bias)), magic);
            _mm256_storeu_pd((double*)(v + i), whole ? d : _mm256_div_pd(d, p));
        }
        _mm256_storeu_si256((__m256i*)lanes, bad);
        return ((lanes[0] | lanes[1] | lanes[2] | lanes[3]) >> 52) | tsc_dec_scalar(v, i, n, power);
    }
    static uint64_t tsc_dec_sse2(int64_t* v, size_t n, double power) {
        const __m128i bias = _mm_set1_epi64x(0x4338000000000000LL), half = _mm_set1_epi64x(1LL << 51);
        const __m128d magic = _mm_set1_pd(6755399441055744.0), p = _mm_set1_pd(power);
        __m128i bad = _mm_setzero_si128();
        uint64_t lanes[2];
        const int whole = power == 1.0;
        size_t i = 0;
        for (; i + 2 <= n; i += 2) {
            __m128i y = _mm_loadu_si128((const __m128i*)(v + i));
            bad = _mm_or_si128(bad, _mm_add_epi64(y, half));
            __m128d d = _mm_sub_pd(_mm_castsi128_pd(_mm_add_epi64(y, bias)), magic);
            _mm_storeu_pd((double*)(v + i), whole ? d : _mm_div_pd(d, p));
        }
        _mm_storeu_si128((__m128i*)lanes, bad);
        return ((lanes[0] | lanes[1]) >> 52) | tsc_dec_scalar(v, i, n, power);
    }
    static int tsc_simd = -1;
    static uint64_t tsc_decimals(int64_t* v, size_t n, double power) {
        if (tsc_simd < 0) { __builtin_cpu_init(); tsc_simd = __builtin_cpu_supports("avx2") ? 2 : 1; }
        return tsc_simd == 2 ? tsc_dec_avx2(v, n, power) : tsc_dec_sse2(v, n, power);
    }
    #else
    static uint64_t tsc_decimals(int64_t* v, size_t n, double power) { return tsc_dec_scalar(v, 0, n, power); }
    #endif

    static uint32_t tsc_crc32c(uint32_t crc, const uint8_t* p, size_t n) {
        if (!tsc_crc_mode) tsc_crc_init();
        crc = ~crc;
    #ifdef TSC_CRC_HW
        if (tsc_crc_mode == 2) return ~tsc_crc_hw(crc, p, n);
    #endif
        return ~tsc_crc_sw(crc, p, n);
    }
    """
    uint64_t le64 "tsc_le64"(const uint8_t* p) noexcept nogil
    uint32_t le32 "tsc_le32"(const uint8_t* p) noexcept nogil
    uint32_t le16 "tsc_le16"(const uint8_t* p) noexcept nogil
    int bitlen "tsc_bitlen"(uint64_t x) noexcept nogil
    double opaque "tsc_opaque"(double x) noexcept nogil
    uint32_t crc32c "tsc_crc32c"(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
    uint64_t decimals_to_doubles "tsc_decimals"(int64_t* v, size_t n, double power) noexcept nogil
    uint64_t take "tsc_take"(const uint8_t* p, Py_ssize_t avail, uint64_t* bit, int width) noexcept nogil
    uint64_t refill "tsc_refill"(uint64_t x, const uint8_t* words, uint64_t* next_word) noexcept nogil

cdef enum:
    RANS_LOW = 65536


cdef inline uint64_t zz(uint64_t v) noexcept nogil:
    """Zigzag of a two's complement value: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ..."""
    return (v << 1) ^ (<uint64_t>0 - (v >> 63))


cdef inline uint64_t unzz(uint64_t z) noexcept nogil:
    return (z >> 1) ^ (<uint64_t>0 - (z & 1))


# ---- output: a growing byte buffer ----------------------------------------------

cdef struct Sink:
    uint8_t* buf
    Py_ssize_t size
    Py_ssize_t cap


cdef int sink_reserve(Sink* o, Py_ssize_t extra) noexcept nogil:
    """Room for ``extra`` more bytes; -1 when memory runs out."""
    cdef Py_ssize_t cap = o.cap
    cdef uint8_t* grown
    if o.size + extra <= cap:
        return 0
    while cap < o.size + extra:
        cap = 2 * cap + 256
    grown = <uint8_t*>realloc(o.buf, cap)
    if grown == NULL:
        return -1
    o.buf, o.cap = grown, cap
    return 0


cdef inline void put_byte(Sink* o, uint8_t b) noexcept nogil:
    o.buf[o.size] = b
    o.size += 1


cdef inline void put_uvarint(Sink* o, uint64_t v) noexcept nogil:
    while v >= 0x80:
        o.buf[o.size] = <uint8_t>((v & 0x7F) | 0x80)
        o.size += 1
        v >>= 7
    o.buf[o.size] = <uint8_t>v
    o.size += 1


cdef inline void put_le(Sink* o, uint64_t v, int nbytes) noexcept nogil:
    cdef int k
    for k in range(nbytes):
        o.buf[o.size + k] = <uint8_t>(v >> (8 * k))
    o.size += nbytes


# ---- LSB-first bit packing: bit i of the stream is bit i % 8 of byte i // 8 ------

cdef struct BitSink:
    Sink* out
    uint64_t acc
    int used


cdef inline void put_bits(BitSink* w, uint64_t value, int width) noexcept nogil:
    """Append ``width`` (0..63) bits; ``value`` must fit in them. Room must be reserved."""
    w.acc |= value << w.used
    if w.used + width >= 64:
        put_le(w.out, w.acc, 8)
        w.acc = value >> (64 - w.used) if w.used else 0
        w.used += width - 64
    else:
        w.used += width


cdef inline void end_bits(BitSink* w) noexcept nogil:
    put_le(w.out, w.acc, (w.used + 7) >> 3)
    w.acc = 0
    w.used = 0


# ---- input: a cursor that never reads past the end ---------------------------------

cdef enum Status:
    OK = 0
    E_TRUNCATED
    E_VARINT
    E_MODE
    E_TABLE
    E_RANS
    E_PADDING
    E_POSITIONS
    E_INDEX
    E_DECIMAL
    E_TRAILING
    E_MEMORY


cdef struct Cursor:
    const uint8_t* p
    Py_ssize_t pos
    Py_ssize_t end


cdef inline int take_byte(Cursor* c, uint64_t* v) noexcept nogil:
    if c.pos >= c.end:
        return E_TRUNCATED
    v[0] = c.p[c.pos]
    c.pos += 1
    return OK


cdef int take_uvarint(Cursor* c, uint64_t* v) noexcept nogil:
    cdef uint64_t value = 0, byte
    cdef int i
    for i in range(10):
        if c.pos >= c.end:
            return E_TRUNCATED
        byte = c.p[c.pos]
        c.pos += 1
        if i == 9 and byte > 1:
            return E_VARINT
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            v[0] = value
            return OK
    return E_VARINT


cdef struct BitSource:
    const uint8_t* p     # first byte of the bit field
    Py_ssize_t avail     # bytes readable from p (to the end of the payload)
    uint64_t bit         # next bit to read


cdef inline uint64_t take_bits(BitSource* r, int width) noexcept nogil:
    """The next ``width`` (0..63) bits; zeros past the end (callers check the length)."""
    return take(r.p, r.avail, &r.bit, width)
