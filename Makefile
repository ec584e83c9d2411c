# The two commands of the README: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
UV := UV_PYTHON_DOWNLOADS=never python3 -m uv
export UV_PYTHON_DOWNLOADS=never

.PHONY: setup test lint demo bench

setup:
	@bash scripts/setup.sh

lint: setup
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy

test: lint
	$(UV) run --locked pytest -n 2 --durations=15

demo: setup
	$(UV) run --locked frailwatch demo $(ARGS)

bench: setup
	$(UV) run --locked python -m benchmarks $(ARGS)
