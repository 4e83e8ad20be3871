"""schemathesis generates requests from collector/static/openapi.json and checks every
answer against it: documented status codes and bodies, and never a 5xx."""

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from collector.api import OPENAPI

schema = schemathesis.openapi.from_path(OPENAPI)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_openapi_document(case, api_server):
    # The request is sent with `requests` here rather than by case.call(): schemathesis's
    # own transport inspects urllib3's connection pools, and grafana-client's niquests
    # installs urllib3-future in urllib3's place, whose pools it cannot read.
    kwargs = case.as_transport_kwargs(base_url=api_server.url)
    response = requests.request(**kwargs, timeout=10)
    # A valid-looking value can still be wrong for this server (a cursor it never gave out,
    # `until` before `since`, 31 February): those get a 400 that no schema can foresee.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
