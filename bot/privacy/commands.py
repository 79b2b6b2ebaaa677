"""The privacy commands, for `bot.features`."""

from __future__ import annotations

from bot.commands import CommandSpec, Registry
from bot.i18n import N_
from bot.privacy import export, forget, linking


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("imiei_dati", "mydata"), export.my_data,
        N_("Everything I store about you, as a file sent privately")))
    registry.command(CommandSpec(
        ("dimenticami", "forgetme"), forget.forget_command,
        N_("Delete your data: your contributions stay, as a member's (asks to confirm)"),
        usage=N_("[confirm]"), example=N_("confirm")))
    registry.action(forget.KIND, forget.forget_action)
    registry.command(CommandSpec(
        ("collega", "link"), linking.link,
        N_("Link your accounts on different platforms: a code to send from the other one"),
        usage=N_("[CODE]"), example=N_("K7PQ2XMA")))
    registry.command(CommandSpec(
        ("scollega", "unlink"), linking.unlink,
        N_("Detach this account from your accounts on other platforms")))
