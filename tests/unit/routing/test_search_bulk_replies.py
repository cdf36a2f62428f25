"""Staff search, bulk actions and canned replies: the pure parts (query parsing, the words stored and asked
for, bulk results, reply variables)."""

from __future__ import annotations

from datetime import date

import pytest

from services.routing.domain import bulk, replies, search
from services.routing.domain.errors import Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.domain.search import UnknownParameters, parse_search
from services.routing.searchstore import search_filter
from services.routing.service import SEGMENTER
from tests.unit.routing.factories import DIRECTORY, SH, SUPERVISOR, lead, member, new_task, submitted


def parse(actor: object = None, **params: str) -> search.SearchQuery:
    return parse_search(params, actor or member(), DIRECTORY, SH, SEGMENTER)  # type: ignore[arg-type]


def test_the_words_stored_at_dispatch_hold_the_parts_of_chinese_and_english_text() -> None:
    terms = search.index_terms("厨房水管漏水，楼下也在渗水!", "幸福路8号", "2单元501", SEGMENTER.search_words)
    assert {"厨房", "水管", "漏水", "渗水"} <= set(terms)
    assert "，" not in terms and "也" not in terms and "!" not in terms  # punctuation and stopwords
    assert {"a:幸福", "a:路"} <= set(terms) and "幸福" in terms  # the address twice: as text and as address
    assert "pipe" in search.index_terms("The kitchen PIPE is leaking", None, None, SEGMENTER.search_words)
    assert "the" not in search.index_terms("The kitchen PIPE is leaking", None, None, SEGMENTER.search_words)


def test_a_new_task_gets_its_search_fields_and_the_phone_only_by_its_last_four() -> None:
    task = search.index(new_task(submitted(description="厨房水管漏水")), SEGMENTER.search_words)
    assert "水管" in task.terms and task.phone_last4 == "8000"
    assert "13800138000" not in task.terms
    assert search.phone_last4("+86 138 0013 8000") == "8000" and search.phone_last4(None) is None


def test_a_query_is_cut_into_words_every_one_required() -> None:
    query = parse(q="水管漏水", address="幸福路")
    assert query.terms == ("水管", "漏水", "a:幸福", "a:路")
    assert query.team == "property_maintenance" and query.statuses == ()
    assert parse(status="open").statuses[0] == "dispatched"
    assert parse(assignee="me").assignee == "property_maintenance.member"
    none = parse(assignee="none")
    assert none.assignee is None and none.assignee_unset
    assert parse(building="3号楼").building == "3"
    assert parse(SUPERVISOR).team is None and parse(SUPERVISOR, team="legal_aid").team == "legal_aid"
    window = parse(**{"from": "2026-11-01", "to": "2026-11-30"})
    assert window.submitted_from is not None and window.submitted_to is not None
    assert (window.submitted_to - window.submitted_from).days == 30


def test_the_phone_is_whole_or_its_last_four() -> None:
    assert parse(phone="8000").phone_last4 == "8000" and parse(phone="8000").phone == ()
    whole = parse(phone="+86 138-0013-8000")
    assert whole.phone_last4 == "8000" and "+8613800138000" in whole.phone
    for wrong in ("12", "abc8000", "80000"):
        with pytest.raises(Invalid) as exc:
            parse(phone=wrong)
        assert exc.value.field == "phone"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"limit": "500"}, "limit"),
        ({"team": "legal_aid"}, "team"),  # a member's search stays in their team
        ({"from": "yesterday"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"q": "，。！"}, "q"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_wrong_parameters_name_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse(**params)
    assert exc.value.field == field


def test_unknown_parameters_are_named_each() -> None:
    with pytest.raises(UnknownParameters) as exc:
        parse(q="水管", text="x", sort="new")
    assert exc.value.names == ["sort", "text"]


def test_the_filter_puts_the_indexed_criteria_first() -> None:
    assert search_filter(parse(phone="8000")) == {"phone_last4": "8000", "team_id": "property_maintenance"}
    f = search_filter(parse(q="水管 漏水", status="open", kind="property_repair"))
    assert f["$and"] == [{"terms": "水管"}, {"terms": "漏水"}] and f["service_code"] == "property_repair"
    assert search_filter(parse(assignee="none"))["assignee"] is None


def test_a_saved_view_keeps_criteria_but_no_phone_and_names_a_wrong_one() -> None:
    actor = member()
    assert search.view_query({"q": " 水管 ", "status": ""}, actor, DIRECTORY, SH, SEGMENTER) == {"q": "水管"}
    for query, field in (({"phone": "8000"}, "query.phone"), ({"limit": "5"}, "query.limit"),
                         ({"status": "x"}, "query.status")):  # fmt: skip
        with pytest.raises(Invalid) as exc:
            search.view_query(query, actor, DIRECTORY, SH, SEGMENTER)
        assert exc.value.field == field


def test_bulk_requests_are_bounded_and_their_results_shaped() -> None:
    request = bulk.BulkRequest(action="claim", ids=["a", "b", "a"])
    assert request.ids == ["a", "b"]
    with pytest.raises(ValueError, match="ids"):
        bulk.BulkRequest(action="claim", ids=[str(i) for i in range(bulk.MAX_ITEMS + 1)])
    with pytest.raises(ValueError, match="action"):
        bulk.BulkRequest(action="resolve", ids=["a"])  # type: ignore[arg-type]
    with pytest.raises(Invalid) as exc:
        bulk.BulkRequest(action="transfer", ids=["a"], params={"team_id": "x"}).command()
    assert exc.value.field == "params.reason"
    task = new_task()
    results = [
        bulk.done("a", task),
        bulk.refused("b", IllegalTransition("claim", "claimed", ["start"], [])),
        bulk.refused("c", NotVisible("c")),
        bulk.refused("d", Forbidden("only a lead may transfer a task")),
    ]
    assert [r["result"] for r in results] == ["done", "refused", "refused", "refused"]
    assert [r.get("error") for r in results] == [None, "illegal_transition", "not_found", "forbidden"]
    assert results[1]["status"] == "claimed" and "claimed" in results[1]["message"]
    assert "no task c" in results[2]["message"]
    assert bulk.summary("claim", results) | {"results": []} == {"action": "claim", "done": 1, "refused": 3,
                                                                 "results": []}  # fmt: skip


def test_reply_variables_are_safe_ones_and_an_unknown_one_is_named() -> None:
    assert replies.variables_in("{team}：{kind}已受理（{date}，{staff}）{{备注}}") == ["team", "kind", "date", "staff"]
    for text, needle in (("{resident_name}您好", "{resident_name}"), ("{tracking_code}", "{tracking_code}"),
                         ("a } b", "lone brace"), ("{kind.__class__}", "{kind.__class__}")):  # fmt: skip
        with pytest.raises(Invalid) as exc:
            replies.variables_in(text)
        assert exc.value.field == "text" and needle in exc.value.message


def test_a_reply_is_filled_in_for_the_task_in_its_residents_language() -> None:
    task = new_task(submitted(description="门锁坏了"))
    task.service_name = {"zh-CN": "物业报修", "en": "Property repairs"}
    values = replies.values_for(task, "李师傅", DIRECTORY, date(2026, 12, 3))
    assert replies.render("{team}已收到您的{kind}，{staff} {date} {{x}}", values) == (
        "物业维修组已收到您的物业报修，李师傅 2026年12月3日 {x}"
    )
    task.language = "en"
    values = replies.values_for(task, "Li", DIRECTORY, date(2026, 12, 3))
    assert replies.render("{team}: {kind}, {date}", values) == "Property maintenance: Property repairs, 3 December 2026"


def test_who_keeps_replies() -> None:
    assert replies.reply_team(lead(), None, DIRECTORY) == "property_maintenance"
    with pytest.raises(Forbidden):
        replies.reply_team(member(), None, DIRECTORY)
    with pytest.raises(Invalid):
        replies.reply_team(lead(), "legal_aid", DIRECTORY)
    with pytest.raises(Invalid):
        replies.reply_team(SUPERVISOR, None, DIRECTORY)
    assert replies.reply_team(SUPERVISOR, "legal_aid", DIRECTORY) == "legal_aid"
