# Every target creates and uses .venv; a fresh machine needs only `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_DIR   := tests/interop
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: install node redis demo test fuzz bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ivrkit needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,speedups]'
	@touch $@

# The interop test runs the guide's JavaScript app on the official ari-client, pinned by package-lock.json.
node: $(NODE_STAMP)

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "Node.js 20 is required for the interop test: apt-get install nodejs npm" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm is required for the interop test: apt-get install npm" >&2; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The cluster tests start their own redis-server (a free port, a temp dir); Debian's
# package provides the binary. The version is pinned; if Debian has moved on, the
# current one is installed and the tests print the version they ran against.
REDIS_DEB := 5:7.0.15-1~deb12u7

redis:
	@command -v redis-server >/dev/null || { apt-get install -y -q redis-server=$(REDIS_DEB) >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }; } \
		|| { echo "the cluster tests need redis-server: apt-get install redis-server" >&2; exit 1; }

demo: install
	$(BIN)/ivrkit demo

test: install node redis
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory lint

# The fuzz tests (tests/fuzz) with 10x the suite's examples on fresh random seeds; prints
# the counts (files, requests, frames, answers by status, tracebacks, dropped sockets).
fuzz: install
	IVRKIT_FUZZ_SCALE=10 $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

# Real prompt lengths from Debian's core sounds; without them (apt-get failed) the bench
# uses the simulator's default table and says so in its output.
SOUNDS_EN := /usr/share/asterisk/sounds/en

bench: install node
	@test -d $(SOUNDS_EN) || apt-get install -y -q asterisk-core-sounds-en-wav >/dev/null \
		|| echo "apt-get install asterisk-core-sounds-en-wav failed: default durations" >&2
	$(BIN)/python -m benchmarks.run

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
