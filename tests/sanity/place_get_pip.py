# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put the offline get-pip stand-in where the installed ansible-test looks for it.

ansible-test names its cached bootstrap script after the pip version it pins (get_pip_24_2.py for ansible-core 2.19,
get_pip_23_1_2.py for 2.17, get_pip_25_2.py for 2.21), so the name is read from the ansible-test that will run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys


def pinned_pip_version():
    spec = importlib.util.find_spec("ansible_test")
    path = os.path.join(list(spec.submodule_search_locations)[0], "_internal", "python_requirements.py")
    with open(path, encoding="utf-8") as handle:
        found = re.search(r"\bpip='([0-9.]+)'", handle.read())
    if not found:
        sys.exit("cannot find the pip version that %s pins" % path)
    return found.group(1)


def main():
    stand_in = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_offline.py")
    target = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % pinned_pip_version().replace(".", "_"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(stand_in, target)


if __name__ == "__main__":
    main()
