"""The audit service's settings: the state source is a typed field, kept out of the settings' repr and equality."""

from __future__ import annotations

import pytest

from services.audit.settings import AuditSettings
from telemetry import ConfigError
from tests.support.audit import FakeStateSource


def test_no_source_is_configured_unless_one_is_given_so_the_app_reads_the_services_over_http():
    assert AuditSettings.from_env(env={}).source is None
    source = FakeStateSource()
    assert AuditSettings.from_env(env={}).with_overrides({"source": source}).source is source


def test_a_source_that_is_not_a_state_source_is_a_configuration_error():
    with pytest.raises(ConfigError, match="source must be a services.audit.domain.StateSource"):
        AuditSettings.from_env(env={}).with_overrides({"source": object()})


def test_the_source_is_neither_in_the_settings_repr_nor_in_their_equality():
    settings = AuditSettings.from_env(env={})
    given = settings.with_overrides({"source": FakeStateSource()})
    assert "source=" not in repr(given)
    assert given == settings
