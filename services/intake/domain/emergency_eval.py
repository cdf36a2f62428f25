"""How well emergency triage hears a labelled corpus: recall (emergencies referred) and false referral
(routine requests referred), per language and overall, and every miss with the rule that decided. Pure;
`huiying triage-eval` reads the corpus file and prints the report.

A corpus maps label -> language -> phrases:
    emergency: {zh-CN: [煤气味很重, ...], en: [gas smell, ...]}
    routine:   {zh-CN: [煤气费怎么交, ...], en: [how do i pay my gas bill, ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.intake.domain.emergency import EmergencyTriage

LABELS = ("emergency", "routine")
RECALL_TARGET = 0.98
FALSE_REFERRAL_TARGET = 0.03


@dataclass(frozen=True)
class Miss:
    label: str  # what the phrase is
    language: str
    phrase: str
    rule: str  # the rule that decided otherwise


@dataclass
class Tally:
    emergencies: int = 0
    heard: int = 0  # emergencies referred
    routine: int = 0
    referred: int = 0  # routine phrases referred

    @property
    def recall(self) -> float:
        return self.heard / self.emergencies if self.emergencies else 1.0

    @property
    def false_referral(self) -> float:
        return self.referred / self.routine if self.routine else 0.0


@dataclass
class Report:
    by_language: dict[str, Tally] = field(default_factory=dict)
    overall: Tally = field(default_factory=Tally)
    misses: list[Miss] = field(default_factory=list)

    @property
    def meets_targets(self) -> bool:
        return self.overall.recall >= RECALL_TARGET and self.overall.false_referral <= FALSE_REFERRAL_TARGET

    def lines(self) -> list[str]:
        out = [f"{'':8} {'recall':>8} {'false referral':>15} {'emergencies':>12} {'routine':>8}"]
        for name, t in [*self.by_language.items(), ("overall", self.overall)]:
            out.append(f"{name:8} {t.recall:8.3f} {t.false_referral:15.3f} {t.emergencies:12d} {t.routine:8d}")
        out.append(
            f"targets: recall >= {RECALL_TARGET}, false referral <= {FALSE_REFERRAL_TARGET}: "
            + ("met" if self.meets_targets else "NOT met")
        )
        if self.misses:
            out.append(f"misses ({len(self.misses)}):")
            for m in self.misses:
                said = "not referred" if m.label == "emergency" else "referred"
                out.append(f"  [{m.language}] {m.label} {said} by {m.rule}: {m.phrase}")
        return out


def check_corpus(corpus: object) -> Mapping[str, Mapping[str, list[str]]]:
    """The corpus's shape, or ValueError naming what is wrong."""
    if not isinstance(corpus, dict) or not set(corpus) <= set(LABELS) or not corpus:
        raise ValueError(f"the corpus maps {' / '.join(LABELS)} to languages to phrases")
    for label, languages in corpus.items():
        if not isinstance(languages, dict):
            raise ValueError(f"{label}: map each language to a list of phrases")
        for language, phrases in languages.items():
            if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
                raise ValueError(f"{label}.{language}: a list of non-empty phrases")
    return corpus


def evaluate(triage: EmergencyTriage, corpus: Mapping[str, Mapping[str, list[str]]]) -> Report:
    report = Report()
    for label, languages in corpus.items():
        for language, phrases in languages.items():
            tally = report.by_language.setdefault(language, Tally())
            for phrase in phrases:
                decision = triage.classify_text(phrase)
                for t in (tally, report.overall):
                    if label == "emergency":
                        t.emergencies += 1
                        t.heard += decision.emergency
                    else:
                        t.routine += 1
                        t.referred += decision.emergency
                if decision.emergency != (label == "emergency"):
                    report.misses.append(Miss(label, language, phrase, decision.rule))
    return report
