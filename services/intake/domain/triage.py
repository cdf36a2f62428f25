"""不受理 at the door: which requests the desk refuses at once, and the referral the resident gets. No I/O.

Rules live in the catalogue (`not_accepted`): matters the community cannot take (a dispute already before a
court). A rule matches by an answer to a question or by the kind of request; the first matching rule wins.
Emergencies are not decided here: domain/emergency.py hears them in the resident's own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.intake.domain.catalogue import Catalogue, NotAcceptedRule


@dataclass(frozen=True)
class Referral:
    reason_code: str
    number: str
    notice: dict[str, str]  # language -> the text the resident reads
    reason: dict[str, str]


class Triage:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def _referral(self, rule: NotAcceptedRule) -> Referral:
        target = self.catalogue.referrals[rule.referral]
        notice = {lang: text.replace("{reason}", rule.reason[lang]) for lang, text in target.notice.items()}
        return Referral(rule.code, target.number, notice, dict(rule.reason))

    def check(self, service_code: str, answers: Mapping[str, str | list[str]]) -> Referral | None:
        for rule in self.catalogue.not_accepted:
            if service_code in rule.services:
                return self._referral(rule)
            for path, keys in rule.answers.items():
                rule_service, _, question = path.partition(".")
                given = answers.get(question)
                chosen = given if isinstance(given, list) else [given] if given else []
                if rule_service == service_code and set(chosen) & set(keys):
                    return self._referral(rule)
        return None
