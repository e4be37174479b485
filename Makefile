# wirefeed: `make help` lists the targets. `make test` runs exactly what CI runs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
KAFKA := deploy/kafka/kafka.sh
POSTGRES := deploy/postgres/postgres.sh
KAFKA_DIR ?= .wirefeed/kafka
KAFKA_PORT ?= 9092
LOCAL_KAFKA := 127.0.0.1:$(KAFKA_PORT)
export WIREFEED_KAFKA_BOOTSTRAP_SERVERS ?= $(or $(KAFKA_BOOTSTRAP_SERVERS),$(LOCAL_KAFKA))

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^[^:]*:([a-z-]+):.*## /\1\t/; s/^([a-z-]+):.*## /\1\t/' | column -t -s $$'\t'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed ## create .venv with the project and its dev tools

kafka-up: ## start a local Apache Kafka (KRaft) on 127.0.0.1:$(KAFKA_PORT), unless one is configured
	@if [ "$(WIREFEED_KAFKA_BOOTSTRAP_SERVERS)" = "$(LOCAL_KAFKA)" ]; then $(KAFKA) up --dir $(KAFKA_DIR) --port $(KAFKA_PORT); \
	else echo "using Kafka at $(WIREFEED_KAFKA_BOOTSTRAP_SERVERS)"; fi

kafka-down: ## stop the local Kafka
	$(KAFKA) down --dir $(KAFKA_DIR)

postgres-up: ## install (if needed) and start PostgreSQL with the wirefeed role and databases
	$(POSTGRES) up

demo: venv kafka-up ## the whole pipeline on bundled sample feeds, into SQLite, with a summary
	$(VENV)/bin/wirefeed demo

run: venv kafka-up ## the whole pipeline on FEEDS=path/to/feeds.yaml (SQLite unless WIREFEED_DATABASE_URL)
	@test -n "$(FEEDS)" || { echo "usage: make run FEEDS=feeds.yaml"; exit 2; }
	$(VENV)/bin/wirefeed feeds check $(FEEDS)
	WIREFEED_FEEDS_FILE=$(FEEDS) $(VENV)/bin/wirefeed run

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check services schemas tests bench
	$(VENV)/bin/mypy

schemas: venv ## regenerate the committed JSON Schemas from the models
	$(PY) -m schemas.generate

test: venv kafka-up ## everything CI runs: lint, lint-deploy, then every test on real Kafka and PostgreSQL
	@export WIREFEED_TEST_DATABASE_URL=$${WIREFEED_TEST_DATABASE_URL:-$$($(POSTGRES) up | tail -n 1)}; \
	$(MAKE) --no-print-directory lint lint-deploy && $(PY) -m pytest

reliability: venv kafka-up ## the fault suite alone, ending with its fault table (also part of make test)
	@export WIREFEED_TEST_DATABASE_URL=$${WIREFEED_TEST_DATABASE_URL:-$$($(POSTGRES) up | tail -n 1)}; \
	$(PY) -m pytest tests/reliability -m reliability

eval: venv ## dedup evaluation on labelled real data: precision, recall, misses
	$(PY) -m eval.dedup

bench: venv kafka-up ## benchmarks: figures and ratios against baselines measured in the same run
	@export WIREFEED_TEST_DATABASE_URL=$${WIREFEED_TEST_DATABASE_URL:-$$($(POSTGRES) up | tail -n 1)}; \
	for bench in bench/bench_*.py; do echo "== $$bench"; $(PY) $$bench || exit 1; done

soak: venv kafka-up ## the whole pipeline for MINUTES (10) against a local feed farm: is memory flat?
	$(PY) bench/soak.py --minutes $(or $(MINUTES),10)

include deploy/lint-deploy.mk

.PHONY: help venv kafka-up kafka-down postgres-up demo run lint schemas test reliability eval bench soak
