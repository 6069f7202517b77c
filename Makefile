# Two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,html]'
	touch $(STAMP)

install: $(STAMP)

# The main job on the bundled example exports. Failed controls are expected there (exit 1):
# anything else (input errors, usage errors) fails the target.
demo: $(STAMP)
	mkdir -p reports
	$(BIN)/aks-compliance scan --arm fixtures/examples \
		--arm-subscription-id 6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80 --arm-resource-group rg-platform-weu \
		--results-json reports/results.json --audit-report reports/report.html \
		--html reports/pytest-report.html --self-contained-html \
		--junitxml reports/junit.xml; status=$$?; \
		if [ $$status -gt 1 ]; then echo "demo failed with exit status $$status"; exit $$status; fi
	@echo "reports written to reports/"

test: $(STAMP)
	$(BIN)/python -m pytest tests

clean:
	rm -rf $(VENV) reports/*.html reports/*.json reports/*.xml
