# BearScope: `make demo` runs the whole product locally; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-intake bench-classify bench-local bench-insights bench-backtest soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("BearScope needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py demo

test: $(STAMP)
	@bash scripts/ensure_chromium.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench-intake: $(STAMP)
	$(PY) scripts/bench_intake.py

bench-classify: $(STAMP)
	$(PY) scripts/bench_classify.py

bench-local: $(STAMP)
	$(PY) manage.py classifier_eval --split-from classification/data/banking77/train.csv

# Backtest wall time, tokens and cost for 1,000 past conversations per provider (docs/backtests.md).
bench-backtest: $(STAMP)
	$(PY) scripts/bench_backtest.py --conversations $(or $(CONVERSATIONS),1000)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .demo staticfiles

# SIZES=10k,100k,1m selects the sizes (default 10k,100k); PostgreSQL at BENCH_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/bearscope_bench_insights, dropped and recreated).
bench-insights: $(STAMP)
	$(PY) scripts/bench_insights.py --sizes $(or $(SIZES),10k,100k)

# The whole product under a steady event mix; SOAK_SECONDS (300) and SOAK_RATE (100 events/s) for a
# shorter or lighter run. PostgreSQL database bearscope_soak (dropped and recreated), Redis db 5.
soak: $(STAMP)
	$(PY) scripts/soak.py --seconds $(or $(SOAK_SECONDS),300) --rate $(or $(SOAK_RATE),100)
