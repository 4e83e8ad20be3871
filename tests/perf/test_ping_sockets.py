"""The probe bench opens ping sockets for its run and gives the host its setting back."""

import textwrap

import pytest

from tests.conftest import is_root
from tests.support import own_netns

SCRIPT = textwrap.dedent(
    """
    from balise.bench.ping_sockets import PING_GROUP_RANGE, ping_sockets_allowed, ping_sockets_open

    print(ping_sockets_allowed())
    with ping_sockets_open() as allowed:
        print(allowed, ping_sockets_allowed())
    print(ping_sockets_allowed(), PING_GROUP_RANGE.read_text().split())
    """
)


@pytest.mark.root
@pytest.mark.skipif(not is_root(), reason="a network namespace of our own needs root")
def test_ping_sockets_are_open_for_the_run_only():
    done = own_netns.run_python(SCRIPT, ping_groups="1 0")
    assert done.stdout.splitlines() == [
        "False",
        "True True",
        "False ['1', '0']",
    ], done.stderr
