# Statistics of decoded blocks per time bucket: the compiled ``summaries.bucket_parts``.
#
# Each blob is decoded (``decode``), put in time order when it is not (rare: ingest stores sorted
# blocks), and walked once without the GIL: a point's bucket is the previous point's or the next one
# (the common case: sorted points, many per bucket), else found by binary search over the edges. A row
# is emitted when the bucket changes. The rows go into a growing C array, copied once into the result.

from libc.math cimport isnan
# free and realloc: _v2_io.pxi's PyMem_Raw* (the module allocates with them; libc's here would pair
# PyMem_RawMalloc with libc free, which debug allocators and tracemalloc reject)

from tscodec.summaries import PARTS


cdef struct Part:
    int64_t bucket
    int64_t count
    double min
    double max
    double sum
    double m2
    int64_t first_ts
    double first
    int64_t last_ts
    double last
    int64_t min_ts
    int64_t max_ts


cdef struct PartList:
    Part* rows
    Py_ssize_t size
    Py_ssize_t capacity


cdef inline Py_ssize_t bucket_of(const int64_t* edges, Py_ssize_t n_edges, int64_t t, Py_ssize_t hint) noexcept nogil:
    """The bucket holding ``t`` (edges[0] <= t < edges[n_edges - 1]), trying ``hint`` and its successor first."""
    cdef Py_ssize_t lo, hi, mid
    if edges[hint] <= t:
        if t < edges[hint + 1]:
            return hint
        if hint + 2 < n_edges and t < edges[hint + 2]:
            return hint + 1
    lo, hi = 0, n_edges - 1  # the answer lies in [lo, hi): edges[lo] <= t < edges[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= t:
            lo = mid
        else:
            hi = mid
    return lo


cdef bint is_sorted(const int64_t* ts, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(1, n):
        if ts[i] < ts[i - 1]:
            return False
    return True


cdef int add_parts(PartList* out, const int64_t* ts, const double* vs, Py_ssize_t n,
                   const int64_t* edges, Py_ssize_t n_edges, bint with_m2) noexcept nogil:
    """Append one row per bucket run of the points; E_MEMORY when the list cannot grow."""
    cdef Py_ssize_t i, bucket, hint = 0
    cdef Part* p = NULL
    cdef Part* grown
    cdef double v, delta, mean = 0
    cdef int64_t t, lo = edges[0], hi = edges[n_edges - 1]
    for i in range(n):
        t, v = ts[i], vs[i]
        if t < lo or t >= hi or isnan(v):
            continue
        bucket = bucket_of(edges, n_edges, t, hint)
        hint = bucket
        if p == NULL or p.bucket != bucket:
            if out.size == out.capacity:
                grown = <Part*>realloc(out.rows, (2 * out.capacity + 64) * sizeof(Part))
                if grown == NULL:
                    return E_MEMORY
                out.rows, out.capacity = grown, 2 * out.capacity + 64
            p = &out.rows[out.size]
            out.size += 1
            p.bucket, p.count, p.min, p.max, p.sum, p.m2 = bucket, 0, v, v, 0, 0
            p.first_ts, p.first, p.min_ts, p.max_ts = t, v, t, t
            mean = 0
        p.count += 1
        p.sum += v
        p.last_ts, p.last = t, v
        if v < p.min:
            p.min, p.min_ts = v, t
        if v > p.max:
            p.max, p.max_ts = v, t
        if with_m2:  # Welford: exact enough to combine buckets' variances
            delta = v - mean
            mean += delta / p.count
            p.m2 += delta * (v - mean)
    return OK


cdef void copy_rows(uint8_t[::1] into, PartList* out) noexcept:
    if out.size:
        memcpy(&into[0], out.rows, out.size * sizeof(Part))


def bucket_parts(blobs, edges, bint with_m2=False):
    """Per blob and bucket, the statistics of its points (see ``tscodec.summaries``)."""
    cdef const int64_t[::1] e = np.ascontiguousarray(edges, dtype=np.int64)
    cdef const int64_t[::1] tv
    cdef const double[::1] vv
    cdef PartList out
    cdef int status = OK
    cdef bint in_order
    cdef Py_ssize_t n_edges = e.shape[0]
    out.rows, out.size, out.capacity = NULL, 0, 0
    try:
        if n_edges >= 2:
            for blob in blobs:
                ts, vs = decode(blob)
                tv, vv = ts, vs
                if tv.shape[0] == 0:
                    continue
                with nogil:
                    in_order = is_sorted(&tv[0], tv.shape[0])
                if not in_order:
                    order = np.argsort(ts, kind="stable")
                    tv, vv = ts[order], vs[order]
                with nogil:
                    status = add_parts(&out, &tv[0], &vv[0], tv.shape[0], &e[0], n_edges, with_m2)
                if status != OK:
                    raise MemoryError("cannot hold the bucket statistics")
        result = np.empty(out.size, PARTS)
        copy_rows(result.view(np.uint8), &out)
        return result
    finally:
        free(out.rows)
