"""Start one service: ``python -m services.run billing|orders|invoicing|documents``.

Patches the standard library for eventlet first, validates settings, migrates the service's
database, then runs its nameko container until SIGTERM or Ctrl-C.
"""

import eventlet
import eventlet.debug

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from services.common import logs  # noqa: E402
from services.common.config import SERVICE_NAMES, load_settings  # noqa: E402
from services.common.db import migrate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICE_NAMES)
    parser.add_argument("--migrate-only", action="store_true", help="migrate, then exit")
    args = parser.parse_args(argv)

    settings = load_settings()
    logs.configure(args.service)
    if settings.hub_blocking_detection:
        eventlet.debug.hub_blocking_detection(True, settings.hub_blocking_detection)

    migrate(args.service, settings.database_url(args.service))
    if args.migrate_only:
        return 0

    module = importlib.import_module(f"services.{args.service}.service")
    startup = getattr(module, "on_start", None)
    if startup is not None:
        startup(settings)

    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(module.SERVICE)

    stopping: list[bool] = []

    def shutdown(signum: int, _frame: object) -> None:
        # Ctrl-C reaches every process of the group and the launcher then sends SIGTERM too:
        # a second concurrent stop would hang nameko's shutdown, so stop once.
        if not stopping:
            stopping.append(True)
            eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    logging.getLogger(__name__).info("%s is running", args.service)
    runner.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
