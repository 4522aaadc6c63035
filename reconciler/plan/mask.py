"""The one masking step: a Plan (or an apply report) with every sensitive value replaced by MASK.

Pure, and run once between the planner and every renderer and serializer (usecases/present.py
masks the plan into the view every format renders; usecases/applying.py masks apply's
report): text, Markdown, the JSON document (its ``fields``, ``upsert`` and ``request``), the
saved plan and apply's report all show the masked value they are handed and know nothing about
``sensitive:``. A renderer cannot forget to mask, and no format masks differently from another.
The checksum is the one thing computed from the unmasked plan (it must cover what is sent).

A path is sensitive (``model.is_sensitive``) when any name on it is listed, or the path as
written, or a prefix of it: ``phone`` masks ``attributes.phone``, ``companies.acme.phone`` and
``memberships.acme.company.phone``; ``companies.acme`` masks every value of that company.
``email`` is always listed (config.py). A warning that quotes a declared value (the planner's
prediction of a value Usertour would drop) holds it at its path, and is masked by that path
like a field change. Only a vendor's free text (apply's messages) is searched for the values
of its request, since the vendor says where they are nowhere else; and since a vendor may echo
them re-encoded (``\\u0061lice``, ``ALICE@``, ``alice%40``), the message is decoded first and
searched regardless of case, every email-shaped word is masked, and a message that still holds
a value's letters and digits in any order of punctuation is withheld (message.py's job).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping

from reconciler.model import (
    MASK,
    Attributes,
    AttributeValue,
    Company,
    FieldPath,
    Membership,
    Upsert,
    is_sensitive,
)
from reconciler.plan.message import mask_vendor_text
from reconciler.planned import (
    ApplyReport,
    FieldChange,
    Plan,
    PlanWarning,
    TargetPlan,
    UserChange,
    UserDeletion,
    UserOutcome,
)

#: A sensitive value shorter than this is not searched for in free text (a vendor's message):
#: "1" or "no" would mask unrelated words, and short values say little anyway.
MIN_SEARCHED = 3


def _masked(value: AttributeValue) -> AttributeValue:
    return value if value is None else MASK


def mask_change(change: FieldChange, sensitive: Collection[str]) -> FieldChange:
    if not is_sensitive(change.path, sensitive):
        return change
    return dataclasses.replace(change, old=_masked(change.old), new=_masked(change.new))


def _mask_values(prefix: FieldPath, values: Attributes, sensitive: Collection[str]) -> Attributes:
    """``values`` itself when none is sensitive: a copy of every user's attributes would be a
    second copy of the plan's values, held as long as the plan is shown."""
    masked = {
        name: _masked(value)
        for name, value in values.items()
        if value is not None and is_sensitive((*prefix, name), sensitive)
    }
    return {**values, **masked} if masked else values


def mask_upsert(upsert: Upsert, sensitive: Collection[str]) -> Upsert:
    """The request with every sensitive value masked, at every depth (companies, memberships);
    ``upsert`` itself when nothing in it is sensitive."""
    email = _masked(upsert.email) if is_sensitive(("email",), sensitive) else upsert.email
    companies = tuple(_mask_company(("companies", c.id), c, sensitive) for c in upsert.companies)
    memberships = tuple(_mask_membership(m, sensitive) for m in upsert.memberships)
    attributes = _mask_values(("attributes",), upsert.attributes, sensitive)
    if (
        email is upsert.email
        and attributes is upsert.attributes
        and _same(companies, upsert.companies)
        and _same(memberships, upsert.memberships)
    ):
        return upsert
    return dataclasses.replace(
        upsert, attributes=attributes, email=email, companies=companies, memberships=memberships
    )


def _same(masked: tuple[object, ...], original: tuple[object, ...]) -> bool:
    """Nothing was masked: every item is the original object (identity, never ``==``: a masked
    value equals a declared "(sensitive)" string)."""
    return all(new is old for new, old in zip(masked, original, strict=True))


def _mask_company(prefix: FieldPath, company: Company, sensitive: Collection[str]) -> Company:
    values = _mask_values(prefix, company.attributes, sensitive)
    return company if values is company.attributes else Company(company.id, values)


def _mask_membership(membership: Membership, sensitive: Collection[str]) -> Membership:
    prefix = ("memberships", membership.company.id)
    company = _mask_company((*prefix, "company"), membership.company, sensitive)
    values = _mask_values(prefix, membership.attributes, sensitive)
    if company is membership.company and values is membership.attributes:
        return membership
    return Membership(company, values)


def _mask_user(change: UserChange, sensitive: Collection[str]) -> UserChange:
    """The change's fields and its request, each masked once; ``change`` itself when none of
    its values is sensitive (the masked plan then shares it with the plan)."""
    fields = tuple(mask_change(field, sensitive) for field in change.fields)
    upsert = mask_upsert(change.upsert, sensitive)
    if upsert is change.upsert and _same(fields, change.fields):
        return change
    return dataclasses.replace(change, fields=fields, upsert=upsert)


def _mask_deletion(deletion: UserDeletion, sensitive: Collection[str]) -> UserDeletion:
    if deletion.email is None or not is_sensitive(("email",), sensitive):
        return deletion
    return dataclasses.replace(deletion, email=MASK)


def _mask_warning(warning: PlanWarning, sensitive: Collection[str]) -> PlanWarning:
    if warning.path is None or not is_sensitive(warning.path, sensitive):
        return warning
    return dataclasses.replace(warning, value=_masked(warning.value))


def _mask_target(target: TargetPlan, sensitive: Collection[str]) -> TargetPlan:
    warnings = tuple(_mask_warning(warning, sensitive) for warning in target.warnings)
    return dataclasses.replace(
        target,
        changes=tuple(_mask_user(change, sensitive) for change in target.changes),
        deletions=tuple(_mask_deletion(deletion, sensitive) for deletion in target.deletions),
        warnings=warnings,
    )


def mask_plan(plan: Plan, sensitive: Collection[str]) -> Plan:
    """The plan every format renders: the same plan, sensitive values replaced by MASK."""
    return dataclasses.replace(
        plan, targets=tuple(_mask_target(target, sensitive) for target in plan.targets)
    )


def sensitive_values(upsert: Upsert, sensitive: Collection[str]) -> set[str]:
    """The sensitive values a request carries, as a vendor may echo them in an error message."""
    return _found(upsert, mask_upsert(upsert, sensitive))


def _found(upsert: Upsert, masked: Upsert) -> set[str]:
    """The values of ``upsert`` that ``masked`` (the same request masked) replaced by MASK."""
    pairs = [(upsert.email, masked.email)]
    pairs += _pairs(upsert.attributes, masked.attributes)
    for company, masked_company in zip(upsert.companies, masked.companies, strict=True):
        pairs += _pairs(company.attributes, masked_company.attributes)
    for membership, masked_membership in zip(upsert.memberships, masked.memberships, strict=True):
        pairs += _pairs(membership.company.attributes, masked_membership.company.attributes)
        pairs += _pairs(membership.attributes, masked_membership.attributes)
    found: set[str] = set()
    for value, shown in pairs:
        if shown is MASK:
            found.update(_texts(value))
    return {text for text in found if len(text) >= MIN_SEARCHED}


def _pairs(
    values: Mapping[str, AttributeValue], masked: Mapping[str, AttributeValue]
) -> list[tuple[AttributeValue, AttributeValue]]:
    return [(values[name], masked[name]) for name in values]


def _texts(value: AttributeValue) -> Iterable[str]:
    """How a value may appear in a message: as written, and as JSON (``"x"``, ``12.5``)."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        yield item if isinstance(item, str) else json.dumps(item)
        yield json.dumps(item, ensure_ascii=False)


def mask_report(report: ApplyReport, plan: Plan, sensitive: Collection[str]) -> ApplyReport:
    """The apply report every format prints: values that did not stick masked like the plan's,
    and a vendor's message cleared of the sensitive values that user's request carried."""
    upserts = {(t.target, c.user_id): c.upsert for t in plan.targets for c in t.changes}
    outcomes = []
    for outcome in report.outcomes:
        upsert = upserts.get((outcome.target, outcome.user_id))
        outcomes.append(_mask_outcome(outcome, upsert, sensitive))
    return dataclasses.replace(report, outcomes=tuple(outcomes))


def _mask_outcome(
    outcome: UserOutcome, upsert: Upsert | None, sensitive: Collection[str]
) -> UserOutcome:
    message = outcome.message
    if message is not None:
        values = sensitive_values(upsert, sensitive) if upsert is not None else set()
        message = mask_vendor_text(message, values)
    not_stuck = tuple(mask_change(change, sensitive) for change in outcome.not_stuck)
    return dataclasses.replace(outcome, message=message, not_stuck=not_stuck)
