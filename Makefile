# The NPQ assistant. `make run` and `make test` do all set-up themselves; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP_ENV    := .venv
ENGINE_ENV := .venv-engine
PY         := $(APP_ENV)/bin/python
RASA       := $(ENGINE_ENV)/bin/rasa
APP_READY    := $(APP_ENV)/.installed
ENGINE_READY := $(ENGINE_ENV)/.installed
# Every Rasa CLI call reads our folders, not Rasa's defaults.
RASA_DATA  := --data nlu_data --config config.yml --domain domain.yml

# Settings from .env (see .env.example), when there is one.
ifneq (,$(wildcard .env))
include .env
export
endif

.PHONY: help run test test-engine check lint e2e setup env db model validate bench-nlu import lock-app lock-engine clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: setup  ## set everything up, then start Rasa, the action server and the bot (terminal chat without TELEGRAM_BOT_TOKEN)
	@$(PY) -m ops.supervisor

# pytest-xdist workers for make test / make e2e (two: this project's machines have two cores).
# --dist loadgroup keeps the tests sharing one Rasa stack on one worker (tests/conftest.py).
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest --durations=30

test: env db  ## set everything up, then run every test (the model is trained by the tests if needed)
	@$(PYTEST) -n $(TEST_WORKERS) --dist loadgroup
	@$(MAKE) --no-print-directory test-engine

test-engine: $(ENGINE_READY)  ## the tests of rasa_components (our Rasa graph components), with the engine's Python
	@$(ENGINE_ENV)/bin/python -m pytest -c tests/engine/pytest.ini tests/engine

check: lint  ## the fast tier: ruff, mypy and every test that needs no Rasa process (no model, no engine)
	@$(PYTEST) -m "not e2e" -n $(TEST_WORKERS)

lint: $(APP_READY)  ## ruff and mypy --strict, as CI runs them
	@$(PY) -m ruff check .
	@$(PY) -m mypy

e2e: env db  ## the end-to-end tier only: the trained model, Rasa, the action server and the bot
	@$(PYTEST) -m e2e -n $(TEST_WORKERS) --dist loadgroup

setup: env db model  ## environments, database and model, each only when out of date

env:  ## the app and engine environments (built side by side)
	@$(MAKE) -s --no-print-directory -j2 $(APP_READY) $(ENGINE_READY)

$(APP_READY): requirements/app.txt scripts/make-env scripts/find-python310
	@scripts/make-env $(APP_ENV) requirements/app.txt

$(ENGINE_READY): requirements/engine.txt requirements/encoder.txt scripts/make-env scripts/find-python310
	@scripts/make-env $(ENGINE_ENV) requirements/engine.txt requirements/encoder.txt

db: $(APP_READY)  ## migrate the database, and seed it from data/catalogue when it is empty
	@$(PY) -m npq migrate
	@$(PY) -m npq seed

model: env  ## train the model when config, domain or nlu_data changed (reuse it otherwise)
	@$(PY) -m ops.model ensure

validate: $(ENGINE_READY)  ## check the training data, domain and config with Rasa
	@$(RASA) data validate $(RASA_DATA)

nlu-report: setup  ## train if needed, then measure the model on the held-out messages (tests/nlu/heldout.yml)
	@$(PY) -m ops.nlu_report

bench-nlu: env  ## config.yml's pipeline and the sparse-only one on the public 10-shot benchmarks (../shared/benchmarks): accuracy, training time, parse latency
	@$(PY) -m ops.bench_nlu

import: $(APP_READY)  ## validate and import the staff-edited files in data/catalogue (all or nothing)
	@$(PY) -m npq import data/catalogue

.PHONY: review retrain rollback stats bench-flood bench-faults bench-load bench-rasa

bench-flood: $(APP_READY)  ## one chat floods 150 messages while ten others ask: their latency, and what the flooder got
	@$(PY) -m ops.bench_flood

bench-faults: env model  ## make run on PostgreSQL (BENCH_DATABASE_URL, emptied): each fault of issue 11 injected, what survived
	@$(PY) -m ops.bench_faults

# Benchmarks (they print figures; run them on an otherwise idle machine). Make variables become
# flags: RATES=10,20,30 DURATION=30 CHATS=300 DRAIN=90 SEED=1 (load), TURNS=60 CLIENTS=8
# DURATION=30 (rasa); PROFILE=file.txt samples the Rasa server with py-spy
# (.venv/bin/python -m pip install py-spy first).
flag = $(if $($(1)),--$(2) $($(1)))

bench-load: setup  ## the whole stack on the Bot API stand-in: RATES=2,4,8,15 DURATION=40 CHATS=300
	@$(PY) -m ops.bench_load $(call flag,RATES,rates) $(call flag,DURATION,duration) \
		$(call flag,CHATS,chats) $(call flag,DRAIN,drain) $(call flag,SEED,seed) $(call flag,LONG,long) \
		$(call flag,PROFILE,profile)

bench-rasa: setup  ## straight to Rasa's REST channel: one at a time, then CLIENTS=8 for DURATION=30
	@$(PY) -m ops.bench_rasa $(call flag,TURNS,turns) $(call flag,CLIENTS,clients) \
		$(call flag,DURATION,duration) $(call flag,PROFILE,profile)

review: env db  ## label the messages waiting for review, then write them to nlu_data/nlu/reviewed.yml
	@$(PY) -m ops.review

retrain: env db  ## train on what staff labelled; promote only if not worse on held-out (needs `make run`)
	@$(PY) -m ops.retrain

rollback: env db  ## put the model in service before the last promotion back (needs `make run`)
	@$(PY) -m ops.retrain rollback

stats: db  ## the staff report (messages per day, top intents, fallback rate...), chart in var/stats.png
	@$(PY) -m npq stats --chart var/stats.png

lock-app:  ## re-resolve the app environment's pins from pyproject.toml
	@scripts/lock app

lock-engine:  ## re-resolve the engine environment's pins (rasa==3.6.21)
	@scripts/lock engine

clean:  ## remove environments, models and local state (var/)
	rm -rf $(APP_ENV) $(ENGINE_ENV) models var .pytest_cache
