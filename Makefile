# The carrier's customer-service bot. `make help` lists the targets.
# Two environments: .venv-rasa holds only the Rasa server (Rasa 3.6 pins old SQLAlchemy and pydantic);
# .venv holds everything of ours (backend, actions, tests, tools).
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP_PY   := .venv/bin/python
RASA     := .venv-rasa/bin/rasa
MODEL    := models/carrier.tar.gz
TRAINING := config.yml domain.yml $(shell find bot/data -name '*.yml' 2>/dev/null)
# npm writes this file into node_modules at the end of every install: a stamp of what is installed.
NODE_DEPS := node_modules/.package-lock.json
# Rasa's training cache in MiB: 0, off (every training starts from nothing; bot/nlu/training_cache.py says why).
RASA_TRAINING_CACHE_MB ?= 0
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help install run run-prod chat train test lint format bench bench-import loadtest eval screenshots clean

help: ## List the targets and the environment each uses
	@echo "make <target>   (the first run installs what is missing; later runs start at once)"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

install: .venv/.stamp .venv-rasa/.stamp ## Create both virtual environments from the pinned locks

.venv/.stamp: requirements/app.lock scripts/find-python310.sh
	@test -x .venv/bin/python || $$(scripts/find-python310.sh) -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r requirements/app.lock
	@touch $@

# The sentence encoder goes in with --no-deps and its hash (requirements/rasa-nodeps.lock): Rasa's pins stay.
.venv-rasa/.stamp: requirements/rasa.lock requirements/rasa-nodeps.lock scripts/find-python310.sh
	@test -x .venv-rasa/bin/python || $$(scripts/find-python310.sh) -m venv .venv-rasa
	.venv-rasa/bin/pip install --quiet --disable-pip-version-check -r requirements/rasa.lock
	.venv-rasa/bin/pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r requirements/rasa-nodeps.lock
	@touch $@

# The web widget's deep-chat, exactly as package-lock.json pins it (served from node_modules, never vendored).
$(NODE_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

train: $(MODEL) ## Train the Rasa model when data, domain or config changed (.venv-rasa)

$(MODEL): $(TRAINING) .venv-rasa/.stamp
	PYTHONPATH=$(CURDIR)/bot/startup:$(CURDIR) RASA_MAX_CACHE_SIZE=$(RASA_TRAINING_CACHE_MB) $(RASA) train --config config.yml --domain domain.yml --data bot/data --out models \
		--fixed-model-name carrier
	@touch $@

run: install train $(NODE_DEPS) ## Start Rasa, the action server and the backend on SQLite; print the URLs
	$(APP_PY) -m tools.stack run

# PostgreSQL, Redis and nginx from Debian's packages (scripts/ensure-prod-services.sh, shared with the
# tests'), then tools/prod.py. SEED=1 loads the demo carrier into the production database (never the logins).
run-prod: install train $(NODE_DEPS) ## Production profile: nginx on PROD_PORT (8080), 2 backends, 2 Rasa, 2 action servers, PostgreSQL, Redis
	scripts/ensure-prod-services.sh
	$(APP_PY) -m tools.prod run $(if $(SEED),--seed-demo)

chat: install train $(NODE_DEPS) ## Talk to the bot in this terminal over the REST channel (starts it if needed)
	$(APP_PY) -m tools.chat

# The env file keeps a TEST_POSTGRES_URL or TEST_REDIS_URL given in the environment (see the script).
test: install train $(NODE_DEPS) ## Run every test: unit, training-data checks, test stories, end-to-end, browser (.venv)
	scripts/ensure-chromium.sh
	scripts/ensure-test-services.sh
	set -a && source var/test-services.env && set +a && $(APP_PY) -m pytest

lint: .venv/.stamp ## ruff and mypy over our code (.venv)
	.venv/bin/ruff check backend bot tools tests
	.venv/bin/ruff format --check backend bot tools tests
	.venv/bin/mypy backend bot tools

format: .venv/.stamp ## Apply ruff's formatting and safe fixes (.venv)
	.venv/bin/ruff check --fix backend bot tools tests
	.venv/bin/ruff format backend bot tools tests

bench: install train ## Latency, throughput and memory against Rasa's starter bot; training time
	$(APP_PY) -m tools.bench

bench-import: .venv/.stamp ## 10k and 100k tracking scans imported by the CLI into fresh PostgreSQL: time, rows/s, peak RSS
	scripts/ensure-test-services.sh
	set -a && source var/test-services.env && set +a && $(APP_PY) -m tools.bench_import

# Not part of make test: several minutes, and the production profile's seven processes beside a
# single-process stack. The load goes to 127.0.0.1 only.
loadtest: install train $(NODE_DEPS) ## 200 widget and Telegram conversations in bursts against make run's and make run-prod's topologies: lost, duplicated, out of order
	scripts/ensure-test-services.sh
	set -a && source var/test-services.env && set +a && $(APP_PY) -m tools.loadtest

eval: install train ## NLU cross-validation (F1 per intent, worst confusions) and test-story results
	$(APP_PY) -m tools.evaluate

screenshots: install train $(NODE_DEPS) ## Remake docs/console-*.png and docs/care-*.png: the Chinese console in Debian's Chromium
	scripts/ensure-chromium.sh
	$(APP_PY) -m tools.screenshots
	$(APP_PY) -m tools.care_walkthrough

clean: ## Remove trained models, results and local databases (keeps the environments)
	rm -rf models results var
