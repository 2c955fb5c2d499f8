"""Code every service and the gateway import: money, contracts, errors, settings, database, outbox.

It owns nothing at run time: no tables of its own, no queues, no state.
"""
