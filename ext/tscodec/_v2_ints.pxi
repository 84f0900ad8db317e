# Version 2 integer columns, included by _kernels.pyx (docs/CODEC.md, section 4):
# delta order, centre, and a constant, dense (tokens) or sparse (positions + offsets) kind.

cdef enum:
    CONSTANT = 0
    DENSE = 1
    SPARSE = 2
    TOKEN_SPLIT = 4
    TOKEN_MANTISSA = 2
    SAMPLE = 31
    LOG2_E = 94548          # 2**16 * log2(e)
    DENSE_PENALTY = 4096    # 2**-16 bits per token

cdef int64_t LOG2_FRACTION[256]  # set at import from format_v2.LOG2_FRACTION


cdef struct Plan:
    int64_t cost    # 2**-16 bits, by the writer's model; -1 for none yet
    int order
    uint64_t centre
    int kind


cdef inline int64_t log2_fixed(uint64_t v) noexcept nogil:
    cdef int top = bitlen(v) - 1
    cdef uint64_t index = (v >> (top - 8)) & 255 if top >= 8 else (v << (8 - top)) & 255
    return (<int64_t>top << 16) + LOG2_FRACTION[index]


cdef inline int64_t varint_bits(uint64_t v) noexcept nogil:
    return 8 * max(1, (bitlen(v) + 6) // 7)


cdef void differences(const int64_t* xs, Py_ssize_t n, int order, uint64_t* r) noexcept nogil:
    """The order-th differences (n - order of them), modulo 2**64."""
    cdef const uint64_t* x = <const uint64_t*>xs
    cdef Py_ssize_t i
    if order == 0:
        for i in range(n):
            r[i] = x[i]
    elif order == 1:
        for i in range(n - 1):
            r[i] = x[i + 1] - x[i]
    else:
        for i in range(n - 2):
            r[i] = x[i + 2] - 2 * x[i + 1] + x[i]


cdef uint64_t centre(const uint64_t* r, Py_ssize_t size) noexcept nogil:
    """The median of ``size`` sampled residuals, as signed values."""
    cdef int64_t sample[SAMPLE]
    cdef int64_t v
    cdef Py_ssize_t i, j
    for i in range(size):
        v = <int64_t>r[i]
        j = i
        while j > 0 and sample[j - 1] > v:
            sample[j] = sample[j - 1]
            j -= 1
        sample[j] = v
    return <uint64_t>sample[(size - 1) // 2]


cdef int64_t heads_bits(const int64_t* xs, int order, bint x0_known) noexcept nogil:
    cdef int64_t bits = 0
    if order >= 1 and not x0_known:
        bits += varint_bits(zz(<uint64_t>xs[0]))
    if order == 2:
        bits += varint_bits(zz(<uint64_t>xs[1] - <uint64_t>xs[0]))
    return bits


cdef uint64_t order_centre(const int64_t* xs, Py_ssize_t n, int order) noexcept nogil:
    """``centre`` of the order-th differences, sampled straight from the values."""
    cdef const uint64_t* x = <const uint64_t*>xs
    cdef uint64_t sample[SAMPLE]
    cdef Py_ssize_t count = n - order, size = min(count, <Py_ssize_t>SAMPLE), i, j
    for i in range(size):
        j = i * count // size + order
        if order == 0:
            sample[i] = x[j]
        elif order == 1:
            sample[i] = x[j] - x[j - 1]
        else:
            sample[i] = x[j] - 2 * x[j - 1] + x[j - 2]
    return centre(sample, size)


cdef inline void count_token(uint32_t* counts, int64_t* raw, uint64_t z) noexcept nogil:
    cdef Coded tk = token_of(z, TOKEN_SPLIT, TOKEN_MANTISSA)
    counts[tk.token] += 1
    raw[0] += tk.nraw


cdef int plan_ints(const int64_t* xs, Py_ssize_t n, bint x0_known, bint nested, Plan* best) noexcept nogil:
    """The cheapest delta order and kind for a column, as ``reference.plan_ints`` chooses.

    One pass counts the tokens of every order, into two tables per order taken
    in turn, so that a run of equal tokens does not wait on its own counter.
    """
    cdef const uint64_t* x = <const uint64_t*>xs
    cdef uint32_t counts[3][2][256]
    cdef int64_t raw[3]
    cdef uint64_t c[3]
    cdef int orders = <int>min(3, n), k, t
    cdef Py_ssize_t i
    cdef Plan candidate
    for k in range(orders):
        c[k] = order_centre(xs, n, k)
        raw[k] = 0
    memset(counts, 0, sizeof(counts))
    for i in range(min(n, 2)):
        count_token(counts[0][0], &raw[0], zz(x[i] - c[0]))
        if i == 1:
            count_token(counts[1][0], &raw[1], zz(x[1] - x[0] - c[1]))
    if orders == 3:
        for i in range(2, n):
            count_token(counts[0][i & 1], &raw[0], zz(x[i] - c[0]))
            count_token(counts[1][i & 1], &raw[1], zz(x[i] - x[i - 1] - c[1]))
            count_token(counts[2][i & 1], &raw[2], zz(x[i] - 2 * x[i - 1] + x[i - 2] - c[2]))
    best.cost = -1
    for k in range(orders):
        for t in range(MAX_TOKENS):
            counts[k][0][t] += counts[k][1][t]
        kind_plan(counts[k][0], raw[k], n - k, heads_bits(xs, k, x0_known) + varint_bits(zz(c[k])), nested,
                  &candidate)
        candidate.order, candidate.centre = k, c[k]
        if best.cost < 0 or candidate.cost < best.cost:
            best[0] = candidate
    return OK


cdef inline int64_t table_bits(const uint32_t* counts, int first) noexcept nogil:
    cdef int lo = -1, hi = 0, t
    for t in range(first, MAX_TOKENS):
        if counts[t]:
            lo = t if lo < 0 else lo
            hi = t
    return 28 + 4 * (hi - lo)


cdef inline int64_t entropy(const uint32_t* counts, int first, Py_ssize_t total) noexcept nogil:
    cdef int64_t cost = 0, whole = log2_fixed(<uint64_t>total)
    cdef int t
    for t in range(first, MAX_TOKENS):
        if counts[t]:
            cost += counts[t] * (whole - log2_fixed(counts[t]))
    return cost


cdef void kind_plan(const uint32_t* counts, int64_t raw, Py_ssize_t n, int64_t fixed, bint nested,
                    Plan* plan) noexcept nogil:
    """Constant, dense or sparse for one order, as ``reference.kind_plan`` chooses."""
    cdef int64_t dense, sparse
    cdef Py_ssize_t k = n - counts[0]
    if k == 0:
        plan.cost, plan.kind = (fixed + 8) * 65536, CONSTANT
        return
    dense = (fixed + 24 + raw + table_bits(counts, 0)) * 65536 + entropy(counts, 0, n)
    plan.cost, plan.kind = dense, DENSE
    if nested or 2 * <Py_ssize_t>counts[0] < n:
        return
    sparse = (24 + raw + table_bits(counts, 1)) * 65536 + entropy(counts, 1, k)
    sparse += k * (log2_fixed(<uint64_t>n) - log2_fixed(<uint64_t>k) + LOG2_E) + 48 * 65536
    sparse += (fixed + 8 + varint_bits(<uint64_t>k)) * 65536
    if sparse < dense + n * DENSE_PENALTY:
        plan.cost, plan.kind = sparse, SPARSE


cdef Py_ssize_t split_sparse(const uint64_t* r, Py_ssize_t n, uint64_t c, int64_t* where, int64_t* offsets) noexcept nogil:
    """Positions and offsets of the residuals that differ from the centre; how many."""
    cdef Py_ssize_t i, k = 0
    for i in range(n):
        if r[i] != c:
            where[k] = i
            offsets[k] = <int64_t>(r[i] - c)
            k += 1
    return k


cdef inline uint64_t gcd(uint64_t a, uint64_t b) noexcept nogil:
    cdef uint64_t t
    while b:
        t = a % b
        a = b
        b = t
    return a


cdef int encode_ints(Sink* o, const int64_t* xs, Py_ssize_t n, bint x0_known, bint nested, const Plan* given) noexcept nogil:
    """Append an integer column of ``n >= 1`` values, by the given plan or the best one."""
    cdef Plan plan
    cdef uint64_t* r
    cdef int status = OK
    if given == NULL:
        status = plan_ints(xs, n, x0_known, nested, &plan)
        if status != OK:
            return status
    else:
        plan = given[0]
    if sink_reserve(o, 32) < 0:
        return E_MEMORY
    put_byte(o, <uint8_t>(plan.order | plan.kind << 2))
    if plan.order >= 1 and not x0_known:
        put_uvarint(o, zz(<uint64_t>xs[0]))
    if plan.order == 2:
        put_uvarint(o, zz(<uint64_t>xs[1] - <uint64_t>xs[0]))
    put_uvarint(o, zz(plan.centre))
    if plan.kind == CONSTANT:
        return OK
    r = <uint64_t*>malloc(<size_t>n * 8)
    if r == NULL:
        return E_MEMORY
    differences(xs, n, plan.order, r)
    if plan.kind == SPARSE:
        status = encode_sparse(o, r, n - plan.order, plan.centre)
    else:
        status = encode_dense(o, r, n - plan.order, plan.centre)
    free(r)
    return status


cdef int encode_sparse(Sink* o, const uint64_t* r, Py_ssize_t n, uint64_t c) noexcept nogil:
    cdef int64_t* where = <int64_t*>malloc(<size_t>n * 16)
    cdef Py_ssize_t k
    cdef int status
    if where == NULL:
        return E_MEMORY
    k = split_sparse(r, n, c, where, where + n)
    put_uvarint(o, <uint64_t>k)
    status = encode_ints(o, where, k, False, True, NULL)
    if status == OK:
        status = encode_ints(o, where + n, k, False, True, NULL)
    free(where)
    return status


cdef int encode_dense(Sink* o, uint64_t* r, Py_ssize_t n, uint64_t c) noexcept nogil:
    """The token layout, step, table, rANS section and raw bits; ``r`` is overwritten."""
    cdef uint64_t g = 0, magnitude, q
    cdef Py_ssize_t i
    cdef uint32_t counts[256]
    cdef uint8_t* tokens = <uint8_t*>malloc(<size_t>n)
    cdef Table table
    cdef BitSink bits
    cdef Coded tk
    cdef int status = OK, ways
    if tokens == NULL:
        return E_MEMORY
    for i in range(n):
        r[i] -= c
        magnitude = r[i] if <int64_t>r[i] >= 0 else <uint64_t>0 - r[i]
        if g != 1:
            g = gcd(magnitude, g) if g else magnitude
    memset(counts, 0, sizeof(counts))
    for i in range(n):
        magnitude = r[i] if <int64_t>r[i] >= 0 else <uint64_t>0 - r[i]
        q = magnitude // g
        r[i] = zz(q if <int64_t>r[i] >= 0 else <uint64_t>0 - q)
        tokens[i] = <uint8_t>token_of(r[i], TOKEN_SPLIT, TOKEN_MANTISSA).token
        counts[tokens[i]] += 1
    normalize(counts, <uint64_t>n, &table)
    if sink_reserve(o, 10 * n + 400) < 0:
        free(tokens)
        return E_MEMORY
    ways = 0 if n < 64 else 1 if n < 256 else 2
    put_byte(o, TOKEN_SPLIT | TOKEN_MANTISSA << 3 | ways << 5)
    put_uvarint(o, g)
    bits.out, bits.acc, bits.used = o, 0, 0
    write_table(&bits, &table)
    if table.span:
        status = rans_encode(o, tokens, n, &table, 1 << ways)
    if status == OK:
        for i in range(n):
            tk = token_of(r[i], TOKEN_SPLIT, TOKEN_MANTISSA)
            put_bits(&bits, r[i] & ((<uint64_t>1 << tk.nraw) - 1), tk.nraw)
        end_bits(&bits)
    free(tokens)
    return status


# ---- reading -----------------------------------------------------------------------

cdef int decode_ints(Cursor* c, int64_t* out, Py_ssize_t n, bint has_x0, int64_t x0, bint nested) noexcept nogil:
    """``n`` values of the integer column at the cursor into ``out``."""
    cdef uint64_t mode, v
    cdef uint64_t heads[2]
    cdef uint64_t* x = <uint64_t*>out
    cdef int order, kind, status, j
    status = take_byte(c, &mode)
    if status != OK:
        return status
    order, kind = <int>(mode & 3), <int>(mode >> 2)
    if order == 3 or order >= n or kind > (DENSE if nested else SPARSE):
        return E_MODE
    for j in range(order):
        if j == 0 and has_x0:
            heads[0] = <uint64_t>x0
            continue
        status = take_uvarint(c, &v)
        if status != OK:
            return status
        heads[j] = unzz(v)
    status = take_uvarint(c, &v)
    if status != OK:
        return status
    v = unzz(v)
    if kind == CONSTANT:
        integrate_constant(x, n, order, heads, v)
        return OK
    if kind == SPARSE:
        return decode_sparse(c, x, n, order, heads, v)
    return decode_dense(c, x, n, order, heads, v)


cdef void integrate_constant(uint64_t* x, Py_ssize_t n, int order, const uint64_t* heads, uint64_t r) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint64_t value, step
    if order == 0:
        for i in range(n):
            x[i] = r
        return
    value, step = heads[0], (heads[1] if order == 2 else r)
    x[0] = value
    for i in range(1, n):
        value += step
        x[i] = value
        if order == 2:
            step += r


cdef int decode_sparse(Cursor* c, uint64_t* x, Py_ssize_t n, int order, const uint64_t* heads, uint64_t r) noexcept nogil:
    cdef uint64_t k
    cdef int64_t* where
    cdef Py_ssize_t count = n - order, i
    cdef int status
    status = take_uvarint(c, &k)
    if status != OK:
        return status
    if k < 1 or k > <uint64_t>count:
        return E_POSITIONS
    where = <int64_t*>malloc(<size_t>k * 16)
    if where == NULL:
        return E_MEMORY
    status = decode_ints(c, where, <Py_ssize_t>k, False, 0, True)
    if status == OK:
        status = decode_ints(c, where + k, <Py_ssize_t>k, False, 0, True)
    if status == OK:
        for i in range(<Py_ssize_t>k):
            if <uint64_t>where[i] >= <uint64_t>count or (i and <uint64_t>where[i] <= <uint64_t>where[i - 1]):
                status = E_POSITIONS
                break
    if status == OK:
        integrate_sparse(x, n, order, heads, r, <const uint64_t*>where, <const uint64_t*>where + k, <Py_ssize_t>k)
    free(where)
    return status


cdef void integrate_sparse(uint64_t* x, Py_ssize_t n, int order, const uint64_t* heads, uint64_t r,
                           const uint64_t* where, const uint64_t* offsets, Py_ssize_t k) noexcept nogil:
    """Running sums of residuals that are ``r`` except at the given positions, segment by segment."""
    cdef Py_ssize_t i, j, stop
    cdef uint64_t value, step
    if order == 0:
        for i in range(n):
            x[i] = r
        for j in range(k):
            x[where[j]] = r + offsets[j]
        return
    value, step = heads[0], (heads[1] if order == 2 else r)
    x[0] = value
    i = 1
    if order == 2:
        value += step
        x[1] = value
        i = 2
    for j in range(k + 1):
        stop = <Py_ssize_t>where[j] + order if j < k else n
        if order == 1:
            while i < stop:
                value += r
                x[i] = value
                i += 1
        else:
            while i < stop:
                step += r
                value += step
                x[i] = value
                i += 1
        if j < k:
            if order == 1:
                value += r + offsets[j]
            else:
                step += r + offsets[j]
                value += step
            x[i] = value
            i += 1


cdef int decode_dense(Cursor* c, uint64_t* x, Py_ssize_t n, int order, const uint64_t* heads, uint64_t r) noexcept nogil:
    cdef Model md
    cdef uint64_t layout, g
    cdef int status
    status = take_byte(c, &layout)
    if status == OK:
        status = take_uvarint(c, &g)
    if status != OK:
        return status
    md.s, md.m, md.ways = <int>(layout & 7), <int>((layout >> 3) & 3), 1 << <int>(layout >> 5)
    if md.m > md.s or md.ways > 4 or max_token(md.s, md.m) >= MAX_TOKENS or g == 0:
        return E_MODE
    status = read_table(c, &md)
    if status == OK:
        status = decode_residuals(c, &md, x + order, n - order, r, g)
    if status == OK:
        integrate_in_place(x, n, order, heads)
    return status


cdef void integrate_in_place(uint64_t* x, Py_ssize_t n, int order, const uint64_t* heads) noexcept nogil:
    """Running sums of residuals stored at x[order:], highest order first."""
    cdef Py_ssize_t i
    cdef uint64_t value, step
    if order == 0:
        return
    value = heads[0]
    x[0] = value
    if order == 1:
        for i in range(1, n):
            value += x[i]
            x[i] = value
        return
    step = heads[1]
    value += step
    x[1] = value
    for i in range(2, n):
        step += x[i]
        value += step
        x[i] = value
