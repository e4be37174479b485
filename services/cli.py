"""``wirefeed``: run a service, the whole pipeline, the demo, or a read/ops command.

Each service package registers its own commands (``services/<service>/commands.py``); this module only
assembles them.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from services.core import arguments
from services.core import commands as core_commands
from services.core.config import settings_error_exit
from services.core.errors import KafkaUnavailableError, PortInUseError, TopicMissingError
from services.core.supervise import DEFAULT_PORTS
from services.normalizer import commands as normalizer_commands
from services.poller import commands as poller_commands
from services.sink import commands as sink_commands

MAX_WAIT_SECONDS = 86_400  # status's interval, the demo's timeout: a day is already none
_WAIT = arguments.amount("seconds", MAX_WAIT_SECONDS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):  # no command, or a group of commands named alone: its own help
        getattr(args, "usage", parser).print_help(sys.stderr)
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ValidationError as error:
        return settings_error_exit(error)
    except (KafkaUnavailableError, TopicMissingError, PortInUseError) as error:
        # Kafka and topics: one-shot commands' (the services wait for theirs). A metrics port taken, by a
        # service or found by `run` and the demo before they start, is a setting to change: exit 2.
        unavailable = "Kafka is unavailable: " if isinstance(error, KafkaUnavailableError) else ""
        print(f"wirefeed: {unavailable}{error}", file=sys.stderr)
        return 2 if isinstance(error, PortInUseError) else 1
    except BrokenPipeError:
        # The reader went away (`wirefeed export | head`): stop quietly, as other Unix tools do. Python
        # would try to flush stdout again at exit and fail once more, so it gets /dev/null instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        if error.errno not in _FULL:
            raise
        # `wirefeed export > file` on a full disk: the same flush-at-exit as above would fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"wirefeed: cannot write output: {error.strerror}", file=sys.stderr)
        return 1


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # what a write to a full disk or quota raises


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wirefeed", description="wire-feed ingestion: poller, normalizer, sink")
    commands = parser.add_subparsers(title="commands")
    feeds = arguments.command_group(commands, "feeds", "feeds file tools", "feeds commands")
    positions = arguments.command_group(
        commands, "positions", "where a stage reads each partition of its input; move them (the stage stopped)",
        "stages")
    poller_commands.register(commands, feeds)
    normalizer_commands.register(commands, positions)
    sink_commands.register(commands, positions)
    core_commands.register(commands)
    run = commands.add_parser("run", help="run poller, normalizer and sink together")
    run.add_argument("--restart-unhealthy-after", type=arguments.amount("seconds", MAX_WAIT_SECONDS, zero=True),
                     metavar="SECONDS",
                     help="restart a service whose /healthz has failed this long (default: "
                          "WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS if set, else 30; 0: never)")
    run.set_defaults(handler=_run)
    status = commands.add_parser(
        "status", help="readiness, throughput, lag, dead letters and worst feeds of running services")
    for name, port in DEFAULT_PORTS.items():
        # argparse checks a string default as it checks an argument, and only when status runs: a bad
        # variable is an error of status alone.
        default = os.environ.get(f"WIREFEED_{name.upper()}_METRICS_PORT", str(port))
        status.add_argument(f"--{name}-port", type=arguments.port, default=default, metavar="PORT",
                            help=f"the {name}'s metrics port (default: WIREFEED_{name.upper()}_METRICS_PORT, "
                                 f"else {port})")
    status.add_argument("--interval", type=_WAIT, default=1.0, metavar="SECONDS",
                        help="seconds between the two scrapes")
    status.set_defaults(handler=_status)
    demo = commands.add_parser("demo", help="the whole pipeline on bundled sample feeds, then a summary")
    demo.add_argument("--timeout", type=_WAIT, default=120.0, metavar="SECONDS",
                      help="seconds the pipeline may take to drain (default 120)")
    demo.set_defaults(handler=_demo)
    return parser


def _run(args: argparse.Namespace) -> int:
    from services.core.config import CommonSettings
    from services.core.logging import configure_logging
    from services.core.supervise import RESTART_UNHEALTHY_AFTER_SECONDS, Pipeline

    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format, service="run")  # as its services log
    # Each service exits by itself once unhealthy this long, and wait() restarts it.
    key, after = "WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS", args.restart_unhealthy_after
    env = {key: str(after) if after is not None else os.environ.get(key, str(RESTART_UNHEALTHY_AFTER_SECONDS))}
    try:
        pipeline = Pipeline(env)
    except ValueError as error:  # settings the services would each accept but not together
        print(f"wirefeed: {error}", file=sys.stderr)
        return 2
    return pipeline.start().wait()


def _status(args: argparse.Namespace) -> int:
    from services.core.status import main as status

    return status({name: getattr(args, f"{name}_port") for name in DEFAULT_PORTS}, args.interval)


def _demo(args: argparse.Namespace) -> int:
    from services.demo import run_demo

    return run_demo(timeout=args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
