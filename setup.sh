#!/usr/bin/env bash
# Sets up everything the grader needs on a fresh machine of this kind: the sandbox tool (bubblewrap)
# and a virtual environment in .venv with the grader, its pinned torch, and the test tools.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null
    else
        echo "setup: bubblewrap (bwrap) is not installed; install it (apt-get install bubblewrap)" >&2
        exit 1
    fi
fi
# Debian's chromium: the browser tests and docs/screenshots.py drive it through Playwright at
# /usr/bin/chromium (never `playwright install`); without it those tests are skipped, saying why.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null \
            || echo "setup: could not install chromium; the browser tests will be skipped" >&2
    else
        echo "setup: /usr/bin/chromium is missing (apt-get install chromium); the browser" \
             "tests will be skipped" >&2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import grader, torch, torchvision, pytest" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
    touch .venv/.installed
fi
