"""One ProviderKind per vendor: the registry, the classes that name their kind, and the settings
an opened target takes from its kind or from its config (no request is sent here)."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.errors import TargetError
from reconciler.kinds import CAPABILITIES, KINDS, PROVIDER_KINDS
from reconciler.kinds.kind import ProviderKind
from reconciler.kinds.sprig import SPRIG
from reconciler.kinds.usertour import USERTOUR
from reconciler.providers import open_provider, provider_class
from reconciler.settings import TargetConfig

KEYS = {"SPRIG_API_KEY": "k1", "USERTOUR_API_KEY": "k2"}


def test_every_kind_is_registered_by_its_name_and_its_class_names_it_back() -> None:
    assert PROVIDER_KINDS == ("sandbox", "sprig", "usertour")
    for name, kind in KINDS.items():
        assert kind.name == name
        assert provider_class(kind).kind is kind
        assert CAPABILITIES[name] is kind.capabilities


def test_a_kind_whose_class_names_another_kind_is_refused() -> None:
    impostor = dataclasses.replace(USERTOUR, name="usertour2")
    with pytest.raises(TypeError, match="is not the provider of kind usertour2"):
        provider_class(impostor)


def test_an_unknown_kind_names_the_target() -> None:
    with pytest.raises(TargetError, match="target t: provider 'hubspot' is not supported"):
        open_provider(TargetConfig("t", "hubspot"), {})


@pytest.mark.parametrize("kind", [SPRIG, USERTOUR], ids=lambda kind: kind.name)
def test_http_targets_take_parallelism_from_the_config_and_retries_from_the_kind(
    kind: ProviderKind,
) -> None:
    variable = f"{kind.name.upper()}_API_KEY"
    target = TargetConfig("t", kind.name, api_key_env=variable, parallelism=5)
    environ = {**KEYS, "RECONCILER_RETRY_ATTEMPTS": "2"}
    with open_provider(target, environ) as provider:
        assert provider.kind is kind
        assert provider.parallelism == 5
        assert provider.eventually_consistent == kind.eventually_consistent
        # The kind's policy, with what the environment sets applied over it.
        assert provider.retry == dataclasses.replace(kind.retry, max_attempts=2)
