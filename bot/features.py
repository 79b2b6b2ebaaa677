"""The feature modules, in the order their commands appear in the help."""

from __future__ import annotations

from bot import facilitators, guide, ideas, meetups, polls, territories
from bot.commands import Registry
from bot.digests import commands as digests
from bot.privacy import commands as privacy
from scheduler.retention import RetentionJob

FEATURES = (guide, territories, facilitators, meetups, polls, ideas, digests, privacy)


def build_registry() -> Registry:
    registry = Registry()
    for feature in FEATURES:
        feature.register(registry)
    registry.job(RetentionJob())
    return registry
