# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py that ansible-test downloads to seed pip into its sanity virtualenvs.

``make sanity`` copies it to ~/.ansible/test/cache/get_pip_<version>.py (see place_get_pip.py). It bootstraps pip
from the interpreter's own ensurepip, then installs what ansible-test asked for from the package index configured on
the machine.
"""

from __future__ import annotations

import runpy
import subprocess
import sys

# ensurepip in a subprocess: run in-process, it scrubs PIP_* settings that the inner install still needs.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]  # get-pip-only flags
sys.argv = ["pip", "install"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
