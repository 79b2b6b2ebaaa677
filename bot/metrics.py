"""Prometheus metrics of the running bot (scraped at /metrics, see `bot.health`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter("piazzabot_events_total", "Inbound events handled", ["platform", "kind"])
DUPLICATES = Counter("piazzabot_events_duplicate_total", "Inbound events seen before, skipped",
                     ["platform"])
HANDLING = Histogram("piazzabot_event_seconds", "Time to handle one inbound event, commit included",
                     ["platform"], buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5))
SENT = Counter("piazzabot_messages_sent_total", "Messages the platforms accepted", ["platform"])
FAILURES = Counter("piazzabot_delivery_failures_total", "Deliveries not accepted",
                   ["platform", "reason"])
JOB_LAG = Histogram("piazzabot_job_lag_seconds", "How late scheduled work ran after it was due",
                    ["job"], buckets=(0.1, 1, 5, 30, 60, 300, 3600, 86400))
