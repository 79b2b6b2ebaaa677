"""Ideas (issue 7): members propose ideas for their territory and support them; facilitators
answer and moderate.

- `submit`: /idea TEXT #theme, the similar-idea question (`drafts`), /pubblica;
- `support`: /sostengo, /ritiro, the card's buttons and the 👍 reaction;
- `browse`: /idee, /idea N;
- `digest`: the ideas part of the territory and staff digests;
- `moderation`: /stato, /nascondi, /mostra, /segnala;
- `card`: the idea's card, one keyed message per chat of the territory, edited in place;
- `store`, `parsing`, `lookup`: the database, what members type, finding the idea named.

Idea numbers are global (`#12` is one idea everywhere); a territory's chats on every
platform share its ideas, and supports from all of them count together.
"""

from __future__ import annotations

from bot.commands import CommandSpec, Registry
from bot.i18n import N_
from bot.ideas import browse, drafts, moderation, submit, support
from bot.ideas.digest import ideas_section


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("idea",), submit.idea_command, N_("Propose an idea for the territory, or show one"),
        usage=N_("TEXT [#theme …] | N"),
        example=N_("A course on European calls for members #bandi #formazione")))
    registry.command(CommandSpec(
        ("idee", "ideas"), browse.list_command,
        N_("The territory's ideas: by support, newest, theme or status"),
        usage=N_("[#theme] [top|new|status]"), example=N_("#spazi new")))
    registry.command(CommandSpec(("sostengo", "support"), support.support_command,
                                 N_("Support an idea"), usage=N_("N"), example=N_("3")))
    registry.command(CommandSpec(("ritiro", "unsupport"), support.withdraw_command,
                                 N_("Withdraw your support from an idea"), usage=N_("N"),
                                 example=N_("3")))
    registry.command(CommandSpec(
        ("pubblica", "publish"), submit.publish_command,
        N_("Publish your idea even though it looks like another one")))
    registry.command(CommandSpec(
        ("segnala", "report"), moderation.report_command,
        N_("Report an idea to the facilitators"), usage=N_("N [REASON]"),
        example=N_("3 it is an advertisement")))
    registry.command(CommandSpec(
        ("stato", "status"), moderation.status_command,
        N_("Answer an idea: under discussion, adopted or set aside"),
        usage=N_("N discussing|adopted|set-aside [ANSWER]"),
        example=N_("3 adopted We will present it at the assembly in January"),
        audience="facilitator"))
    registry.command(CommandSpec(
        ("nascondi", "hide"), moderation.hide_command,
        N_("Hide an idea from lists, telling its author why"), usage=N_("N REASON"),
        example=N_("3 it is an advertisement"), audience="facilitator"))
    registry.command(CommandSpec(
        ("mostra", "unhide"), moderation.unhide_command, N_("Show a hidden idea again"),
        usage=N_("N"), example=N_("3"), audience="facilitator"))
    registry.action("idea.support", support.support_action)
    registry.action("idea.withdraw", support.withdraw_action)
    registry.action(drafts.INSTEAD, support.support_action)
    registry.action(drafts.PUBLISH, submit.publish_action)
    registry.digest_section(ideas_section)
