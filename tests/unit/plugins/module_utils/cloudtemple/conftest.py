# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Cloud Temple client tests: the scripted console on loopback, and a client whose pauses, deadlines
and backoff run on a fake clock (nothing sleeps for real, so the retry and wait tests take no time)."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import CloudTempleClient

from fake_time import FakeTime
from ct_fake_server import CT_CLIENT_ID, CT_SECRET, FakeConsole


@pytest.fixture(scope="module")
def shared_console():
    server = FakeConsole()
    yield server
    server.close()


@pytest.fixture
def console(shared_console):
    """The module's scripted console, reset for each test (one server per module keeps the tests fast)."""
    shared_console.reset()
    return shared_console


@pytest.fixture
def fake_time():
    return FakeTime(start=1000.0)


@pytest.fixture
def make_ct(log_lines, fake_time):
    """Build a ``CloudTempleClient`` for a fake console, on the fake clock, without jitter or pacing."""
    clients = []

    def build(server, **overrides):
        options = dict(client_id=CT_CLIENT_ID, secret_id=CT_SECRET, timeout=5, logger=log_lines.append, max_rate=None)
        options.update(overrides)
        url = options.pop("url", server.url)
        client = CloudTempleClient(url, **options)
        client._sleep = fake_time.sleep
        client._clock = fake_time.clock
        client._rand = lambda: 0.0
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
