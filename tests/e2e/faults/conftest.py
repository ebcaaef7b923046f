"""The fault tests' shops: one on SQLite and one on PostgreSQL, with recovery timings of seconds, shared by the
matrix and the soak (each audit judges everything the earlier tests left behind too)."""

import pytest

from tests.support.chaos import fault_shops as started


@pytest.fixture(scope="package")
def fault_shops(tmp_path_factory, e2e_receiver):
    with started(("sqlite", "postgres"), tmp_path_factory, e2e_receiver) as shops:
        yield shops
