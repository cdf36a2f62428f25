"""Emergency triage: does a resident's text describe an emergency (gas, fire, smoke, a fall, someone not
breathing, violence, a missing child...)? Pure: the rules are data (deploy/intake/emergency.yaml, read by
config.py) and the word segmenter is handed in, so this module does no I/O.

How a text is read:
1. normalized: NFKC (full-width to half-width), lower case, English contractions spelled out, spaces between
   Chinese characters removed ("燃 气 泄 漏" reads "燃气泄漏");
2. cut into tokens by the segmenter (jieba, taught every term and near-miss in the rules, so "煤气费" and
   "火车站" stay whole and never read as 煤气 or 火); English words with a typo are corrected to the rules'
   vocabulary (one edit for words of 6+ letters, two for 9+, same first letter, never a `known_words` word);
3. every concept term is looked for at token boundaries; a hit is dropped when a negation stands just before
   it in its clause ("没有煤气味", "no smoke") or just after it ("煤气味没有了"), when it is only feared
   ("怕着火", "could fall"), or when an `unless` word of its rule is near ("fire door", "灭火器") — unless the
   resident hedges ("好像", "不知道是不是", "not sure"): then it counts, safety first;
4. a rule fires when all the concepts of one of its patterns are hit within a few tokens of each other.
Rules are tried in order; the first that fires decides. Every decision names its rule: an emergency names
the rule that fired; a routine text names `routine`, or `negated:<rule>` / `feared:<rule>` / `unless:<rule>`
when a rule was heard and set aside, so `huiying triage-eval` can show why.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

Segmenter = Callable[[str], list[str]]
LANGS = ("zh-CN", "en")

_CJK = r"\u3400-\u9fff"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_ASCII_WORD = re.compile(r"^[a-z][a-z']*$")
CONTRACTIONS = {
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "don't": "do not",
    "dont": "do not",
    "doesn't": "does not",
    "doesnt": "does not",
    "didn't": "did not",
    "didnt": "did not",
    "isn't": "is not",
    "isnt": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "couldn't": "could not",
    "couldnt": "could not",
    "there's": "there is",
    "theres": "there is",
    "it's": "it is",
    "he's": "he is",
    "she's": "she is",
    "i'm": "i am",
    "im": "i am",
}
_CONTRACTION = re.compile(r"(?<![a-z'])(" + "|".join(re.escape(k) for k in CONTRACTIONS) + r")(?![a-z'])")


# -- the rules as data ----------------------------------------------------------------------------------


class EmergencyRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    call: str = Field(pattern=r"^[0-9]{3,6}$")
    reason: dict[str, str]  # language -> "您说的可能是燃气泄漏"
    advice: dict[str, str] = {}  # language -> what to do while waiting
    # Each pattern is a list of concepts that must all be heard near each other.
    when: list[list[str]] = []
    unless: list[str] = []  # concepts that, near a hit, make it something else ("fire door")
    answers: list[str] = []  # the emergency door's "what is happening?" answers this rule stands for
    services: list[str] = []  # service codes that always refer (the emergency door itself)
    overridable: bool = True  # False: "not an emergency" cannot file it as routine (the emergency door)

    @model_validator(mode="after")
    def _both_languages(self) -> EmergencyRule:
        for lang in LANGS:
            if not self.reason.get(lang, "").strip():
                raise ValueError(f"rule {self.code}: reason.{lang} is missing")
        if not (self.when or self.answers or self.services):
            raise ValueError(f"rule {self.code}: give `when`, `answers` or `services`")
        return self


class Negation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before: list[str]  # 没有, 不, no, not ... just before a hit in its clause
    after: list[str] = []  # 没有了, 灭了, gone ... just after it
    feared: list[str] = []  # 怕, 容易, could, might ... a hit that is only feared
    hedges: list[str] = []  # 好像, 是不是, not sure ... the resident is unsure: the hit counts
    window: int = Field(3, ge=1, le=8)  # tokens before / after a hit that are looked at


class EmergencyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    near: int = Field(8, ge=1, le=40)  # tokens within which a pattern's concepts must all be heard
    breaks: list[str]  # clause breaks: punctuation, "但是", "but"
    negation: Negation
    concepts: dict[str, list[str]]
    words: list[str] = []  # extra words for the segmenter: near-misses that must stay whole (煤气费)
    known_words: list[str] = []  # English words never corrected as typos (cooking is not choking)
    rules: list[EmergencyRule]

    @model_validator(mode="after")
    def _known_concepts(self) -> EmergencyRules:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.code in seen:
                raise ValueError(f"rule {rule.code} is defined twice")
            seen.add(rule.code)
            for concept in [c for pattern in rule.when for c in pattern] + rule.unless:
                if concept not in self.concepts:
                    raise ValueError(f"rule {rule.code}: unknown concept {concept!r}")
        for name, terms in self.concepts.items():
            if not terms or any(not normalize(t) for t in terms):
                raise ValueError(f"concept {name}: empty term")
        return self

    def lexicon(self) -> list[str]:
        """Every Chinese word the segmenter must keep whole: concept terms, cue words and near-misses."""
        n = self.negation
        cues = [*n.before, *n.after, *n.feared, *n.hedges, *self.breaks]
        terms = [t for ts in self.concepts.values() for t in ts]
        return sorted({normalize(w) for w in [*terms, *cues, *self.words] if re.search(f"[{_CJK}]", w)})


# -- decisions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    emergency: bool
    rule: str  # the rule that decided: its code, or routine / negated:<code> / feared:<code> / unless:<code>
    call: str | None = None  # the number to call
    reason: Mapping[str, str] = field(default_factory=dict)  # language -> the plain reason
    advice: Mapping[str, str] = field(default_factory=dict)
    heard: tuple[str, ...] = ()  # the words that made it
    overridable: bool = True


ROUTINE = Decision(emergency=False, rule="routine")


class EmergencySuspected(Exception):
    """Triage heard an emergency and nothing was filed: the resident is shown whom to call, and may file
    anyway by confirming it is not an emergency (unless the rule is not overridable)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.rule)
        self.decision = decision


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _CONTRACTION.sub(lambda m: CONTRACTIONS[m.group(1)], text)
    return _CJK_GAP.sub("", text).strip()


def _edits_within(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein distance of a and b is at most `limit` (small words, small limits)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= limit


@dataclass(frozen=True)
class _Hit:
    concept: str
    start: int  # token index
    end: int  # exclusive
    term: str


class EmergencyTriage:
    """The rules compiled once; `classify` is a pure function of its input."""

    MAX_SPAN = 8  # tokens a term may cover

    def __init__(self, rules: EmergencyRules, segment: Segmenter) -> None:
        self.rules = rules
        self.segment = segment
        self._terms: dict[str, set[str]] = {}  # normalized term -> concepts
        for concept, terms in rules.concepts.items():
            for term in terms:
                self._terms.setdefault(self._key(normalize(term)), set()).add(concept)
        self._vocabulary = {w for term in self._terms for w in term.split(" ") if _ASCII_WORD.match(w)}
        self._by_initial: dict[str, list[str]] = {}
        for w in sorted(self._vocabulary):
            if len(w) >= 6:
                self._by_initial.setdefault(w[0], []).append(w)
        self._corrected: dict[str, str] = {}  # word -> its correction, remembered
        n = rules.negation
        self._before = {normalize(w) for w in n.before}
        self._after = {normalize(w) for w in n.after}
        self._feared = {normalize(w) for w in n.feared}
        self._hedges = {normalize(w) for w in n.hedges}
        self._breaks = {normalize(w) for w in rules.breaks}
        # An `unless` word is context, never negated: "cannot find a job" is still about a job.
        self._context = {c for r in rules.rules for c in r.unless}
        self._known = {normalize(w) for w in rules.known_words}
        self._longest = max(len(term) for term in self._terms)
        self._by_answer = {a: r for r in rules.rules for a in r.answers}

    @staticmethod
    def _key(term: str) -> str:
        # Chinese parts join without spaces, English words with one: the way _spans builds them.
        return re.sub(rf"\s*([{_CJK}]+)\s*", r"\1", term)

    # -- reading ------------------------------------------------------------------------------------------

    def _correct(self, word: str) -> str:
        if not _ASCII_WORD.match(word) or word in self._vocabulary or word in self._known:
            return word
        if word in self._corrected:
            return self._corrected[word]
        fixed = word
        if len(word) >= 6:  # shorter words are too close to everyday ones (light/fight)
            limit = 2 if len(word) >= 9 else 1
            # Typos seldom hit the first letter; parking is not sparking, heating not beating.
            for known in self._by_initial.get(word[0], ()):
                if abs(len(known) - len(word)) <= limit and _edits_within(word, known, limit):
                    fixed = known
                    break
        if fixed == word:
            squeezed = re.sub(r"(.)\1{2,}", r"\1", word)  # "smokeee" -> "smoke"; "too" stays
            fixed = squeezed if squeezed in self._vocabulary else word
        if len(self._corrected) > 50_000:  # a bound, not a cache policy: words repeat across requests
            self._corrected.clear()
        self._corrected[word] = fixed
        return fixed

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for token in self.segment(normalize(text)):
            token = token.strip()
            if token:
                out.append(self._correct(token))
        return out

    def _spans(self, tokens: list[str]) -> Iterable[tuple[int, int, str]]:
        for start in range(len(tokens)):
            text = ""
            for end in range(start + 1, min(len(tokens), start + self.MAX_SPAN) + 1):
                piece = tokens[end - 1]
                ascii_join = text and _ASCII_WORD.match(piece) and re.search(r"[a-z']$", text)
                text = f"{text} {piece}" if ascii_join else text + piece
                if len(text) > self._longest:
                    break
                yield start, end, text

    def _clause(self, tokens: list[str], start: int, end: int) -> tuple[list[str], list[str]]:
        """Up to `window` tokens before and after [start, end) within the clause."""
        window = self.rules.negation.window
        before: list[str] = []
        for tok in reversed(tokens[max(0, start - window - 2) : start]):
            if tok in self._breaks or len(before) == window:
                break
            before.insert(0, tok)
        after: list[str] = []
        for tok in tokens[end : end + window + 2]:
            if tok in self._breaks or len(after) == window:
                break
            after.append(tok)
        return before, after

    def _hits(self, tokens: list[str]) -> tuple[list[_Hit], dict[str, str]]:
        """Concept hits that stand, and for each concept a hit that was set aside: why (negated/feared)."""
        hits: list[_Hit] = []
        dropped: dict[str, str] = {}
        for start, end, text in self._spans(tokens):
            for concept in self._terms.get(text, ()):
                before, after = self._clause(tokens, start, end)
                ahead = " ".join(before)
                hedged = any(h in ahead for h in self._hedges) or any(t in self._hedges for t in before)
                if concept in self._context:
                    hits.append(_Hit(concept, start, end, text))
                elif not hedged and any(t in self._before for t in before):
                    dropped.setdefault(concept, "negated")
                elif not hedged and any(t in self._after for t in after):
                    dropped.setdefault(concept, "negated")
                elif not hedged and any(t in self._feared for t in before):
                    dropped.setdefault(concept, "feared")
                else:
                    hits.append(_Hit(concept, start, end, text))
        return hits, dropped

    # -- deciding -----------------------------------------------------------------------------------------

    def _candidates(self, rule: EmergencyRule, hits: list[_Hit]) -> Iterable[tuple[_Hit, ...]]:
        """Every way one of the rule's patterns is heard: its concepts' hits within `near` of the first."""
        near = self.rules.near
        by_concept: dict[str, list[_Hit]] = {}
        for hit in hits:
            by_concept.setdefault(hit.concept, []).append(hit)
        for pattern in rule.when:
            if not all(c in by_concept for c in pattern):
                continue
            for anchor in by_concept[pattern[0]]:
                chosen = [anchor]
                for concept in pattern[1:]:
                    close = [h for h in by_concept[concept] if abs(h.start - anchor.start) <= near]
                    if not close:
                        break
                    chosen.append(close[0])
                else:
                    yield tuple(chosen)

    def _fires(self, rule: EmergencyRule, hits: list[_Hit]) -> tuple[tuple[_Hit, ...] | None, tuple[_Hit, ...] | None]:
        """(the hits that fire the rule, or None; else hits that would have but for an `unless` word)."""
        blocked = None
        for chosen in self._candidates(rule, hits):
            if not self._unless(rule, chosen, hits):
                return chosen, None
            blocked = blocked or chosen
        return None, blocked

    def _unless(self, rule: EmergencyRule, chosen: tuple[_Hit, ...], hits: list[_Hit]) -> bool:
        window = self.rules.negation.window + 1
        return any(
            h.concept in rule.unless and any(abs(h.start - c.start) <= window for c in chosen)
            for h in hits
            if h not in chosen
        )

    def _decision(self, rule: EmergencyRule, heard: Iterable[str], *, overridable: bool = True) -> Decision:
        return Decision(
            emergency=True,
            rule=rule.code,
            call=rule.call,
            reason=dict(rule.reason),
            advice=dict(rule.advice),
            heard=tuple(heard),
            overridable=overridable and rule.overridable,
        )

    def classify_text(self, text: str) -> Decision:
        tokens = self.tokens(text)
        hits, dropped = self._hits(tokens)
        set_aside: Decision | None = None
        for rule in self.rules.rules:
            if not rule.when:
                continue
            chosen, blocked = self._fires(rule, hits)
            if chosen is not None:
                return self._decision(rule, (h.term for h in chosen))
            if set_aside is None:
                set_aside = self._set_aside(rule, blocked, hits, dropped)
        return set_aside or ROUTINE

    def _set_aside(
        self, rule: EmergencyRule, blocked: tuple[_Hit, ...] | None, hits: list[_Hit], dropped: dict[str, str]
    ) -> Decision | None:
        """Why a rule that was heard did not fire, for the record: unless / negated / feared."""
        if blocked is not None:
            return Decision(emergency=False, rule=f"unless:{rule.code}", heard=tuple(h.term for h in blocked))
        heard = {h.concept for h in hits}
        for pattern in rule.when:
            missing = [c for c in pattern if c not in heard]
            if missing and all(c in dropped for c in missing):
                return Decision(emergency=False, rule=f"{dropped[missing[0]]}:{rule.code}")
        return None

    def is_door(self, service_code: str) -> bool:
        """Whether this service is an emergency door: it only ever refers."""
        return any(service_code in rule.services for rule in self.rules.rules)

    def classify(self, service_code: str, text: str, answers: Mapping[str, object] | None = None) -> Decision:
        """The decision for one submission: the emergency door and its answers first, then the words."""
        chosen = [a for a in (answers or {}).values() if isinstance(a, str)]
        for rule in self.rules.rules:
            if service_code in rule.services:
                by_answer = next((self._by_answer[a] for a in chosen if a in self._by_answer), None)
                # The door only refers: whichever rule its answer picks, "not an emergency" cannot file it.
                return self._decision(by_answer or rule, (service_code,), overridable=False)
        return self.classify_text(text)
