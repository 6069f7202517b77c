"""The control declarations, grouped by topic. Each module exports ``CONTROLS``."""

from . import access, governance, logging, network, node_pools, upgrades

MODULES = (access, network, node_pools, upgrades, governance, logging)
