"""Add translations to a .po file from a JSON object {msgid: msgstr} (a translator's helper).

    python tools/po_merge.py bot/locales/it/LC_MESSAGES/core.po translations.json

Entries already in the file keep their translation unless the JSON gives a new one.
A plural entry is written as `"singular || plural": ["forma singolare", "forma plurale"]`.
"""

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po


def main(po_path: str, json_path: str) -> None:
    path = Path(po_path)
    if path.exists():
        with path.open("rb") as fp:
            catalog = read_po(fp, locale="it")
    else:
        catalog = Catalog(locale="it", project="piazzabot", copyright_holder="piazzabot")
    for msgid, msgstr in json.loads(Path(json_path).read_text(encoding="utf-8")).items():
        if isinstance(msgstr, list):
            catalog.add(tuple(msgid.split(" || ", 1)), tuple(msgstr))
        else:
            catalog.add(msgid, msgstr)
    catalog.fuzzy = False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=100, sort_output=True, omit_header=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
