"""Contoso's controls against their fixtures: one test per fixture, one per control (its fixture set)."""

from pathlib import Path

from aks_compliance.testing import control_fixture_tests

HERE = Path(__file__).resolve().parent.parent

test_contoso_controls = control_fixture_tests(HERE / "fixtures", controls_path=HERE)
