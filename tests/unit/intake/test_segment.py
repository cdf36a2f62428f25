"""intake's segmenter: jieba's algorithm over jieba's dictionary held as a compact table of 64-bit keys
(shared/segment.py). Its tokens are jieba's own, on every phrase the project has, and its cache
file is used when sound and rebuilt when not."""

from __future__ import annotations

import logging
from pathlib import Path

import jieba
import pytest
import yaml

from services.intake.config import DEPLOY, load_emergency_rules
from services.intake.domain.emergency import normalize
from shared.segment import FREQ, JiebaSegmenter, WordTable, cache_path, load_table

HERE = Path(__file__).parent


def phrases() -> list[str]:
    """Every resident phrase of the emergency corpora, and every line of intake's texts and rules."""
    out: list[str] = []
    for name in ("emergency_corpus.yaml", "emergency_holdout.yaml"):
        data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
        out += [p for kind in data.values() for ps in kind.values() for p in ps]
    for path in (DEPLOY / "intake" / "emergency.yaml", DEPLOY / "intake" / "portal-messages.yaml"):
        out += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


@pytest.fixture(scope="module")
def stock() -> jieba.Tokenizer:
    """jieba's own tokenizer with its own dictionary, taught the same words the same way."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in load_emergency_rules(DEPLOY / "intake" / "emergency.yaml").lexicon():
        tokenizer.add_word(word, freq=FREQ)
    return tokenizer


def test_the_tokens_are_jiebas_own_on_every_phrase(stock: jieba.Tokenizer) -> None:
    segment = JiebaSegmenter(load_emergency_rules(DEPLOY / "intake" / "emergency.yaml").lexicon())
    texts = phrases()
    assert len(texts) > 1000
    for text in texts:
        assert segment(normalize(text)) == stock.lcut(normalize(text), HMM=False), text


def test_the_table_holds_every_entry_of_jiebas_dictionary_under_its_own_key(stock: jieba.Tokenizer) -> None:
    table = load_table()
    plain = jieba.Tokenizer()
    plain.initialize()
    # No two words or prefixes share a key: the table has as many entries as jieba's own dict.
    assert table.entries == len(plain.FREQ) and table.total == plain.total
    for word in ("煤气", "燃气", "火车站", "的", "中华人民共和国"):
        assert table.get(word) == plain.FREQ[word]
    assert table.get("中华人") == 0  # a prefix
    assert table.get("煤气味没有") == -1


def test_a_damaged_cache_file_is_built_again(tmp_path: Path) -> None:
    path = cache_path(str(tmp_path))
    path.write_bytes(b"HYWORDS1 and not much else")
    table = load_table(str(tmp_path))
    assert table.get("煤气") > 0
    assert WordTable.load(path).entries == table.entries  # rewritten whole


def test_a_table_refuses_more_than_it_can_hold() -> None:
    table = WordTable(4)
    with pytest.raises(OverflowError):
        for i in range(16):
            table.put(f"词{i}", 1)
