# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean chromium generate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,html]'
	touch $(STAMP)

install: $(STAMP)

# The main job on the bundled example exports. Failed controls are expected there (exit 1):
# anything else (input errors, usage errors) fails the target.
demo: $(STAMP) chromium
	mkdir -p reports
	$(BIN)/aks-compliance scan --arm fixtures/examples \
		--arm-subscription-id 6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80 --arm-resource-group rg-platform-weu \
		--waivers fixtures/governance/waivers.yaml --attestations fixtures/governance/attestations.yaml \
		--results-json reports/results.json --audit-report reports/report.html \
		--sarif reports/results.sarif --csv reports/matrix.csv \
		--html reports/pytest-report.html --self-contained-html \
		--junitxml reports/junit.xml; status=$$?; \
		if [ $$status -gt 1 ]; then echo "demo failed with exit status $$status"; exit $$status; fi
	$(BIN)/python -m aks_compliance.report.browser reports/report.html --screenshot reports/report.png
	@echo "reports written to reports/"

# The auditor report's browser test drives Debian's chromium (headless). Installed here when missing
# and installable (root with apt-get); otherwise the browser test skips and says why.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium (apt-get) for the report's browser test"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } || \
			echo "chromium could not be installed: the browser test will skip"; \
		else \
			echo "chromium is missing and cannot be installed here (needs root and apt-get): the browser test will skip"; \
		fi; \
	fi

# The project's tests and the example repository's (examples/custom-controls), in parallel (pytest-xdist).
test: $(STAMP) chromium
	$(BIN)/python -m pytest -n auto tests examples/custom-controls/tests

# Everything generated from the catalog and committed (tests diff each against a fresh generation).
generate: $(STAMP)
	$(BIN)/aks-compliance catalog --markdown docs/controls.md
	$(BIN)/aks-compliance policies generate --out policies

clean:
	rm -rf $(VENV) reports/*.html reports/*.json reports/*.xml reports/*.sarif reports/*.csv reports/*.png
