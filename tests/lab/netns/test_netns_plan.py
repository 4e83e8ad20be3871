"""The lab's address plan, without root: documentation ranges only, names that fit."""

import ipaddress

import pytest

from balise.lab.netns.addressing import CONTROL_PROBE, DOCUMENTATION, PlanError, plan
from balise.lab.netns.cleanup import LAB_NAMESPACE
from balise.lab.scenario import parse


def in_lab_ranges(text: str) -> bool:
    network = ipaddress.ip_network(text, strict=False)
    return any(network.subnet_of(doc) for doc in DOCUMENTATION)


def test_plan_stays_in_the_documentation_ranges(scenario, catalog):
    lab_plan = plan(scenario, catalog, "0a1b")
    links = [a for link in lab_plan.links for a in (link.parent_address, link.child_address)]
    locals_ = [a for node in lab_plan.nodes for a in node.local]
    assert all(in_lab_ranges(str(a)) for a in links + locals_)
    assert len(set(links)) == len(links)
    for node in lab_plan.nodes:
        assert LAB_NAMESPACE.match(node.ns)
        assert len(node.ns) <= 15  # IFNAMSIZ - 1
        for route in lab_plan.routes(node.ns):
            assert route.via in links
            if route.destination == "default":
                assert node.role in {"probe", "control"}
            else:
                assert in_lab_ranges(route.destination)


def test_plan_names_namespaces_by_role(scenario, catalog):
    lab_plan = plan(scenario, catalog, "0a1b")
    assert lab_plan.router("fixed-fj") == "bl0a1b-r2"
    assert lab_plan.probe("fj-fixed") == "bl0a1b-p2"
    assert lab_plan.probe(CONTROL_PROBE) == "bl0a1b-ctl"
    assert lab_plan.exchange("NC") == "bl0a1b-x1"  # countries sorted: FJ, NC
    probe = lab_plan.node(lab_plan.probe("nc-fixed"))
    assert probe.uplink is not None
    assert probe.uplink.parent == lab_plan.router("fixed-nc")
    assert {str(lab_plan.resolver(n)) for n in lab_plan.networks} == {
        "192.0.2.64",
        "192.0.2.65",
        "192.0.2.66",
    }


def test_a_router_routes_only_its_subtree_down_and_the_lab_up(scenario, catalog):
    lab_plan = plan(scenario, catalog, "0a1b")
    router = lab_plan.router("mobile-nc")
    probe_link = lab_plan.node(lab_plan.probe("nc-mobile")).uplink
    uplink = lab_plan.node(router).uplink
    assert probe_link is not None
    assert uplink is not None
    routes = {(r.destination, r.via) for r in lab_plan.routes(router)}
    assert routes == {(str(doc), uplink.parent_address) for doc in DOCUMENTATION}
    core_routes = {r.destination: r.via for r in lab_plan.routes(lab_plan.core)}
    assert str(probe_link.network) in core_routes
    assert "default" not in core_routes


def test_too_many_probes_is_a_clear_error(catalog):
    probes = "".join(f'[[probe]]\nid = "p{i}"\nnetwork = "n"\n' for i in range(130))
    network = '[[network]]\nname = "n"\nasn = 64500\ncountry = "NC"\n'
    text = f'format = 1\nname = "big"\nround_s = 1\nduration_s = 10\n{network}{probes}'
    with pytest.raises(PlanError, match="links"):
        plan(parse(text, source="big.toml"), catalog, "0a1b")
