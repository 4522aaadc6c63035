"""Per-target mapping: how a declared attribute is sent to one target, and read back from it.

One set of declarations often goes to targets that hold different things: Sprig holds no lists,
one tool names an attribute ``plan`` where another says ``plan_name``. A target's ``mapping:`` in
reconciler.yaml says, per declared attribute, to rename it, to join a list into one string, or
to drop it there (octoDNS's processors, a reverse-ETL tool's field mapping). Pure values, used by
every stage: plan and apply compare and send the *mapped* user (what the target holds), import
applies the inverse (``receive``) where one exists and says where it cannot.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import Attributes, AttributeValue, UserSpec


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """What one declared attribute becomes on a target (``drop``, or a rename and/or a join)."""

    name: str
    rename: str | None = None
    #: The separator a list is joined with into one string (a string is sent as it is).
    join: str | None = None
    drop: bool = False
    #: Where the rule is written in reconciler.yaml (1-based), for messages.
    line: int | None = field(default=None, compare=False)
    column: int | None = field(default=None, compare=False)

    @property
    def sent_as(self) -> str:
        """The attribute's name on the target."""
        return self.rename or self.name

    def value(self, declared: AttributeValue) -> AttributeValue:
        """The value sent for ``declared`` (a list joined; anything else as it is)."""
        if self.join is not None and isinstance(declared, list):
            return self.join.join(str(item) for item in declared)
        return declared

    def describe(self) -> str:
        """The rule as people read it: ``dropped``, ``renamed to plan_name, joined with ","``."""
        if self.drop:
            return "dropped"
        parts = [f"renamed to {self.rename}"] if self.rename else []
        if self.join is not None:
            parts.append(f"joined with {self.join!r}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Received:
    """Live attributes read back through a mapping: in declared form, and what could not be."""

    attributes: dict[str, AttributeValue]
    #: (live attribute name, why it is not read back), sorted by name.
    left_out: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TargetMapping:
    """Every rule of one target, sorted by declared name. Empty: attributes go as declared."""

    #: A tuple, not a dict: a TargetConfig is a hashable value.
    rules: tuple[AttributeRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rule(self, name: str) -> AttributeRule | None:
        """The rule of the declared attribute ``name``, if any."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        return None

    def send(self, declared: Attributes) -> dict[str, AttributeValue]:
        """The attributes as the target receives them: renamed, joined, dropped."""
        if not self.rules:
            return dict(declared)
        sent: dict[str, AttributeValue] = {}
        for name, value in declared.items():
            rule = self.rule(name)
            if rule is None:
                sent[name] = value
            elif not rule.drop:
                sent[rule.sent_as] = rule.value(value)
        return sent

    def origin(self, sent_name: str) -> str:
        """The declared name of the attribute the target knows as ``sent_name``."""
        for rule in self.rules:
            if not rule.drop and rule.sent_as == sent_name:
                return rule.name
        return sent_name

    def receive(self, live: Attributes) -> Received:
        """The inverse, for import: each live attribute through ``receive_one``."""
        kept: dict[str, AttributeValue] = {}
        left_out: list[tuple[str, str]] = []
        for name in sorted(live):
            received = self.receive_one(name, live[name])
            if isinstance(received, str):
                left_out.append((name, received))
            else:
                kept[received[0]] = received[1]
        return Received(kept, tuple(left_out))

    def receive_one(self, name: str, value: AttributeValue) -> tuple[str, AttributeValue] | str:
        """One live attribute in declared form (renamed back, a joined string split), or why
        it has none: a dropped attribute has no inverse (the target never holds the declared
        value), and a live attribute named like a declared one that the mapping renames or
        drops is not the declared one."""
        for rule in self.rules:
            if not rule.drop and rule.sent_as == name:
                if rule.join is not None and not isinstance(value, str):
                    return f"not text, so it cannot be split at {rule.join!r}"
                return rule.name, _split(value, rule.join)
        shadowed = self.rule(name)
        if shadowed is not None:
            return _not_managed(shadowed)
        return name, value


def _not_managed(rule: AttributeRule) -> str:
    if rule.drop:
        return "the target's mapping drops this attribute: not managed there"
    return f"the target's mapping sends the declared {rule.name} as {rule.sent_as}"


def _split(value: Any, separator: str | None) -> Any:
    if separator is None:
        return value
    return value.split(separator) if value else []


NO_MAPPING = TargetMapping()


def map_user(spec: UserSpec, mapping: TargetMapping) -> UserSpec:
    """The user as ``mapping``'s target receives it (itself when the mapping is empty)."""
    if not mapping:
        return spec
    return dataclasses.replace(spec, attributes=mapping.send(spec.attributes))
