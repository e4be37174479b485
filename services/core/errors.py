"""Errors the command line reports in one line, without a traceback; light to import, as the CLI starts
without loading kafka-python."""


class KafkaUnavailableError(Exception):
    """No bootstrap server accepts connections, or none would open a Kafka session (login, TLS)."""
