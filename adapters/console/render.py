"""Rich text as plain terminal text."""

from __future__ import annotations

from bot.messages import BulletList, Paragraph, RichText, plain_inlines


def render_plain(text: RichText) -> list[str]:
    """One string per line: paragraphs on their own lines, list items as `• item`."""
    lines: list[str] = []
    for block in text.blocks:
        if isinstance(block, Paragraph):
            lines.extend(plain_inlines(block.children).splitlines() or [""])
        elif isinstance(block, BulletList):
            for item in block.items:
                first, *rest = plain_inlines(item).splitlines() or [""]
                lines.append(f"• {first}")
                lines.extend(f"  {line}" for line in rest)
    return lines
