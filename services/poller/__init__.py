"""The poller: fetch feeds on schedule, parse every item, publish new and edited items as RawItem."""
