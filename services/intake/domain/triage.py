"""不受理 at the door: which requests the desk refuses at once, and the referral the resident gets. No I/O.

Rules live in the catalogue (`not_accepted`). A rule matches by an answer to a question, by the kind of
request, or by a keyword in the description (and free-text answers). Answers and kinds are checked
before keywords, and the first matching rule wins, so an explicit "what is happening?" answer decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from services.intake.domain.catalogue import Catalogue, NotAcceptedRule


@dataclass(frozen=True)
class Referral:
    reason_code: str
    number: str
    notice: dict[str, str]  # language -> the text the resident reads
    reason: dict[str, str]


def _english_pattern(keyword: str) -> re.Pattern[str]:
    # Whole words, any case, any run of spaces: "gas leak" matches "Gas  leak!" but "fire" not "fired".
    words = [re.escape(w) for w in keyword.split()]
    return re.compile(r"(?<![A-Za-z])" + r"\s+".join(words) + r"(?![A-Za-z])", re.IGNORECASE)


class Triage:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._patterns: dict[str, list[re.Pattern[str]]] = {
            rule.code: [_english_pattern(k) for k in rule.keywords.get("en", [])] for rule in catalogue.not_accepted
        }

    def _referral(self, rule: NotAcceptedRule) -> Referral:
        target = self.catalogue.referrals[rule.referral]
        notice = {lang: text.replace("{reason}", rule.reason[lang]) for lang, text in target.notice.items()}
        return Referral(rule.code, target.number, notice, dict(rule.reason))

    def _keyword_hit(self, rule: NotAcceptedRule, text: str) -> bool:
        if any(k in text for k in rule.keywords.get("zh-CN", [])):
            return True
        return any(p.search(text) for p in self._patterns[rule.code])

    def check(self, service_code: str, description: str, answers: Mapping[str, str | list[str]]) -> Referral | None:
        for rule in self.catalogue.not_accepted:
            if service_code in rule.services:
                return self._referral(rule)
            for path, keys in rule.answers.items():
                rule_service, _, question = path.partition(".")
                given = answers.get(question)
                chosen = given if isinstance(given, list) else [given] if given else []
                if rule_service == service_code and set(chosen) & set(keys):
                    return self._referral(rule)
        text = "\n".join([description, *(a for a in answers.values() if isinstance(a, str))])
        for rule in self.catalogue.not_accepted:
            if self._keyword_hit(rule, text):
                return self._referral(rule)
        return None
