# Tributary task runner. README command 1 is `make demo`, command 2 is `make test`.
.PHONY: setup demo demo-down test test-fast lint format lock pg-up pg-down clean

setup:        ## create .venv from the pinned lock and install tributary (editable)
	scripts/setup.sh

demo:         ## set up and run the main job on the embedded default
	scripts/demo.sh

demo-down:    ## stop the local stack the demo started
	.venv/bin/tributary stack down

test:         ## the whole test suite on real parts (PostgreSQL, moto, Airflow, hudi-rs)
	scripts/test.sh

test-fast:    ## unit tests only, no PostgreSQL
	scripts/setup.sh && .venv/bin/python -m pytest tests/unit -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

lock:         ## re-resolve requirements.txt from requirements.in on this machine
	uv pip compile requirements.in -o requirements.txt --python-version 3.11
	uv pip compile requirements-bench.in -o requirements-bench.txt --python-version 3.11

pg-up:        ## start the private PostgreSQL cluster and print its URL
	scripts/pg.sh start

pg-down:
	scripts/pg.sh stop

clean:
	rm -rf data .stack .pytest_cache .ruff_cache
