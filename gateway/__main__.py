"""Run the gateway: ``python -m gateway`` (host and port from GATEWAY_HOST / GATEWAY_PORT), on
uvicorn with uvloop and httptools."""

import uvicorn

from gateway.app import create_app
from services.common import logs
from services.common.config import load_settings


def main() -> None:
    settings = load_settings()
    logs.configure("gateway")
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                loop="uvloop", http="httptools", log_config=None, access_log=False)


if __name__ == "__main__":
    main()
