"""Chinese word segmentation for the duplicate look-up (并单): jieba with its bundled dictionary (nothing is
downloaded). Building jieba's prefix dictionary takes about a second: it is built on first use, in the worker
thread the duplicate check runs in (services/routing/duplicates.py), so it never holds up the event loop or
the start, and only a replica that sees a possible duplicate pays for it. Latin words stay whole."""

from __future__ import annotations

import logging
import tempfile
import threading

import jieba

jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines in the JSON logs


class Segmenter:
    """A callable `text -> tokens`; thread-safe, initialized once (on `warm` or the first call)."""

    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.tmp_dir = tempfile.gettempdir()  # jieba's own cache of the parsed dictionary
        self._lock = threading.Lock()
        self._ready = False

    def warm(self) -> None:
        with self._lock:
            if not self._ready:
                self._tokenizer.initialize()
                self._ready = True

    def __call__(self, text: str) -> list[str]:
        if not self._ready:
            self.warm()
        return self._tokenizer.lcut(text, HMM=False)


SEGMENTER = Segmenter()
