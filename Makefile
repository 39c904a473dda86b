# Quick start: `make demo` then `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test sample locale clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo settles the samples into out/ with a history of its own, fresh each time (an approval
# made while following the README would otherwise close December for the next demo).
demo: $(STAMP)
	rm -f out/promo-history.sqlite out/promo-history.sqlite-wal out/promo-history.sqlite-shm out/promo-history.sqlite.lock
	$(BIN)/promo settle policies/factory_rebate.yaml --out out/factory --history out/promo-history.sqlite --as-of 2026-12-31
	$(BIN)/promo settle policies/prepaid_deposit.yaml --out out/prepaid --history out/promo-history.sqlite --as-of 2026-12-31
	$(BIN)/promo settle policies/loyalty.yaml --out out/loyalty --history out/promo-history.sqlite --as-of 2026-12-31
	$(BIN)/promo approve latest --by "审计部 王五" --note "demo" --campaign policies/factory_rebate.yaml --history out/promo-history.sqlite
	# exit 3: one sample customer has no account number yet and is held back, as it should be
	$(BIN)/promo payout latest --campaign policies/factory_rebate.yaml --history out/promo-history.sqlite --out out/factory-payout; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ]

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Regenerate the committed sample ledgers (deterministic).
sample: $(STAMP)
	$(BIN)/python sample_data/generate.py

# Compile the CLI's translations (promo_cli/locale/*/LC_MESSAGES/messages.po → .mo; both are committed).
locale: $(STAMP)
	$(BIN)/pybabel compile -d promo_cli/locale -D messages

clean:
	rm -rf out .pytest_cache
