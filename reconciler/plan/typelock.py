"""Usertour's attribute types, predicted: the first type seen for a name is kept per environment.

The server infers a value's type (``getAttributeType``): numbers, booleans and lists have their
own; a string matching ``YYYY-MM-DDTHH:MM:SS(.mmm)?Z`` that names a real instant is a DateTime;
any other string is a String; an object is "Nil" (only objects may follow it). The first value
seen for a name (per level: users, companies, memberships) fixes its type for the whole
environment, and later values of another type are silently dropped while the upsert still
succeeds (apis/usertour.md). Knowing that beforehand lets plan say what the server would do
(and apply say why a value did not stick); pure, no I/O. How the server types one value
(``value_type``) is a fact of the vendor, in kinds/usertour.py, which validate uses too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

from reconciler.kinds.kind import STRING
from reconciler.kinds.usertour import WORDS, value_type
from reconciler.model import Attributes, AttributeValue, FieldPath, LiveUser, UserSpec, format_path
from reconciler.planned import PlanWarning

#: (level, attribute name): a name is locked separately for users, companies and memberships.
Slot = tuple[str, str]


def live_slots(user: LiveUser) -> Iterator[tuple[str, Attributes]]:
    """(level, attributes) of every attribute map a live user shows."""
    yield "user", user.attributes
    for attributes in user.companies.values():
        yield "company", attributes
    for membership in user.memberships.values():
        yield "company", membership.company.attributes
        yield "membership", membership.attributes


def environment_types(users: Iterable[LiveUser]) -> dict[Slot, str]:
    """The types the environment holds, as far as the live users read show them: a stored
    value always has its name's type, since values of another type are never stored."""
    types: dict[Slot, str] = {}
    for user in users:
        for level, attributes in live_slots(user):
            for name, value in attributes.items():
                type_name = value_type(value)
                if type_name is not None:
                    types.setdefault((level, name), type_name)
    return types


def sent_values(
    spec: UserSpec, fields: Collection[FieldPath]
) -> Iterator[tuple[FieldPath, Slot, AttributeValue]]:
    """(field, slot, declared value) of each typed value a change sends.

    Only the ``fields`` a change sends count (the planner's paths: ``("attributes", "seats")``,
    ``("companies", "acme", "size")``; a company or membership without attributes is one
    change of its own path).
    """
    # (level, prefix, the field a company or membership without attributes is, attributes)
    maps: list[tuple[str, FieldPath, FieldPath, Attributes]] = [
        ("user", ("attributes",), (), spec.attributes)
    ]
    for company in spec.companies:
        prefix: FieldPath = ("companies", company.id)
        maps.append(("company", prefix, prefix, company.attributes))
    for membership in spec.memberships:
        prefix = ("memberships", membership.company.id)
        maps.append(("company", (*prefix, "company"), prefix, membership.company.attributes))
        maps.append(("membership", prefix, prefix, membership.attributes))
    for level, prefix, whole, attributes in maps:
        for name, value in attributes.items():
            field = (*prefix, name)
            if value is not None and (field in fields or whole in fields):
                yield field, (level, name), value


def predicted_drops(
    spec: UserSpec,
    fields: Collection[FieldPath],
    types: Mapping[Slot, str],
) -> Iterator[tuple[FieldPath, AttributeValue, str]]:
    """(field, declared value, the environment's type) of each value the server would drop."""
    for field, slot, value in sent_values(spec, fields):
        type_name, held = value_type(value), types.get(slot)
        if type_name is not None and held is not None and held != type_name:
            yield field, value, held


def unknown_slots(spec: UserSpec, fields: Collection[FieldPath], types: Mapping[Slot, str]) -> bool:
    """Whether a change sends a value to a name whose type ``types`` does not know: only
    the environment's definitions can tell whether the server would keep it."""
    return any(slot not in types for _, slot, _ in sent_values(spec, fields))


def drop_warnings(
    spec: UserSpec,
    fields: Collection[FieldPath],
    types: Mapping[Slot, str],
    provider: str,
) -> list[PlanWarning]:
    """The plan's warning for each value of this change the server would drop."""
    return [
        drop_warning(spec.id, field, value, held, provider.capitalize())
        for field, value, held in predicted_drops(spec, fields, types)
    ]


def drop_warning(
    user_id: str, field: FieldPath, value: AttributeValue, held: str, vendor: str
) -> PlanWarning:
    """``seats is a number in this Usertour environment; the server would drop text "2" ...``.

    The value is held apart, at its path, for the mask step (a sensitive one is left out)."""
    declared = WORDS[value_type(value) or STRING]
    return PlanWarning(
        user_id,
        f"{format_path(field)} is {WORDS[held]} in this {vendor} environment; the server would "
        f"drop {declared}",
        field,
        value,
        f" (it keeps the first type it saw for a name): declare {WORDS[held]}, or use another "
        "attribute name",
    )


#: What apply says when a target that locks types did not keep a value.
DROPPED = (
    "Usertour keeps the first type it saw for an attribute name in this environment and "
    "silently drops values of another type; declare these with the type the environment "
    "already holds (plan warns which), or use another attribute name"
)
