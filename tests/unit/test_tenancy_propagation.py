"""A change of who a namespace acts as reaches its objects at once, and nothing else does.

The operator compares a fingerprint of each namespace's tenancy with the one it saw last; the
objects of a namespace whose fingerprint changed are annotated, which kopf sees as their change.
"""

from __future__ import annotations

import threading

from scar_operator.account.propagation import KnownObjects, TenancyChanges, fingerprint, nudge
from scar_operator.account.selection import SINGLE_TEAM, Tenancy
from scar_operator.account.spec import parse_account_spec


def account(**spec: object) -> Tenancy:
    parsed = parse_account_spec({"namespaceSelector": {"matchLabels": {"team": "a"}}, **spec})
    return Tenancy(account_name="team-a", account=parsed)


def test_any_change_of_the_account_or_of_its_choice_changes_the_fingerprint() -> None:
    base = account(buckets=[{"bucket": "data", "prefixes": ["in/"]}])
    assert fingerprint(base) == fingerprint(account(buckets=[{"bucket": "data", "prefixes": ["in/"]}]))
    others = [
        account(buckets=[{"bucket": "data", "prefixes": ["out/"]}]),  # a prefix revoked
        account(buckets=[{"bucket": "data", "prefixes": ["in/"]}], images=["registry/team-a/"]),
        Tenancy(account_name="team-b", account=base.account),  # another account selects it now
        SINGLE_TEAM,
        Tenancy(refusal="namespace 'n' is selected by no ScarAccount"),
    ]
    assert len({fingerprint(t) for t in [base, *others]}) == len(others) + 1


def test_first_sight_is_no_change_and_only_a_changed_namespace_is_reported() -> None:
    changes = TenancyChanges()
    assert changes.changed({"a": "1", "b": "2"}) == {}  # at start every object is resumed anyway
    assert changes.changed({"a": "1", "b": "2"}) == {}
    assert changes.changed({"a": "1", "b": "3"}) == {"b": "3"}
    assert changes.changed({"b": "3"}) == {}
    changes.forget("a")
    assert changes.changed({"a": "9"}) == {}  # a namespace made anew has no objects to tell


def test_every_object_of_a_changed_namespace_is_annotated_and_no_other() -> None:
    written: list[tuple[str, str, str, str]] = []
    lock = threading.Lock()

    def annotate(plural: str, namespace: str, name: str, value: str) -> None:
        with lock:
            written.append((plural, namespace, name, value))

    objects = [("scarfunctions", "a", f"f{i}") for i in range(20)] + [("scarbatchjobs", "a", "split"),
                                                                       ("scarfunctions", "b", "other")]
    assert nudge(objects, {"a": "new"}, annotate) == 21
    assert sorted(written) == sorted((p, n, name, "new") for p, n, name in objects if n == "a")


def test_an_object_that_cannot_be_annotated_does_not_keep_the_others_from_hearing() -> None:
    told: list[str] = []

    def annotate(plural: str, namespace: str, name: str, value: str) -> None:
        if name == "gone":
            raise RuntimeError("404")
        told.append(name)

    assert nudge([("scarfunctions", "a", "gone"), ("scarfunctions", "a", "here")], {"a": "x"}, annotate) == 1
    assert told == ["here"]


def test_the_objects_told_are_those_of_the_namespaces_until_their_teardown_ends() -> None:
    known = KnownObjects()
    known.add("scarfunctions", "a", "f", "uid-1")
    known.add("scarfunctions", "a", "f", "uid-1")  # every pass meets it again: still one object
    known.add("scarbatchjobs", "a", "split", "uid-2")
    known.add("scarfunctions", "b", "g", "uid-3")
    assert sorted(known.of(["a"])) == [("scarbatchjobs", "a", "split"), ("scarfunctions", "a", "f")]
    known.remove("a", "uid-1")
    assert known.of(["a", "c"]) == [("scarbatchjobs", "a", "split")]
