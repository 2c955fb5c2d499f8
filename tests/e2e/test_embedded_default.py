"""The walking skeleton on the default that ``make run`` uses: embedded SQLite databases under
the data directory, no PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import testing
from tests.e2e.conftest import Api
from tests.e2e.test_walking_skeleton import walk_the_skeleton


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.Product]:
    tmp: Path = tmp_path_factory.mktemp("embedded")
    try:
        with testing.running_product(tmp, embedded=True) as running:
            yield running
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


def test_the_walking_skeleton_runs_on_the_embedded_databases(embedded):
    databases = sorted(p.name for p in (Path(embedded.env["DATA_DIR"]) / "db").iterdir()
                       if p.suffix == ".sqlite3")
    assert databases == [f"{name}.sqlite3" for name in
                         ("billing", "documents", "gateway", "invoicing", "orders")]
    customer, operator = Api(embedded.url, embedded.mail), Api(embedded.url)
    customer.register()
    operator.login("operator@example.com", "operator-password")
    walk_the_skeleton(customer, operator)
