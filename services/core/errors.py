"""Errors the command line reports in one line, without a traceback; light to import, as the CLI starts
without loading kafka-python."""


class KafkaUnavailableError(Exception):
    """No bootstrap server accepts connections, or none would open a Kafka session (login, TLS)."""


class TopicsNotCreatedError(KafkaUnavailableError):
    """Kafka refused to create a topic a service needs (too few brokers for the replication factor, a
    login without the right to create topics): unusable until that changes, as when it is away."""


class PortInUseError(Exception):
    """A port a service listens on is taken by another process (another wirefeed, say): the service could
    never serve its probes, metrics or read API there."""


class TopicMissingError(Exception):
    """A topic a command reads or writes does not exist. Commands never create one: the services do, at
    start, with their partitions and settings; a missing one is a wrong WIREFEED_TOPIC_PREFIX or a
    cluster the pipeline never ran on."""


class TopicLimitError(KafkaUnavailableError):
    """An existing topic takes smaller messages than the services may send, and Kafka refused to raise
    its limit: a message between the two would stop the producer that sends it."""
