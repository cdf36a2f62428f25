"""Chinese word segmentation in routing: the duplicate look-up (并单) and search share one segmenter per process,
jieba's algorithm over its bundled dictionary held as the compact word table of shared/segment.py (12 MB instead of
jieba's own dict of about half a million strings; the same tokens, nothing downloaded). The table is read from its
cache file (or built, a few seconds) on first use, in the worker thread the duplicate check runs in
(services/routing/duplicates.py), so it never holds up the event loop or the start. Latin words stay whole."""

from __future__ import annotations

from shared.segment import JiebaSegmenter

SEGMENTER = JiebaSegmenter([])
