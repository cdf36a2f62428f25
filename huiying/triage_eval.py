"""`huiying triage-eval [--corpus FILE] [--rules FILE]`: emergency triage's recall and false-referral rate
on a labelled corpus, per language and overall, and every miss with the rule that decided. Exit status 0
when the targets are met (recall >= 0.98, false referral <= 0.03), 1 when not, 2 for a bad file."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "unit" / "intake" / "emergency_corpus.yaml"
HOLDOUT = ROOT / "tests" / "unit" / "intake" / "emergency_holdout.yaml"


def run(corpus_path: Path | None, rules_path: Path | None) -> int:
    from services.intake.config import DEPLOY, ConfigError, emergency_triage
    from services.intake.domain.emergency_eval import check_corpus, evaluate

    path = corpus_path or CORPUS
    try:
        triage = emergency_triage(rules_path or DEPLOY / "intake" / "emergency.yaml")
        with path.open(encoding="utf-8") as fh:
            corpus = check_corpus(yaml.safe_load(fh))
    except ConfigError as exc:
        print(f"huiying triage-eval: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"huiying triage-eval: cannot read the corpus {path} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except (yaml.YAMLError, ValueError) as exc:
        print(f"huiying triage-eval: the corpus {path} is not usable: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    report = evaluate(triage, corpus)
    print(f"corpus: {path}")
    print("\n".join(report.lines()))
    return 0 if report.meets_targets else 1
