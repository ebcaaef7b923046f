"""The scale tests' one shop: two replicas of every service behind nginx on PostgreSQL, RabbitMQ and Redis
(tests/support/replicas.py), with the fault tests' recovery timings of seconds, and a Prometheus scraping each
replica. Shared by every test of this package: booting a dozen services takes most of a minute on two cores."""

from dataclasses import dataclass

import pytest

from services.stack import render_prometheus_config
from tests.support.chaos import HEALING_ENV, FaultShop, ShopAudit
from tests.support.monitoring import Prometheus, wait_for_targets_up
from tests.support.procs import free_port
from tests.support.replicas import ReplicatedShop, replicated_shop


@dataclass
class Scaled:
    shop: ReplicatedShop
    audit: ShopAudit
    prometheus: Prometheus

    def fault_shop(self) -> FaultShop:
        """The shop as the soak takes it, with a customer of its own."""
        return FaultShop("postgres", self.shop, self.audit, self.shop.register("Fay")[1])


@pytest.fixture(scope="package")
def scaled(tmp_path_factory, e2e_receiver):
    tmp = tmp_path_factory.mktemp("replicas")
    with replicated_shop(tmp, e2e_receiver, extra_env=HEALING_ENV) as shop:
        audit = ShopAudit(shop)
        port = free_port()
        config = render_prometheus_config(tmp / "prometheus", {**shop.scrape_ports(), "prometheus": port})
        prometheus = Prometheus(config, port, tmp / "prometheus" / "data", tmp / "prometheus.log")
        try:
            prometheus.wait_ready()
            wait_for_targets_up(prometheus, expected=sum(map(len, shop.scrape_ports().values())) + 1)  # and itself
            yield Scaled(shop, audit, prometheus)
        finally:
            prometheus.stop()
            audit.close()
