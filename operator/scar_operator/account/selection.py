"""Which ScarAccount serves a namespace: the one whose selector matches its labels.

None matching is single-team mode (the operator's own identity, no guardrails) unless the
operator requires an account; more than one matching is refused, naming them, rather than
guessing which team's identity and guardrails apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from scar_operator.account.spec import LabelSelector, ScarAccountSpec, parse_account_spec
from scar_operator.models import SpecError


def selects(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes' label-selector semantics (an empty selector selects every namespace)."""
    if any(labels.get(key) != value for key, value in selector.match_labels.items()):
        return False
    for requirement in selector.match_expressions:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        if requirement.operator == "In" and not (present and value in requirement.values):
            return False
        if requirement.operator == "NotIn" and present and value in requirement.values:
            return False
        if requirement.operator == "Exists" and not present:
            return False
        if requirement.operator == "DoesNotExist" and present:
            return False
    return True


@dataclass(frozen=True)
class InvalidAccount:
    """A ScarAccount whose spec does not parse (the CRD's schema should keep these out). It still
    claims the namespaces its selector names, or every namespace when even that does not parse:
    a broken account must refuse its teams, never leave them to the operator's own identity."""

    error: str
    selector: LabelSelector | None


AccountEntry = ScarAccountSpec | InvalidAccount


def account_entry(spec: Mapping[str, object]) -> AccountEntry:
    try:
        return parse_account_spec(dict(spec))
    except SpecError as e:
        try:
            selector: LabelSelector | None = LabelSelector.model_validate(spec.get("namespaceSelector"))
        except ValidationError:
            selector = None
        return InvalidAccount(str(e), selector)


def _selects(entry: AccountEntry, labels: Mapping[str, str]) -> bool:
    selector = entry.namespace_selector if isinstance(entry, ScarAccountSpec) else entry.selector
    return selector is None or selects(selector, labels)


@dataclass(frozen=True)
class Tenancy:
    """Who an object acts as: its namespace's account, the operator itself, or nobody (refused)."""

    account_name: str | None = None
    account: ScarAccountSpec | None = None
    # Why no identity may be used (none selects the namespace and one is required, or several do).
    refusal: str | None = None


SINGLE_TEAM = Tenancy()


def tenancy_of(namespace: str, labels: Mapping[str, str] | None, accounts: Mapping[str, AccountEntry],
               require_account: bool) -> Tenancy:
    # A namespace the operator has not seen yet has no labels: only selectors that match nothing
    # particular (empty) select it.
    matching = sorted(name for name, entry in accounts.items() if _selects(entry, labels or {}))
    if len(matching) > 1:
        names = ", ".join(repr(n) for n in matching)
        return Tenancy(refusal=f"namespace {namespace!r} is selected by more than one ScarAccount ({names}); "
                               f"a cluster administrator must narrow their namespaceSelectors")
    if matching:
        entry = accounts[matching[0]]
        if isinstance(entry, InvalidAccount):
            return Tenancy(refusal=f"ScarAccount {matching[0]!r}, which selects namespace {namespace!r}, is invalid: "
                                   f"{entry.error}")
        return Tenancy(account_name=matching[0], account=entry)
    if require_account:
        return Tenancy(refusal=f"namespace {namespace!r} is selected by no ScarAccount, and this operator "
                               f"requires one (--require-account)")
    return SINGLE_TEAM
