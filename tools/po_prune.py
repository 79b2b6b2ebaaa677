"""Drop from a .po file the entries whose msgid no longer appears in the code.

    python tools/po_prune.py bot/locales/it/LC_MESSAGES/core.po
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.unit.test_i18n import code_messages


def main(po_path: str) -> None:
    path = Path(po_path)
    with path.open("rb") as fp:
        catalog = read_po(fp, locale="it")
    used = code_messages()
    for message in list(catalog):
        key = tuple(message.id) if isinstance(message.id, list | tuple) else message.id
        if message.id and key not in used:
            catalog.delete(message.id)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=100, sort_output=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
