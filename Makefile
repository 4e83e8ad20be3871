# Two commands on a fresh machine:
#   make demo   - the whole pipeline on embedded defaults, on this machine
#   make test   - lint, types and every test, with real Mosquitto and InfluxDB
.PHONY: demo test lint fuzz venv clean

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@test -x $(PY) || uv venv --quiet --python python3 $(VENV)
	uv pip install --quiet --python $(PY) -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/balise demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP)
	scripts/ensure-services.sh
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# 100,000 random and mutated inputs per network-facing parser (about 20 minutes).
fuzz: $(STAMP)
	BALISE_FUZZ_EXAMPLES=100000 $(VENV)/bin/pytest -q tests/security/test_fuzz.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
