# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Headless Debian Chromium through its packaged chromedriver, for the tests that open the coverage page.

selenium-manager never downloads anything (``SE_OFFLINE``). Without the browser, its driver or selenium, a test is
skipped, or fails when ``SOVEREIGN_REQUIRE_BROWSER`` is set (``make integration`` sets it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@contextlib.contextmanager
def chromium():
    """Yield a selenium driver of a fresh headless Chromium (its console log kept), quit on the way out."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        from selenium import webdriver  # pylint: disable=import-outside-toplevel
        from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel
    except ImportError:
        missing.append("the selenium Python package")
    if missing:
        message = "missing: %s (make setup installs chromium, chromium-driver and selenium)" % ", ".join(missing)
        if os.environ.get("SOVEREIGN_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ["SE_OFFLINE"] = "true"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=1400,1000", "--user-data-dir=" + profile):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
