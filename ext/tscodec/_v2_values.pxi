# Version 2 value section, included by _kernels.pyx (docs/CODEC.md, section 7):
# decimal or float-bits integers, exceptions, and a direct or dictionary integer column.

from libc.math cimport fabs, floor, signbit
from libc.stdlib cimport qsort

cdef enum:
    TRANSFORM_DECIMAL = 0
    TRANSFORM_FLOAT = 1
    MAX_DECIMALS = 18
    DECIMAL_SAMPLE = 32
    DICTIONARY_MAX = 1024
    HASH_BITS = 11

cdef double POWERS[19]
cdef double DECIMAL_LIMIT = 2251799813685248.0  # 2**51
cdef uint64_t FLIP = 0x7FFFFFFFFFFFFFFF


cdef inline bint as_decimal(double v, int e, int64_t* d) noexcept nogil:
    """The integer d with d / 10**e == v bit for bit (|d| < 2**51), as ``reference.as_decimal``."""
    cdef double scaled = opaque(v * POWERS[e])
    cdef double rounded
    if not fabs(scaled) < DECIMAL_LIMIT:
        return False
    rounded = floor(scaled + 0.5)
    # x / 1.0 is x exactly: no division for e == 0.
    if not fabs(rounded) < DECIMAL_LIMIT or (rounded if e == 0 else rounded / POWERS[e]) != v:
        return False
    if rounded == 0 and signbit(v):
        return False
    d[0] = <int64_t>rounded
    return True


cdef int decimal_exponent(const double* vs, Py_ssize_t n) noexcept nogil:
    """The exponent most values are exact at, judged on a sample; -1 if they mostly are not."""
    cdef int needed[DECIMAL_SAMPLE]
    cdef Py_ssize_t size = min(n, <Py_ssize_t>DECIMAL_SAMPLE), i
    cdef int e, k, misses, best_e = -1, best_misses = 0
    cdef int64_t d, cost, best_cost = -1
    cdef bint used[MAX_DECIMALS + 1]
    memset(used, 0, sizeof(used))
    used[0] = True
    for i in range(size):
        needed[i] = -1
        for e in range(MAX_DECIMALS + 1):
            if as_decimal(vs[i * n // size], e, &d):
                needed[i] = e
                used[e] = True
                break
    for e in range(MAX_DECIMALS + 1):
        if not used[e]:
            continue
        misses = 0
        for k in range(size):
            if needed[k] < 0 or needed[k] > e:
                misses += 1
        cost = misses * 192 + size * e * 10
        if best_cost < 0 or cost < best_cost:
            best_cost, best_e, best_misses = cost, e, misses
    return -1 if 2 * best_misses > size else best_e


cdef Py_ssize_t decimals(const double* vs, Py_ssize_t n, int e, int64_t* ints, int64_t* exceptions) noexcept nogil:
    """Integers (exceptions filled with the last exact one) and exception positions; -1 if half fail."""
    cdef Py_ssize_t i, count = 0, first = -1
    cdef int64_t d, fill = 0
    for i in range(n):
        if as_decimal(vs[i], e, &d):
            ints[i] = d
            if first < 0:
                first, fill = i, d
        else:
            exceptions[count] = i
            count += 1
            if 2 * count > n:
                return -1
    for i in range(count):
        ints[exceptions[i]] = ints[exceptions[i] - 1] if exceptions[i] > 0 else fill
    return count


cdef int compare_int64(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef struct Dictionary:
    Py_ssize_t size
    int64_t entries[DICTIONARY_MAX]
    int64_t keys[1 << HASH_BITS]
    int32_t slots[1 << HASH_BITS]      # -1 empty, else the entry's index once sorted


cdef inline uint32_t slot_of(const Dictionary* dic, int64_t v) noexcept nogil:
    cdef uint32_t h = <uint32_t>((<uint64_t>v * 0x9E3779B97F4A7C15ULL) >> (64 - HASH_BITS))
    while dic.slots[h] >= 0 and dic.keys[h] != v:
        h = (h + 1) & ((1 << HASH_BITS) - 1)
    return h


cdef bint distinct(const int64_t* ints, Py_ssize_t n, Dictionary* dic) noexcept nogil:
    """The sorted distinct values, if few enough for a dictionary to pay and spread wide enough to need one."""
    cdef Py_ssize_t limit = min(<Py_ssize_t>DICTIONARY_MAX, n // 4), i
    cdef uint32_t h
    dic.size = 0
    for i in range(1 << HASH_BITS):
        dic.slots[i] = -1
    for i in range(n):
        h = slot_of(dic, ints[i])
        if dic.slots[h] < 0:
            if dic.size == limit:
                return False
            dic.keys[h] = ints[i]
            dic.slots[h] = 0
            dic.entries[dic.size] = ints[i]
            dic.size += 1
    qsort(dic.entries, <size_t>dic.size, sizeof(int64_t), compare_int64)
    if dic.size < 2 or <uint64_t>dic.entries[dic.size - 1] - <uint64_t>dic.entries[0] < <uint64_t>(4 * dic.size):
        return False
    for i in range(dic.size):
        dic.slots[slot_of(dic, dic.entries[i])] = <int32_t>i
    return True


cdef int encode_values(Sink* o, const double* vs, Py_ssize_t n) noexcept nogil:
    """Append the value section of ``n >= 2`` values."""
    cdef int64_t* ints = <int64_t*>malloc(<size_t>n * 24)
    cdef int64_t* spare = ints + n
    cdef Py_ssize_t exceptions = -1, i
    cdef int e = decimal_exponent(vs, n), status
    cdef Dictionary* dic = <Dictionary*>malloc(sizeof(Dictionary))
    cdef bint use_dictionary
    cdef Plan direct, entries, keys
    if ints == NULL or dic == NULL:
        free(ints)
        free(dic)
        return E_MEMORY
    if e >= 0:
        exceptions = decimals(vs, n, e, ints, spare)
    if exceptions < 0:
        e = -1
        memcpy(ints, vs, <size_t>n * 8)
        for i in range(n):
            ints[i] = <int64_t>(<uint64_t>ints[i] ^ ((<uint64_t>(ints[i] >> 63)) >> 1))
    status = plan_ints(ints, n, False, False, &direct)
    use_dictionary = status == OK and distinct(ints, n, dic)
    if use_dictionary:
        for i in range(n):
            spare[n + i] = dic.slots[slot_of(dic, ints[i])]
        status = plan_ints(dic.entries, dic.size, False, False, &entries)
        if status == OK:
            status = plan_ints(spare + n, n, False, False, &keys)
        use_dictionary = status == OK and entries.cost + keys.cost < direct.cost
    if status == OK:
        status = write_values(o, vs, n, e, ints, spare, exceptions, dic if use_dictionary else NULL, &direct, &entries, &keys)
    free(ints)
    free(dic)
    return status


cdef int write_values(Sink* o, const double* vs, Py_ssize_t n, int e, const int64_t* ints, int64_t* spare,
                      Py_ssize_t exceptions, const Dictionary* dic, const Plan* direct, const Plan* entries,
                      const Plan* keys) noexcept nogil:
    cdef int status = OK
    cdef Py_ssize_t i
    cdef int64_t* bits
    if sink_reserve(o, 16) < 0:
        return E_MEMORY
    put_byte(o, <uint8_t>((TRANSFORM_FLOAT if e < 0 else TRANSFORM_DECIMAL) | (4 if dic != NULL else 0)
                          | (8 if exceptions > 0 else 0)))
    if e >= 0:
        put_byte(o, <uint8_t>e)
    if exceptions > 0:
        put_uvarint(o, <uint64_t>exceptions)
        status = encode_ints(o, spare, exceptions, False, False, NULL)
        if status != OK:
            return status
        bits = <int64_t*>malloc(<size_t>exceptions * 8)
        if bits == NULL:
            return E_MEMORY
        for i in range(exceptions):
            memcpy(&bits[i], &vs[spare[i]], 8)
        status = encode_ints(o, bits, exceptions, False, False, NULL)
        free(bits)
        if status != OK:
            return status
    if dic != NULL:
        if sink_reserve(o, 10) < 0:
            return E_MEMORY
        put_uvarint(o, <uint64_t>dic.size)
        status = encode_ints(o, dic.entries, dic.size, False, False, entries)
        if status == OK:
            status = encode_ints(o, spare + n, n, False, False, keys)
        return status
    return encode_ints(o, ints, n, False, False, direct)


# ---- reading -----------------------------------------------------------------------

cdef int decode_values(Cursor* c, int64_t* out, Py_ssize_t n) noexcept nogil:
    """The ``n`` value bit patterns of the section at the cursor, into ``out``."""
    cdef uint64_t mode, e = 0, count = 0, size
    cdef int64_t* patches = NULL
    cdef int64_t* entries = NULL
    cdef Py_ssize_t i
    cdef int status
    status = take_byte(c, &mode)
    if status != OK:
        return status
    if mode > 15 or (mode & 3) > TRANSFORM_FLOAT:
        return E_MODE
    if (mode & 3) == TRANSFORM_DECIMAL:
        status = take_byte(c, &e)
        if status != OK:
            return status
        if e > MAX_DECIMALS:
            return E_DECIMAL
    if mode & 8:
        status = take_uvarint(c, &count)
        if status != OK:
            return status
        if count < 1 or count > <uint64_t>n:
            return E_POSITIONS
        patches = <int64_t*>malloc(<size_t>count * 16)
        if patches == NULL:
            return E_MEMORY
        status = decode_exceptions(c, patches, <Py_ssize_t>count, n)
    if status == OK and mode & 4:
        status = take_uvarint(c, &size)
        if status == OK and (size < 1 or size > <uint64_t>n):
            status = E_INDEX
        if status == OK:
            entries = <int64_t*>malloc(<size_t>size * 8)
            status = E_MEMORY if entries == NULL else decode_ints(c, entries, <Py_ssize_t>size, False, 0, False)
        if status == OK:
            status = to_bits(entries, <Py_ssize_t>size, <int>e if (mode & 3) == TRANSFORM_DECIMAL else -1)
        if status == OK:
            status = decode_ints(c, out, n, False, 0, False)
        if status == OK:
            status = look_up(out, n, entries, size)
        free(entries)
    elif status == OK:
        status = decode_ints(c, out, n, False, 0, False)
        if status == OK:
            status = to_bits(out, n, <int>e if (mode & 3) == TRANSFORM_DECIMAL else -1)
    if status == OK:
        for i in range(<Py_ssize_t>count):
            out[patches[i]] = patches[count + i]
    free(patches)
    return status


cdef int decode_exceptions(Cursor* c, int64_t* patches, Py_ssize_t count, Py_ssize_t n) noexcept nogil:
    """Positions (strictly increasing, below n) into patches[:count], bit patterns after them."""
    cdef int status = decode_ints(c, patches, count, False, 0, False)
    cdef Py_ssize_t i
    if status == OK:
        status = decode_ints(c, patches + count, count, False, 0, False)
    if status != OK:
        return status
    for i in range(count):
        if <uint64_t>patches[i] >= <uint64_t>n or (i and patches[i] <= patches[i - 1]):
            return E_POSITIONS
    return OK


cdef int look_up(int64_t* out, Py_ssize_t n, const int64_t* entries, uint64_t size) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if <uint64_t>out[i] >= size:
            return E_INDEX
        out[i] = entries[out[i]]
    return OK


cdef int to_bits(int64_t* out, Py_ssize_t n, int e) noexcept nogil:
    """Integers to value bits in place: decimal d / 10**e, or the float-bits transform undone."""
    cdef Py_ssize_t i
    if e < 0:
        for i in range(n):
            out[i] = <int64_t>(<uint64_t>out[i] ^ ((<uint64_t>(out[i] >> 63)) >> 1))
        return OK
    return E_DECIMAL if decimals_to_doubles(out, n, POWERS[e]) else OK
