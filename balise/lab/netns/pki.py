"""The lab's certificates, made fresh for every run: a lab CA the probes trust, one
certificate per site, and a block-page certificate from a CA nobody trusts."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class Pki:
    ca_file: Path  # the lab CA; the probes' `measure.ca_file`
    sites: Mapping[str, Path]  # site name -> PEM file with its key and certificate chain
    censor: Path  # the block page's key and chain, signed by an untrusted CA


def make_pki(directory: Path, sites: Mapping[str, Iterable[str]]) -> Pki:
    """Write the CA and one key+chain PEM per site (its names or addresses) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Balise lab")
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    paths: dict[str, Path] = {}
    for site, names in sites.items():
        path = directory / f"{site}.pem"
        ca.issue_cert(*names).private_key_and_cert_chain_pem.write_to_path(str(path))
        paths[site] = path
    censor = directory / "censor.pem"
    untrusted = trustme.CA(organization_name="Ministry of Information")
    untrusted.issue_cert("blocked.invalid").private_key_and_cert_chain_pem.write_to_path(
        str(censor)
    )
    return Pki(ca_file=ca_file, sites=paths, censor=censor)
