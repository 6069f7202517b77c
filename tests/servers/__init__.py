"""Local servers for tests: arm_server (Azure Resource Manager REST API, for the real Azure SDK clients)."""
