"""The products service's settings: its own typed field, and no silently ignored override."""

from __future__ import annotations

import pytest

from services.products.app import create_app
from services.products.settings import ProductSettings
from telemetry import ConfigError


def test_the_demo_catalog_is_seeded_unless_turned_off():
    settings = ProductSettings.from_env(env={})

    assert (settings.service, settings.seed_catalog) == ("products", True)
    assert settings.with_overrides({"seed_catalog": False}).seed_catalog is False


def test_a_misspelt_override_is_a_configuration_error_before_anything_is_opened():
    with pytest.raises(ConfigError, match="ProductSettings has no setting seed_catalogue"):
        create_app({"database_url": "sqlite:///:memory:", "seed_catalogue": False})
