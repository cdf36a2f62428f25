"""Chinese word segmentation for emergency triage: jieba with its bundled dictionary (nothing is
downloaded), taught the triage rules' own words. Building jieba's prefix dictionary takes about a second,
so the container warms it at start in a worker thread (`warm`), and the first resident does not wait.
"""

from __future__ import annotations

import logging
import tempfile
import threading

import jieba

jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines in the JSON logs

# Above any frequency in jieba's dictionary: the rules' terms and near-misses win ties ("煤气味", "煤气费").
FREQ = 10_000_000


class JiebaSegmenter:
    """A callable `text -> tokens`; thread-safe, initialized once (on `warm` or the first call)."""

    def __init__(self, words: list[str]) -> None:
        self._words = words
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.tmp_dir = tempfile.gettempdir()  # jieba's own cache of the parsed dictionary
        self._lock = threading.Lock()
        self._ready = False

    def warm(self) -> None:
        with self._lock:
            if self._ready:
                return
            self._tokenizer.initialize()
            for word in self._words:
                self._tokenizer.add_word(word, freq=FREQ)
            self._ready = True

    def __call__(self, text: str) -> list[str]:
        if not self._ready:
            self.warm()
        # No HMM: unknown runs stay single characters, so terms are found at predictable boundaries.
        return self._tokenizer.lcut(text, HMM=False)
