import pytest

from telemetry.config import ConfigError, TelemetryConfig


def test_defaults_describe_a_development_service():
    config = TelemetryConfig.from_env("orders", env={})
    assert config.service_name == "orders"
    assert config.environment == "development"
    assert config.log_level == "INFO"
    assert config.otlp_protocol == "http/protobuf"
    assert config.sdk_disabled is False


def test_otel_service_name_wins_over_the_argument():
    assert TelemetryConfig.from_env("orders", env={"OTEL_SERVICE_NAME": "orders-eu"}).service_name == "orders-eu"


def test_resource_attributes_are_parsed_and_set_the_environment():
    config = TelemetryConfig.from_env(
        "orders", env={"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging,team=shop%20core"}
    )
    assert config.environment == "staging"
    assert config.resource_attributes["team"] == "shop core"


def test_the_grpc_protocol_is_selected_by_the_standard_variable():
    assert TelemetryConfig.from_env("x", env={"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).otlp_protocol == "grpc"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_LEVEL", "LOUD"),
        ("OTEL_SDK_DISABLED", "maybe"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("TIENDA_ENV", "prod"),
        ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
    ],
)
def test_a_malformed_variable_is_an_error_that_names_it(name, value):
    with pytest.raises(ConfigError, match=name):
        TelemetryConfig.from_env("x", env={name: value})
