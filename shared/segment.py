"""Chinese word segmentation for emergency triage: jieba's algorithm and its bundled dictionary (nothing is
downloaded), taught the triage rules' own words, with the dictionary held in two flat arrays.

jieba keeps its dictionary as a dict of half a million strings (every word and every prefix of one): about
50 MB in each intake process. `WordTable` holds the same entries as an open-addressing table of 64-bit
BLAKE2b hashes of the words and their frequencies, 12 MB, and `CompactTokenizer` runs jieba's own
segmentation (its prefix DAG and maximum-probability route, no HMM) against it, one table look-up per
fragment. The tokens are the ones jieba gives with its own dictionary (tests/unit/intake/test_segment.py
compares them, and checks that no two of the dictionary's entries share a key); a fragment that is no word
could only pass for one by sharing a word's 64-bit key, about 3 in 10^14 per look-up.

Building the table from jieba's dict.txt takes a few seconds, so it is cached in the temporary directory (as
jieba caches its own); later starts read 12 MB from the file. The container warms the segmenter at start in
a worker thread (`warm`), and the first resident does not wait.

Routing's staff search uses it too (`search_words`), so the words stored on a task at dispatch and the words
of a query are cut by the same dictionary.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import struct
import tempfile
import threading
from array import array
from pathlib import Path
from typing import Any

import jieba
import structlog

jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines in the JSON logs

log = structlog.get_logger("huiying.segment")

# Above any frequency in jieba's dictionary: the rules' terms and near-misses win ties ("煤气味", "煤气费").
FREQ = 10_000_000
DICTIONARY = Path(jieba.__file__).with_name("dict.txt")
_MAGIC = b"HYWORDS1"
_HEADER = struct.Struct("<8sQII")  # magic, total frequency, log2 of the slots, entries


def word_key(word: str) -> int:
    """A word's 64-bit key: the same in every process (Python's own str hash is not), never 0 (an empty slot)."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little") or 1


class WordTable:
    """word -> frequency (0 for a prefix that is not itself a word), by the words' 64-bit keys, linear probing."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.mask = (1 << bits) - 1
        self.keys = array("Q", bytes(8 << bits))
        self.freqs = array("I", bytes(4 << bits))
        self.entries = 0
        self.total = 0  # the sum of the words' frequencies: jieba's `total`

    def get(self, word: str) -> int:
        """The word's frequency, or -1 when it is neither a word nor a word's prefix."""
        key, keys, mask = word_key(word), self.keys, self.mask
        i = key & mask
        while True:
            found = keys[i]
            if found == key:
                return self.freqs[i]
            if not found:
                return -1
            i = (i + 1) & mask

    def put(self, word: str, freq: int, *, prefix: bool = False) -> None:
        """Set a word's frequency; a prefix (`prefix=True`, frequency 0) never overwrites a word."""
        key, keys, mask = word_key(word), self.keys, self.mask
        i = key & mask
        while True:
            found = keys[i]
            if found == key:
                if not prefix:
                    self.freqs[i] = freq
                return
            if not found:
                if self.entries + 1 > (self.mask + 1) * 0.7:
                    raise OverflowError("the word table is full")
                keys[i], self.freqs[i] = key, freq
                self.entries += 1
                return
            i = (i + 1) & mask

    def add(self, word: str, freq: int) -> None:
        """What jieba's gen_pfdict and add_word do for one word: the word, and each of its prefixes."""
        self.put(word, freq)
        self.total += freq
        for end in range(1, len(word)):
            self.put(word[:end], 0, prefix=True)

    @classmethod
    def from_dictionary(cls, path: Path = DICTIONARY) -> WordTable:
        """jieba's dictionary file: `word freq [tag]` per line."""
        with path.open("rb") as f:
            lines = f.read().decode("utf-8").splitlines()
        table = cls(max(16, (len(lines) * 3).bit_length()))  # words and prefixes, at most about half full
        for line in lines:
            word, freq = line.strip().split(" ")[:2]
            table.add(word, int(freq))
        return table

    def dump(self, path: Path) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_HEADER.pack(_MAGIC, self.total, self.bits, self.entries))
                self.keys.tofile(f)
                self.freqs.tofile(f)
            os.replace(tmp, path)  # whole or not at all, whoever else writes it at the same time
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> WordTable:
        with path.open("rb") as f:
            magic, total, bits, entries = _HEADER.unpack(f.read(_HEADER.size))
            if magic != _MAGIC or not 16 <= bits <= 24:
                raise ValueError(f"{path} is not a word table")
            table = cls.__new__(cls)
            table.bits, table.mask, table.entries, table.total = bits, (1 << bits) - 1, entries, total
            table.keys, table.freqs = array("Q"), array("I")
            table.keys.fromfile(f, 1 << bits)  # EOFError when the file is short
            table.freqs.fromfile(f, 1 << bits)
            if f.read(1):
                raise ValueError(f"{path} is longer than its header says")
        return table


def cache_path(directory: str | None = None, dictionary: Path = DICTIONARY) -> Path:
    """The cached table's file: named after jieba's version and its dictionary file, so either changing
    means a new table."""
    stat = dictionary.stat()
    tag = hashlib.blake2b(
        f"{_MAGIC!r}:{jieba.__version__}:{dictionary}:{stat.st_size}:{stat.st_mtime_ns}".encode(), digest_size=6
    ).hexdigest()
    return Path(directory or tempfile.gettempdir()) / f"huiying-words-{tag}.bin"


def load_table(directory: str | None = None) -> WordTable:
    """jieba's dictionary as a `WordTable`, from the cache file, or built (and cached when the directory lets)."""
    path = cache_path(directory)
    try:
        return WordTable.load(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, EOFError) as exc:
        log.warning("word table cache unreadable; building it again", path=str(path), error=str(exc))
    table = WordTable.from_dictionary()
    try:
        table.dump(path)
    except OSError as exc:
        log.warning("could not cache the word table", path=str(path), error=str(exc))
    return table


class CompactTokenizer(jieba.Tokenizer):  # type: ignore[misc]
    """jieba's tokenizer with its dictionary in a `WordTable`: jieba's DAG and route, one look-up per fragment.
    Only the no-HMM cut (`lcut(text, HMM=False)`) is meant to be used."""

    def __init__(self, table: WordTable) -> None:
        super().__init__()
        self.table = table
        self.total = table.total
        self.initialized = True  # never jieba's own dict: its FREQ stays empty

    def teach(self, word: str, freq: int) -> None:
        """jieba's add_word(word, freq) for this table."""
        self.table.add(word, freq)
        self.total = self.table.total

    def get_DAG(self, sentence: str) -> dict[int, list[tuple[int, int]]]:  # jieba's name
        """For each start, the ends of the dictionary words that start there, with their frequencies."""
        get = self.table.get
        dag: dict[int, list[tuple[int, int]]] = {}
        n = len(sentence)
        for k in range(n):
            ends: list[tuple[int, int]] = []
            i = k
            freq = get(sentence[k])
            while freq >= 0:
                if freq:
                    ends.append((i, freq))
                i += 1
                if i >= n:
                    break
                freq = get(sentence[k : i + 1])
            dag[k] = ends or [(k, 0)]
        return dag

    def calc(self, sentence: str, dag: dict[int, list[tuple[int, int]]], route: dict[int, Any]) -> None:
        """jieba's maximum-probability route, with the frequencies the DAG already holds."""
        n = len(sentence)
        route[n] = (0, 0)
        logtotal = math.log(self.total)
        for idx in range(n - 1, -1, -1):
            route[idx] = max((math.log(freq or 1) - logtotal + route[x + 1][0], x) for x, freq in dag[idx])


class JiebaSegmenter:
    """A callable `text -> tokens`; thread-safe, initialized once (on `warm` or the first call)."""

    def __init__(self, words: list[str], cache_dir: str | None = None) -> None:
        self._words = words
        self._cache_dir = cache_dir
        self._tokenizer: CompactTokenizer | None = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            tokenizer = CompactTokenizer(load_table(self._cache_dir))
            for word in self._words:
                tokenizer.teach(word, FREQ)
            self._tokenizer = tokenizer

    def __call__(self, text: str) -> list[str]:
        if self._tokenizer is None:
            self.warm()
        assert self._tokenizer is not None
        # No HMM: unknown runs stay single characters, so terms are found at predictable boundaries.
        return list(self._tokenizer.lcut(text, HMM=False))

    def search_words(self, text: str) -> list[str]:
        """The words and, for long words, the shorter dictionary words inside them (厨房水管漏水 -> 厨房, 水管,
        漏水): what a search index stores, so that a query for a part finds the whole. jieba's cut_for_search,
        looked up in the compact table."""
        if self._tokenizer is None:
            self.warm()
        assert self._tokenizer is not None
        table = self._tokenizer.table
        out: list[str] = []
        for word in self._tokenizer.lcut(text, HMM=False):
            for n in (2, 3):
                if len(word) > n:
                    out.extend(g for g in (word[i : i + n] for i in range(len(word) - n + 1)) if table.get(g) > 0)
            out.append(word)
        return out
