"""Command line: ``python -m cloudtemple_emulator --spp-url URL --spp-password PW --vcenter-url URL --client-id ID
--secret-id SECRET [--cert F --key F] [--speed 0.05] ...`` (README "Run it").

Prints ``CLOUDTEMPLE_URL=<url>`` on stdout once it serves, and stops cleanly on SIGTERM or SIGINT. It talks to SPP
and vCenter only when a request needs them, so it starts in well under a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
import sys
import threading
import time

from spp_emulator.vcenter import VCenterConfig

from .app import App, Config
from .server import ConsoleServer
from .tokens import DEFAULT_TTL_SECONDS
from .zones import parse_pairs

LOG = logging.getLogger("cloudtemple_emulator")
SPP_URL_FILE_TIMEOUT = 300
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cloudtemple_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on; port 0 picks a free one")
    parser.add_argument("--cert", help="PEM server certificate (HTTPS); without it the emulator serves plain HTTP")
    parser.add_argument("--key", help="PEM private key of --cert")
    spp = parser.add_mutually_exclusive_group(required=True)
    spp.add_argument("--spp-url", help="the SPP (emulator) URL, e.g. https://127.0.0.1:8443")
    spp.add_argument("--spp-url-file", help="read the SPP URL from this file, waiting for it (the lab starts both "
                                            "emulators at once and writes the file when SPP is ready)")
    parser.add_argument("--spp-user", default="admin")
    parser.add_argument("--spp-password", required=True)
    parser.add_argument("--spp-ca", help="CA bundle that signed the SPP certificate")
    parser.add_argument("--spp-insecure", action="store_true", help="do not verify the SPP certificate")
    parser.add_argument("--vcenter-url", required=True, help="vCenter SDK URL, e.g. https://127.0.0.1:8989/sdk")
    parser.add_argument("--vcenter-user", default="user")
    parser.add_argument("--vcenter-password", default="pass")
    parser.add_argument("--vcenter-ca", help="CA bundle that signed the vCenter certificate")
    parser.add_argument("--vcenter-insecure", action="store_true", help="do not verify the vCenter certificate")
    parser.add_argument("--client-id", required=True, help="the personal access token's client id it accepts")
    parser.add_argument("--secret-id", required=True, help="the personal access token's secret it accepts")
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TTL_SECONDS, help="JWT lifetime in seconds")
    parser.add_argument("--speed", type=float, default=1.0, help="multiplies every simulated duration")
    parser.add_argument("--rate-limit", type=int, help="requests per second per product (IAM: at most 5); off by "
                                                       "default")
    parser.add_argument("--datacenter-zone", action="append", metavar="PATTERN=ZONE",
                        help="availability zone of the vSphere datacenters whose name matches the glob (repeatable)")
    parser.add_argument("--site-zone", action="append", metavar="SITE=ZONE",
                        help="availability zone of an SPP site (repeatable)")
    parser.add_argument("--empty-assignment-hangs", action="store_true",
                        help='assignments of "slaPolicies": [] stay waiting for ever (#306)')
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    if args.token_ttl <= 0 or args.speed < 0 or (args.rate_limit is not None and args.rate_limit < 1):
        parser.error("--token-ttl must be positive, --speed not negative, --rate-limit at least 1")
    try:
        args.datacenter_zones = parse_pairs(args.datacenter_zone, "--datacenter-zone")
        args.site_zones = parse_pairs(args.site_zone, "--site-zone")
    except ValueError as error:
        parser.error(str(error))
    return args


def _read_spp_url(path: str) -> str:
    deadline = time.monotonic() + SPP_URL_FILE_TIMEOUT
    while True:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                url = handle.read().strip()
            if url:
                return url
        if time.monotonic() > deadline:
            raise SystemExit(f"no SPP URL in {path} after {SPP_URL_FILE_TIMEOUT} s")
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=LOG_FORMAT)  # on stderr
    for chatty in ("pyVmomi", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    config = Config(
        client_id=args.client_id,
        secret_id=args.secret_id,
        spp_url=args.spp_url or _read_spp_url(args.spp_url_file),
        spp_user=args.spp_user,
        spp_password=args.spp_password,
        vcenter=VCenterConfig(args.vcenter_url, args.vcenter_user, args.vcenter_password, args.vcenter_ca,
                              args.vcenter_insecure),
        spp_ca=args.spp_ca,
        spp_insecure=args.spp_insecure,
        token_ttl=args.token_ttl,
        speed=args.speed,
        rate_limit=args.rate_limit,
        datacenter_zones=args.datacenter_zones,
        site_zones=args.site_zones,
        empty_assignment_hangs=args.empty_assignment_hangs,
    )
    host, port = args.listen.rsplit(":", 1) if ":" in args.listen else (args.listen, "0")
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    server = ConsoleServer((host or "127.0.0.1", int(port or 0)), App(config), context)

    # Blocked before any thread starts (threads inherit the mask), then awaited: no handler runs mid-request.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True).start()
    LOG.info("fronting SPP at %s and vCenter at %s", config.spp_url, args.vcenter_url)
    print(f"CLOUDTEMPLE_URL={server.url}", flush=True)
    LOG.info("stopping on signal %s", signal.Signals(signal.sigwait(stop_signals)).name)
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
