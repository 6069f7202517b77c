"""Address ranges as the API servers read them, for the controls of both families (authorized ranges of the
AKS API server, ip blocks of network policies)."""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
EVERYWHERE: dict[int, Network] = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def network(text: Any) -> Network | None:
    """A range, host bits ignored as both API servers' parsers ignore them (10.1.2.3/0 is 0.0.0.0/0); None when
    it is no range."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


def cover_everything(nets: Iterable[Network], version: int) -> bool:
    """Whether the ranges of IP ``version`` among ``nets`` together cover every address of it: a union, so
    0.0.0.0/1 with 128.0.0.0/1 covers what 0.0.0.0/0 does."""
    same = [n for n in nets if n.version == version]
    return bool(same) and list(ipaddress.collapse_addresses(same)) == [EVERYWHERE[version]]


__all__ = ["EVERYWHERE", "Network", "cover_everything", "network"]
