# Two commands for a fresh machine: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench chaos install clean prometheus chromium postgresql serve nautilus strategy strategies strategies-mc crypto-backtest crypto-paper

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/spreadwright backtest --profile config/profiles/backtest.yaml

# The strategist's structures on the real SPX chain of 2019: report.html and report.pdf (about a minute).
strategy: $(STAMP)
	$(BIN)/spreadwright backtest --profile config/profiles/strategy.yaml

# Seed 004's BTC short strangle on the simulated crypto market, 14 days 24/7 (about 20 s).
crypto-backtest: $(STAMP)
	$(BIN)/spreadwright --log-level WARNING crypto-backtest --profile strangle

# The same strangle as a paper session against the paper exchange quoting the simulated crypto market, 2 minutes.
crypto-paper: $(STAMP)
	$(BIN)/spreadwright --log-level WARNING crypto-session --profile strangle_paper --duration-s 120

# Each of the six structures alone against the routed strategy, same market (seven backtests, a few minutes).
strategies: $(STAMP)
	$(BIN)/spreadwright strategies --profile config/profiles/strategy.yaml --workers 2

# The routed strategy against each structure alone on 20 labelled regime paths of 40 sessions, paired, with CIs
# (7 x 20 whole backtests, about 20 minutes on two cores; `--address auto` fans them out over a Ray cluster).
strategies-mc: $(STAMP)
	$(BIN)/spreadwright strategies --montecarlo --paths 20 --days 40 --workers 2

# The tests run a real Prometheus (and promtool): Debian's package, installed when missing.
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus; }
	@# Debian's package starts a system service; the tests start their own server on a free port.
	@-command -v systemctl >/dev/null && systemctl stop prometheus prometheus-node-exporter 2>/dev/null; true

# The report test renders report.html in a headless browser: Debian's chromium-headless-shell, installed when missing.
chromium:
	@command -v chromium-headless-shell >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell; }

# The control plane's tests run against a real PostgreSQL too: Debian's server package, installed when missing (the
# tests start a private server on a free port and a temp data directory; the system service is stopped).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql; }
	@-command -v systemctl >/dev/null && systemctl stop postgresql 2>/dev/null; true

# The control plane and web command center on http://127.0.0.1:8780/ (token in var/control/token).
serve: $(STAMP)
	$(BIN)/spreadwright serve

# Lint: pyflakes, pycodestyle, import order and a complexity cap (settings in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) prometheus chromium postgresql lint
	$(BIN)/python -m pytest -q

# The chaos suite again (it is in `make test` too), then 30 randomized actor kills in a paper session (~5 min).
chaos: $(STAMP)
	$(BIN)/python -m pytest -q tests/chaos
	$(BIN)/python bench/bench_chaos.py --kills 30

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run_all.py

# NautilusTrader in its own environment (it pins its own numpy and pandas), for the reference rate that
# `bench/bench_backtest.py --nautilus` measures between its own rounds.
NT_VENV := .venv-nautilus
$(NT_VENV)/.installed:
	test -x $(NT_VENV)/bin/python || $(PYTHON) -m venv $(NT_VENV)
	$(NT_VENV)/bin/pip install --quiet nautilus_trader==1.221.0
	touch $@

nautilus: $(NT_VENV)/.installed

clean:
	rm -rf $(VENV) $(NT_VENV) .pytest_cache .hypothesis reports/out
