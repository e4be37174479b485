"""structlog set-up: JSON lines in containers, a console renderer in a terminal."""

from __future__ import annotations

import logging
import re
import sys
import threading
from types import TracebackType

import structlog


class _Stderr:
    """``sys.stderr`` as it is when a line is written, not when logging was configured: a command run inside
    another program (tests swap the stream per test) must not keep writing to a stream closed since."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _Stderr()

# kafka-python 3 warns when a step of its I/O loop takes over 0.1 s of wall time ("Task ... ran for
# 0.132s ... Other pollers will time out"). Its producer thread steps that slowly whenever the service's
# own thread holds the GIL through a CPU-bound batch (the normalizer in a burst), which is harmless and
# says nothing of the network; a step of a second or more, which could delay heartbeats, is still
# logged. The clients do not pass the selector's threshold through, so the lines are filtered here.
_SLOW_TASK = re.compile(r"ran for (\d+(?:\.\d+)?)s \(>")
SLOW_TASK_WARNING_SECONDS = 1.0
# kafka-python 3.0's network thread may read a connection its close() has just let go of, at shutdown,
# and logs the AttributeError as "Error receiving network data" with a traceback: noise at every few stops,
# on a connection that is already closed. Errors on open connections are kept.
_CLOSED_TRANSPORT_READ = "(closed)>: Error receiving network data"


def configure_logging(level: str = "INFO", fmt: str = "auto", service: str | None = None) -> None:
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    # The service's name is set for the process, not bound as a context variable: threads (kafka-python's
    # network thread, the producer's callbacks, HTTP handlers) start with an empty context.
    stamp_service = _stamp_service(service)
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        stamp_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # One write per line (message and newline together): print() makes two when unbuffered, and
        # lines of services sharing one stream (`wirefeed run`) then interleave.
        logger_factory=structlog.WriteLoggerFactory(file=_STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    _route_standard_logging(renderer, stamp_service)
    if not use_console:  # a terminal's reader is better served by Python's own traceback
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    """A crash is one JSON line too (with the traceback in it), not a plain-text traceback among them."""
    structlog.get_logger().critical("uncaught_exception", exc_info=(kind, error, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        structlog.get_logger().critical("uncaught_exception", thread=getattr(args.thread, "name", None),
                                        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _stamp_service(service: str | None) -> structlog.typing.Processor:
    def stamp(_: object, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
        if service:
            event.setdefault("service", service)
        return event
    return stamp


def _route_standard_logging(renderer: structlog.typing.Processor, stamp_service: structlog.typing.Processor) -> None:
    """Libraries (kafka-python, psycopg's pool) log through the standard library: their records get the
    same rendering, so a log shipper reads every line of a service as JSON. Only their warnings are kept."""
    handler = logging.StreamHandler(_STDERR)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            stamp_service,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    renderer],
    ))
    handler.addFilter(_not_a_short_slow_task)
    handler.addFilter(_not_a_closed_connections_read)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)


def _not_a_short_slow_task(record: logging.LogRecord) -> bool:
    if record.name != "kafka.net.selector":
        return True
    slow = _SLOW_TASK.search(record.getMessage())
    return slow is None or float(slow[1]) >= SLOW_TASK_WARNING_SECONDS


def _not_a_closed_connections_read(record: logging.LogRecord) -> bool:
    if record.name != "kafka.net.transport" or not record.exc_info:
        return True
    return not (isinstance(record.exc_info[1], AttributeError) and _CLOSED_TRANSPORT_READ in record.getMessage())
