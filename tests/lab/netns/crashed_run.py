"""A lab run that crashed, then `clean_all`, inside a mount namespace of its own.

Run as `unshare --mount --propagation private python -m tests.lab.netns.crashed_run`:
fresh /run/netns and /etc/netns hide every other lab run on the machine, so the
sweep cannot touch them. Prints what happened as JSON.
"""

import asyncio
import json
import subprocess
import sys

from balise.config import load_toml
from balise.lab.netns import topology
from balise.lab.netns.addressing import new_run_id, plan
from balise.lab.netns.cleanup import clean_all
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from tests.lab.netns.conftest import SCENARIO
from tests.lab.netns.peek import netns_list


def main() -> None:
    for directory in ("/run/netns", "/etc/netns"):
        subprocess.run(["mkdir", "-p", directory], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "lab-test", directory], check=True)
    crashed = plan(SCENARIO, load_toml(BUILTIN_CATALOG, Catalog), new_run_id())
    asyncio.run(topology.build(crashed))
    bystander = "blzz99-keep"  # not a lab name: "zz99" is no run id
    subprocess.run(["ip", "netns", "add", bystander], check=True)
    orphan = subprocess.Popen(
        ["ip", "netns", "exec", crashed.core, "sleep", "600"], start_new_session=True
    )
    try:
        removed = clean_all()
        status = orphan.wait(5)
        json.dump(
            {
                "core": crashed.core,
                "probe": crashed.probe("nc-fixed"),
                "orphan": orphan.pid,
                "status": status,
                "removed": removed,
                "left": netns_list(),
                "again": clean_all(),
            },
            sys.stdout,
        )
    finally:
        orphan.kill()
        subprocess.run(["ip", "netns", "delete", bystander], check=False)


if __name__ == "__main__":
    main()
