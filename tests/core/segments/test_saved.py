"""Saved segments: named, owned, versioned filters whose members are evaluated when asked,
never stored; diff before saving, duplicate, archive, include or exclude another segment."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audiences_app.core.db import write_transaction
from audiences_app.core.models import FieldDef
from audiences_app.core.segments import FilterError, matching_ids
from audiences_app.core.segments import saved
from audiences_app.core.segments.resolve import SEGMENT, VERSION

from .world import World, add_company, load_world

SOFTWARE = {"field": "industry", "op": "eq", "value": "software"}
US = {"field": "country", "op": "eq", "value": "US"}


@pytest.fixture
def world(engine) -> World:
    return load_world(engine)


def save(world: World, **options) -> dict:
    options = {"name": "Software", "entity": "companies", "filter_json": SOFTWARE, "owner": "ana", **options}
    with write_transaction(world.engine) as conn:
        return saved.save_segment(conn, world.workspace_id, **options)


def call(world: World, function, *args, **options):
    with write_transaction(world.engine) as conn:
        return function(conn, world.workspace_id, *args, **options)


def members(world: World, filter_json, entity="companies") -> set[str]:
    with world.engine.connect() as conn:
        ids = matching_ids(conn, world.workspace_id, entity, filter_json,
                           segment_resolver=saved.resolver(conn, world.workspace_id, entity=entity))
    return world.names(entity, ids)


def test_a_new_segment_is_version_1_with_its_filter_owner_and_description(world):
    segment = save(world, note="first cut")
    assert segment["version"] == 1 and segment["owner"] == "ana" and segment["entity"] == "companies"
    assert segment["filter"] == SOFTWARE and segment["note"] == "first cut"
    assert segment["description"] == "Industry is software"
    assert segment["created_at"] == segment["updated_at"] and segment["archived_at"] is None


def test_the_list_shows_each_segment_with_its_last_count_and_when_it_was_taken(world):
    first = save(world, name="b second")
    save(world, name="A first", filter_json=US)
    call(world, saved.refresh_count, first["id"])
    listed = call(world, saved.list_segments)
    assert [s["name"] for s in listed] == ["A first", "b second"]
    assert set(listed[0]) == {"id", "name", "entity", "owner", "version", "last_count", "last_evaluated_at",
                              "created_at", "updated_at", "archived_at"}
    assert listed[0]["last_count"] is None and listed[0]["last_evaluated_at"] is None
    assert listed[1]["last_count"] == 2 and listed[1]["last_evaluated_at"] is not None


def test_saving_again_adds_a_version_and_keeps_the_old_one_unchanged(world):
    first = save(world)
    second = save(world, segment_id=first["id"], filter_json={"and": [SOFTWARE, US]}, owner="bo", note="US only")
    assert second["id"] == first["id"] and second["version"] == 2
    assert second["owner"] == "ana", "the segment keeps its owner; the version records who saved it"
    versions = call(world, saved.segment_versions, first["id"])
    assert [(v["version"], v["owner"], v["note"]) for v in versions] == [(2, "bo", "US only"), (1, "ana", "")]
    assert call(world, saved.get_version, first["id"], 1)["filter"] == SOFTWARE
    assert call(world, saved.get_version, first["id"], 2)["filter"] == {"and": [SOFTWARE, US]}


def test_a_save_can_rename_and_resets_the_count_that_belonged_to_the_old_filter(world):
    first = save(world)
    call(world, saved.refresh_count, first["id"])
    second = save(world, segment_id=first["id"], name="Software, renamed")
    assert second["name"] == "Software, renamed" and second["last_count"] is None


def test_membership_is_evaluated_when_asked_never_stored(world):
    segment = save(world)
    assert call(world, saved.refresh_count, segment["id"]) == 2  # acme, nameless (gamma is archived)
    add_company(world, crm_id="new", domain="new.io", industry="Software")
    assert call(world, saved.refresh_count, segment["id"]) == 3
    with world.engine.connect() as conn:
        stored = conn.execute(sa.select(VERSION.c.filter).where(VERSION.c.segment_id == segment["id"])).scalars().all()
    assert stored == [SOFTWARE], "a version holds the filter and nothing else about members"


@pytest.mark.parametrize(("name", "message"), [
    ("", "needs a name"), ("   ", "needs a name"), ("x" * 121, "limited to 120 characters"), (None, "must be text"),
])
def test_a_name_must_be_given_and_short(world, name, message):
    with pytest.raises(ValueError, match=message):
        save(world, name=name)


def test_a_live_segment_name_is_unique_in_the_workspace_ignoring_case(world):
    save(world, name="Software")
    with pytest.raises(ValueError, match="already called 'SOFTWARE'"):
        save(world, name="  SOFTWARE ")
    other = load_world(world.engine)
    assert save(other, name="Software")["version"] == 1, "another workspace may use the name"


def test_an_archived_segment_gives_its_name_back_and_cannot_return_while_it_is_taken(world):
    old = save(world)
    call(world, saved.archive_segment, old["id"])
    new = save(world)
    with pytest.raises(ValueError, match="already called"):
        call(world, saved.unarchive_segment, old["id"])
    call(world, saved.archive_segment, new["id"])
    call(world, saved.unarchive_segment, old["id"])
    assert call(world, saved.get_segment, old["id"])["archived_at"] is None


def test_archived_segments_leave_the_list_unless_asked_for(world):
    segment = save(world)
    call(world, saved.archive_segment, segment["id"])
    assert call(world, saved.list_segments) == []
    [listed] = call(world, saved.list_segments, include_archived=True)
    assert listed["id"] == segment["id"] and listed["archived_at"] is not None


def test_a_filter_that_cannot_run_is_refused_naming_the_node_and_nothing_is_saved(world):
    with pytest.raises(FilterError, match=r"and\[1\]: field 'industy' is not in the companies catalog"):
        save(world, filter_json={"and": [SOFTWARE, {"field": "industy", "op": "eq", "value": "x"}]})
    assert call(world, saved.list_segments) == []


def test_a_filter_that_is_not_json_is_refused(world):
    with pytest.raises(FilterError, match="not JSON"):
        save(world, filter_json={"field": "industry", "op": "eq", "value": float("nan")})


def test_a_segment_keeps_its_entity(world):
    segment = save(world)
    with pytest.raises(ValueError, match="segment of companies"):
        save(world, segment_id=segment["id"], entity="people", filter_json=US)
    with pytest.raises(ValueError, match="Unknown entity"):
        save(world, entity="leads")


def test_segments_of_another_workspace_or_that_do_not_exist_are_not_found(world):
    segment = save(world)
    other = load_world(world.engine)
    for function, args in [(saved.get_segment, ()), (saved.segment_versions, ()), (saved.get_version, (1,)),
                           (saved.archive_segment, ()), (saved.refresh_count, ()), (saved.duplicate_segment, ())]:
        options = {"owner": "x"} if function is saved.duplicate_segment else {}
        with pytest.raises(LookupError):
            call(other, function, segment["id"], *args, **options)
    with pytest.raises(LookupError, match="no version 7"):
        call(world, saved.get_version, segment["id"], 7)
    with pytest.raises(LookupError):
        save(other, segment_id=segment["id"])


def test_the_diff_counts_and_samples_who_would_join_and_who_would_leave(world):
    segment = save(world, filter_json={"field": "country", "op": "in", "value": ["US", "GB"]})
    diff = call(world, saved.diff_against_saved, segment["id"], SOFTWARE)
    assert diff["version"] == 1
    assert (diff["added"], diff["removed"]) == (1, 1)
    assert [s["label"] for s in diff["added_sample"]] == ["epsilon.com"], "no name: the domain labels it"
    assert [s["label"] for s in diff["removed_sample"]] == ["Beta Bio"]
    assert diff["added_sample"][0]["id"] == world.ids["nameless"]


def test_the_diff_against_the_saved_filter_itself_is_empty(world):
    segment = save(world)
    assert call(world, saved.diff_against_saved, segment["id"], SOFTWARE) == {
        "version": 1, "added": 0, "removed": 0, "added_sample": [], "removed_sample": []}


def test_the_diff_can_compare_with_an_older_version_and_limits_its_samples(world):
    segment = save(world, filter_json={"and": []})
    save(world, segment_id=segment["id"], filter_json=SOFTWARE)
    diff = call(world, saved.diff_against_saved, segment["id"], {"or": []}, version=1, sample=2)
    assert diff["version"] == 1 and diff["removed"] == 4 and len(diff["removed_sample"]) == 2
    assert call(world, saved.diff_against_saved, segment["id"], {"or": []})["removed"] == 2


def test_duplicating_copies_the_current_filter_under_a_free_name(world):
    segment = save(world)
    save(world, segment_id=segment["id"], filter_json={"and": [SOFTWARE, US]})
    copy = call(world, saved.duplicate_segment, segment["id"], owner="bo")
    assert copy["id"] != segment["id"] and copy["name"] == "Software (copy)" and copy["version"] == 1
    assert copy["filter"] == {"and": [SOFTWARE, US]} and copy["owner"] == "bo"
    assert "#%d" % segment["id"] in copy["note"] and "version 2" in copy["note"]
    assert call(world, saved.duplicate_segment, segment["id"], owner="bo")["name"] == "Software (copy 2)"
    assert call(world, saved.duplicate_segment, segment["id"], owner="bo", name="Mine")["name"] == "Mine"


def test_a_filter_includes_or_excludes_another_segment_by_its_current_version(world):
    base = save(world)
    including = {"and": [{"segment": base["id"], "op": "in_segment"}, US]}
    excluding = {"segment": base["id"], "op": "not_in_segment"}
    assert members(world, including) == {"acme"}
    assert members(world, excluding) == {"beta", "formula"}
    save(world, segment_id=base["id"], filter_json={"field": "country", "op": "in", "value": ["US", "GB"]})
    assert members(world, including) == {"acme"}
    assert members(world, excluding) == {"formula", "nameless"}


def test_an_included_segment_is_described_by_name(world):
    base = save(world)
    other = save(world, name="US software", filter_json={"and": [{"segment": base["id"], "op": "in_segment"}, US]})
    assert other["description"] == 'in segment "Software" and Country is US'


def test_an_archived_segment_still_counts_where_it_is_included(world):
    base = save(world)
    call(world, saved.archive_segment, base["id"])
    assert members(world, {"segment": base["id"], "op": "in_segment"}) == {"acme", "nameless"}


def test_a_segment_cannot_include_itself_however_indirectly(world):
    a = save(world, name="A")
    with pytest.raises(FilterError, match="includes itself"):
        save(world, segment_id=a["id"], name="A", filter_json={"segment": a["id"], "op": "in_segment"})
    b = save(world, name="B", filter_json={"segment": a["id"], "op": "not_in_segment"})
    with pytest.raises(FilterError, match="includes itself"):
        save(world, segment_id=a["id"], name="A", filter_json={"or": [SOFTWARE, {"segment": b["id"], "op": "in_segment"}]})
    assert call(world, saved.get_segment, a["id"])["version"] == 1


def test_a_segment_of_the_other_entity_cannot_be_included(world):
    companies = save(world)
    with pytest.raises(FilterError, match="segment of companies; a people filter can only include people segments"):
        save(world, name="People", entity="people", filter_json={"segment": companies["id"], "op": "in_segment"})


def test_including_a_segment_that_does_not_exist_names_it(world):
    with pytest.raises(FilterError, match=r"segment #999999 does not exist"):
        save(world, filter_json={"segment": 999_999, "op": "in_segment"})


def test_a_segment_whose_field_left_the_catalog_still_shows_and_says_why_it_cannot_run(world):
    segment = save(world, filter_json={"field": "stage", "op": "eq", "value": "seed"})
    with write_transaction(world.engine) as conn:
        table = FieldDef.__table__
        conn.execute(sa.delete(table).where(table.c.workspace_id == world.workspace_id, table.c.key == "stage"))
    shown = call(world, saved.get_segment, segment["id"])
    assert shown["filter"] == {"field": "stage", "op": "eq", "value": "seed"}
    assert shown["description"].startswith("This filter cannot run any more: filter: field 'stage'")


def test_refreshing_on_a_fresh_connection_commits_the_count(world):
    segment = save(world)
    with world.engine.connect() as conn:
        assert saved.refresh_count(conn, world.workspace_id, segment["id"]) == 2
    with world.engine.connect() as conn:
        row = conn.execute(sa.select(SEGMENT.c.last_count).where(SEGMENT.c.id == segment["id"])).one()
    assert row.last_count == 2
