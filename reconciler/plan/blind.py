"""Sensitive values compared at apply: a pull request's plan must not tell whether a masked
value it declares equals the live one.

Masking hides the values, but not the comparison: declaring a live user's id with a guessed
email planned "1 unchanged" when right and "1 to update" when wrong. So a plan made for a pull
request (one that knows its base revision: ``--changed-since`` or ``--sensitive-from``) compares
no sensitive value of a user that exists: each declared one is a line ``~ email: sensitive,
compared at apply``, equal or not; the user counts as one to update either way; the reviewed
request carries the value either way; and the fingerprint leaves its live value out. The plan,
its counts, its document and its checksum are then the same whatever the live value is.

Only the values the pull request declares otherwise than its base revision are compared so
(with ``--changed-since``, which reads the base's declarations; with ``--sensitive-from``
alone, every sensitive value a planned user declares): a value the base already declared is
readable there, so whether the live one equals it is the ordinary drift a plan shows.

What is *sent* is still only what is needed: the planner notes the values the target already
holds (``UserChange.unsent``), which apply on the merged commit (with the same base, hence the
same checksum) leaves out of the request, and sends nothing for a user left with nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from reconciler.model import (
    Attributes,
    AttributeValue,
    Company,
    FieldPath,
    Membership,
    Upsert,
    UserSpec,
)

#: The line a blinded value shows instead of its comparison.
COMPARED_AT_APPLY = "sensitive, compared at apply"


class Unknown:
    """The base revision's declaration of a user is not known."""


UNKNOWN = Unknown()
_ABSENT = object()


def changed_since_base(
    spec: UserSpec | None, base: UserSpec | Unknown | None, path: FieldPath
) -> bool:
    """Whether ``spec`` declares ``path`` otherwise than ``base`` did (always, base unknown)."""
    if isinstance(base, Unknown) or spec is None:
        return True
    return base is None or declared_value(spec, path) != declared_value(base, path)


def declared_value(spec: UserSpec, path: FieldPath) -> AttributeValue | object:
    """The value ``spec`` declares at a leaf ``path`` (a sentinel when it declares none)."""
    section, *rest = path
    if section == "email":
        return spec.email
    if section == "attributes":
        return spec.attributes.get(str(rest[0]), _ABSENT)
    if section == "companies":
        for company in spec.companies:
            if company.id == rest[0]:
                return company.attributes.get(str(rest[1]), _ABSENT)
        return _ABSENT
    for membership in spec.memberships:  # memberships.<id>[.company].<name>
        if membership.company.id == rest[0]:
            values = (
                membership.company.attributes
                if rest[1:2] == ["company"] and len(rest) == 3
                else membership.attributes
            )
            return values.get(str(rest[-1]), _ABSENT)
    return _ABSENT


def to_send(upsert: Upsert, unsent: Collection[FieldPath]) -> Upsert | None:
    """``upsert`` without the values at ``unsent`` (already live); None when nothing is left."""
    if not unsent:
        return upsert
    left_out = set(unsent)
    companies = tuple(
        Company(c.id, _without(c.attributes, ("companies", c.id), left_out))
        for c in upsert.companies
    )
    memberships = tuple(_membership(m, left_out) for m in upsert.memberships)
    sent = dataclasses.replace(
        upsert,
        attributes=_without(upsert.attributes, ("attributes",), left_out),
        email=None if ("email",) in left_out else upsert.email,
        # A company or membership all of whose values are live already exists there.
        companies=tuple(
            c
            for c, o in zip(companies, upsert.companies, strict=True)
            if c.attributes or not o.attributes
        ),
        memberships=tuple(
            m
            for m, o in zip(memberships, upsert.memberships, strict=True)
            if m.attributes or m.company.attributes or not (o.attributes or o.company.attributes)
        ),
    )
    empty = not (sent.attributes or sent.email is not None or sent.events)
    return None if empty and not (sent.companies or sent.memberships) else sent


def _without(values: Attributes, prefix: FieldPath, left_out: set[FieldPath]) -> Attributes:
    return {name: value for name, value in values.items() if (*prefix, name) not in left_out}


def _membership(membership: Membership, left_out: set[FieldPath]) -> Membership:
    prefix = ("memberships", membership.company.id)
    company = membership.company
    return Membership(
        Company(company.id, _without(company.attributes, (*prefix, "company"), left_out)),
        _without(membership.attributes, prefix, left_out),
    )
