"""Emergency triage (services/intake/domain/emergency.py with deploy/intake/emergency.yaml and jieba): the
labelled corpus meets its targets, and the engine's parts — segmentation, typos, spacing, negation, fears,
hedges, near-misses, the emergency door — each decide as documented and name their rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from huiying.triage_eval import CORPUS, HOLDOUT, run
from services.intake.config import DEPLOY, ConfigError, emergency_triage, load_emergency_rules
from services.intake.domain.emergency import EmergencyTriage, normalize
from services.intake.domain.emergency_eval import FALSE_REFERRAL_TARGET, RECALL_TARGET, check_corpus, evaluate

RULES = DEPLOY / "intake" / "emergency.yaml"


@pytest.fixture(scope="module")
def triage() -> EmergencyTriage:
    return emergency_triage(RULES)


def corpus(path: Path) -> dict[str, dict[str, list[str]]]:
    return dict(check_corpus(yaml.safe_load(path.read_text(encoding="utf-8"))))


def test_the_corpus_is_large_and_balanced() -> None:
    data = corpus(CORPUS)
    emergencies = sum(len(p) for p in data["emergency"].values())
    routine = sum(len(p) for p in data["routine"].values())
    assert emergencies + routine >= 300 and abs(emergencies - routine) <= 10
    assert set(data["emergency"]) == set(data["routine"]) == {"zh-CN", "en"}
    held_out = {p for langs in corpus(HOLDOUT).values() for ps in langs.values() for p in ps}
    tuned = {p for langs in data.values() for ps in langs.values() for p in ps}
    assert not held_out & tuned  # the held-out set shares no phrase with the tuning set


@pytest.mark.parametrize("path", [CORPUS, HOLDOUT], ids=["tuning", "held-out"])
def test_triage_meets_its_targets(triage: EmergencyTriage, path: Path) -> None:
    report = evaluate(triage, corpus(path))
    for language, tally in report.by_language.items():
        assert tally.emergencies and tally.routine, language
    assert report.overall.recall >= RECALL_TARGET, report.lines()
    assert report.overall.false_referral <= FALSE_REFERRAL_TARGET, report.lines()


@pytest.mark.parametrize(
    ("text", "rule", "call"),
    [
        ("煤气味很重", "gas_leak", "119"),
        ("好像漏煤气了", "gas_leak", "119"),
        ("燃 气 泄 漏", "gas_leak", "119"),  # spaces between characters
        ("媒气味好重", "gas_leak", "119"),  # a homophone typo
        ("gas smel in hallway", "gas_leak", "119"),
        ("冒烟", "smoke", "119"),
        ("smokeee everywhere", "smoke", "119"),  # repeated letters
        ("插座冒火花", "sparks", "119"),
        ("卫生间的水漫到插座了", "water_on_live_wiring", "119"),
        ("电梯困人了", "trapped", "119"),
        ("老伴摔倒了起不来", "fall", "120"),
        ("my grandad 摔倒了 cant get up", "fall", "120"),  # mixed languages, a contraction without apostrophe
        ("unconcious man on the stairs", "unconscious", "120"),
        ("孩子没有呼吸了", "not_breathing", "120"),  # the negation is the emergency itself
        ("he can't breathe", "not_breathing", "120"),
        ("chest pian", "chest_pain", "120"),
        ("奶奶好像中风了 嘴歪了", "stroke", "120"),
        ("有人威胁我 说要杀了我", "violence", "110"),
        ("老人走失了 有老年痴呆", "missing_person", "110"),
        ("不知道是不是煤气泄漏 味道很大", "gas_leak", "119"),  # unsure: safety first
        ("not sure but i think i smell gas", "gas_leak", "119"),
        # An `unless` word blocks the reading it stands next to, not the rule: the second "smoke" is heard.
        ("we asked to install a smoke alarm and now the hall is full of smoke", "smoke", "119"),
        ("电动车在楼道充电着了", "fire", "119"),
    ],
)
def test_everyday_words_are_heard_and_the_rule_is_named(
    triage: EmergencyTriage, text: str, rule: str, call: str
) -> None:
    decision = triage.classify("property_repair", text)
    assert (decision.emergency, decision.rule, decision.call) == (True, rule, call)
    assert decision.heard and decision.reason["zh-CN"].startswith("您") and decision.reason["en"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("煤气费", "routine"),  # a near-miss kept whole by the segmenter
        ("火车站", "routine"),
        ("手机摔坏了", "routine"),
        ("没有煤气味", "negated:gas_leak"),
        ("no smoke", "negated:smoke"),
        ("烟散了", "routine"),
        ("电线老化 担心会着火", "feared:fire"),
        ("icy steps, someone could slip and fall", "routine"),
        ("the fire door is broken", "unless:fire"),
        ("knife sharpening", "unless:violence"),
        ("孩子找不到工作", "unless:missing_person"),
        ("my son cannot find a job", "unless:missing_person"),
        ("parking space dispute", "routine"),  # not "sparking": typos are not corrected across first letters
        ("cooking smells from the restaurant", "routine"),  # a known word is never "corrected" to choking
        ("old electrical fittings in the hallway", "routine"),  # "fitting" is no seizure
        ("can you install a smoke alarm for my mum", "unless:smoke"),
        ("the lift is out and my elderly dad cannot get up the stairs", "unless:fall"),
        ("车钥匙找着了", "routine"),  # 找着了 (found) is not 着了 (caught fire)
        ("he took too many photos of the damage", "routine"),  # "too" is not squeezed to "to"
    ],
)
def test_negations_fears_and_near_misses_are_routine_and_say_why(triage: EmergencyTriage, text: str, rule: str) -> None:
    decision = triage.classify("property_repair", text)
    assert (decision.emergency, decision.rule) == (False, rule)


def test_free_text_in_the_answers_counts_but_the_emergency_door_decides_by_its_answer(
    triage: EmergencyTriage,
) -> None:
    door = triage.classify("emergency", "", {"kind": "gas_leak"})
    assert (door.rule, door.call, door.overridable) == ("gas_leak", "119", False)
    assert triage.classify("emergency", "", {"kind": "medical"}).call == "120"
    assert triage.classify("emergency", "", {}).rule == "emergency_door"
    assert triage.classify("property_repair", "厨房水管漏水", {"place": "kitchen"}).emergency is False


def test_normalize_spells_out_contractions_and_joins_spaced_characters() -> None:
    assert normalize("Can't  GET up") == "can not  get up"
    assert normalize("煤 气 味 很重") == "煤气味很重"
    assert normalize("ｇａｓ") == "gas"  # full-width letters


def test_the_segmenter_keeps_the_rules_words_whole(triage: EmergencyTriage) -> None:
    assert "煤气费" in triage.tokens("交煤气费")
    assert "煤气味" in triage.tokens("煤气味很重")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["rules"][1].update(when=[["no_such_concept"]]), "unknown concept"),
        (lambda d: d["rules"][1]["reason"].pop("en"), "reason.en"),
        (lambda d: d["rules"].append(dict(d["rules"][1])), "defined twice"),
        (lambda d: d["concepts"]["gas"].append(" "), "empty term"),
        (lambda d: d["rules"][1].update(call="call us"), "call"),
    ],
)
def test_broken_rules_stop_intake_with_the_place(tmp_path: Path, change: object, complaint: str) -> None:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "emergency.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_emergency_rules(path)
    assert str(path) in str(info.value) and complaint in str(info.value)


def test_triage_eval_prints_the_figures_and_the_misses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(CORPUS, None) == 0
    out = capsys.readouterr().out
    assert "zh-CN" in out and "en" in out and "overall" in out and "met" in out
    small = tmp_path / "small.yaml"
    small.write_text("emergency: {en: [the bins are fine]}\nroutine: {zh-CN: [煤气味很重]}\n", encoding="utf-8")
    assert run(small, None) == 1
    out = capsys.readouterr().out
    assert "[en] emergency not referred by routine: the bins are fine" in out
    assert "[zh-CN] routine referred by gas_leak: 煤气味很重" in out
    small.write_text("- just a list\n", encoding="utf-8")
    assert run(small, None) == 2
    assert "not usable" in capsys.readouterr().err
