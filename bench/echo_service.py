"""The floor: a bare nameko service that echoes, with nothing of ours in the path."""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
from typing import Any  # noqa: E402

from nameko.rpc import rpc  # noqa: E402
from nameko.runners import run_services  # noqa: E402


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value: Any) -> Any:
        return value


if __name__ == "__main__":
    config = {"AMQP_URI": os.environ["AMQP_URI"], "serializer": "json", "max_workers": 10}
    with run_services(config, EchoService) as runner:
        runner.wait()
