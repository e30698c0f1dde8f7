#!/usr/bin/env bash
# Installs ansible-core (ansible-playbook) from PyPI into the project's venv .tools/venv (made by
# scripts/setup.sh), for ansible/playbook.yml. Idempotent: installs only when it is missing.
# Plain ansible-core: the role needs no collection (it runs `docker compose` with the command module).
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_CORE_VERSION='>=2.17,<2.20'

say() { echo "[setup-ansible] $*" >&2; }
die() { echo "[setup-ansible] ERROR: $*" >&2; exit 1; }

venv=.tools/venv
if [ ! -x "$venv/bin/pip" ]; then
  python3 -m venv "$venv" || die "python3 -m venv $venv failed (run scripts/setup.sh first)"
fi
if [ ! -x "$venv/bin/ansible-playbook" ]; then
  say "pip install ansible-core into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core$ANSIBLE_CORE_VERSION" || die "pip install ansible-core failed"
fi
"$venv/bin/ansible-playbook" --version >/dev/null || die "$venv/bin/ansible-playbook does not run"
