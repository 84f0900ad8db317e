# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True, language_level=3
"""Compiled tscodec kernels: byte-identical to ``reference`` (version 2) and ``reference_v1``.

``encode`` writes version 2 blobs, ``decode`` reads versions 1 and 2. Inputs
arrive validated (``format.as_columns``) or are checked here before any loop
runs; the loops themselves work on raw pointers without the GIL and report
failures as status codes, turned into ``CodecError`` at the boundary. The
format is specified in docs/CODEC.md; the sources are split by layer:

- ``_kernels_v1.pxi``: version 1 (Gorilla), for old blobs
- ``_v2_io.pxi``: checksum, varints, bit packing, bounds-checked reading
- ``_v2_tokens.pxi``: residual tokens, frequency tables, rANS
- ``_v2_ints.pxi``: integer columns (delta order, constant / dense / sparse)
- ``_v2_values.pxi``: the value section (decimal or float bits, exceptions, dictionary)
- ``_v2_blob.pxi``: header, statistics, and the Python-visible ``encode``/``decode``
- ``_summaries.pxi``: statistics of decoded blocks per time bucket (``tscodec.summaries``)
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memset

include "_kernels_v1.pxi"
include "_v2_io.pxi"
include "_v2_tokens.pxi"
include "_v2_ints.pxi"
include "_v2_values.pxi"
include "_v2_blob.pxi"
include "_summaries.pxi"
