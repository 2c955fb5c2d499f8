"""Run the gateway: ``python -m gateway`` (host and port from GATEWAY_HOST / GATEWAY_PORT)."""

import logging

import uvicorn

from gateway.app import create_app
from services.common.config import load_settings


def main() -> None:
    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                log_level="info", access_log=False)


if __name__ == "__main__":
    main()
