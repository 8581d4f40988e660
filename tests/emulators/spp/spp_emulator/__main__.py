"""Command line: ``python -m spp_emulator --vcenter-url URL --password PW [--cert F --key F] [--speed 0.05]
[--profile default|public-record]``.

Prints ``SPP_URL=<url>`` on stdout once it serves, and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
import threading

from .app import App, Credentials
from .profile import DEFAULT, NAMES, Profile
from .server import EmulatorServer
from .vcenter import VCENTER_ERRORS, VCenterConfig

LOG = logging.getLogger("spp_emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spp_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on; port 0 picks a free one")
    parser.add_argument("--cert", help="PEM server certificate (HTTPS); without it the emulator serves plain HTTP")
    parser.add_argument("--key", help="PEM private key of --cert")
    parser.add_argument("--vcenter-url", required=True, help="vCenter SDK URL, e.g. https://127.0.0.1:8989/sdk")
    parser.add_argument("--vcenter-user", default="user")
    parser.add_argument("--vcenter-password", default="pass")
    parser.add_argument("--vcenter-ca", help="CA bundle that signed the vCenter certificate")
    parser.add_argument("--vcenter-insecure", action="store_true", help="do not verify the vCenter certificate")
    parser.add_argument("--username", default="admin", help="SPP user name that login accepts")
    parser.add_argument("--password", required=True, help="SPP password that login accepts")
    parser.add_argument("--speed", type=float, default=1.0, help="multiplies every simulated duration")
    parser.add_argument(
        "--profile",
        choices=NAMES,
        default=DEFAULT,
        help="default: spp-api.md section 14; public-record: only what IBM's public code shows (see the README)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pyVmomi").setLevel(logging.WARNING)
    host, port = args.listen.rsplit(":", 1) if ":" in args.listen else (args.listen, "0")
    vcenter = VCenterConfig(
        args.vcenter_url, args.vcenter_user, args.vcenter_password, args.vcenter_ca, args.vcenter_insecure
    )
    try:
        app = App(Credentials(args.username, args.password), vcenter, args.speed, Profile.named(args.profile))
        inventory = app.refresh_inventory()
    except VCENTER_ERRORS as error:
        LOG.error("cannot read the vCenter at %s: %s", args.vcenter_url, error)
        return 2
    LOG.info("profile %s; inventory: %d VMs, %d hosts", args.profile, len(inventory.vms), len(inventory.hosts))

    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    server = EmulatorServer((host or "127.0.0.1", int(port or 0)), app, context)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *signal_args: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True)
    serving.start()
    print(f"SPP_URL={server.url}", flush=True)
    while not stop.wait(0.2):
        pass
    LOG.info("stopping")
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
