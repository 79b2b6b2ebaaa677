"""How close two short texts are: character-trigram cosine over normalised words.

Used to notice that a new idea repeats an open one ("Creare uno spazio di coworking a
Milano per i soci" / "Uno spazio coworking per i soci di Milano"). The method is small,
deterministic and needs no model or corpus:

1. normalise: Unicode NFKD, accents dropped, case folded, anything but letters and digits
   is a space;
2. keep the content words: Italian and English function words (articles, prepositions,
   pronouns, common auxiliaries), the words every idea of a cooperative's territory shares
   ("soci", "cooperativa", "idea") and one-letter words are dropped;
3. count the character trigrams of each word padded with a space on both sides (" spazio "
   → " sp", "spa", "paz", "azi", "zio", "io "), so that word order does not matter and
   inflections ("socio"/"soci", "creare"/"creiamo") still share most trigrams;
4. the similarity is the cosine of the two trigram count vectors: 1.0 for the same words,
   0.0 for nothing in common.

`SIMILAR` is the threshold from which two texts count as "probably the same idea"; it was
chosen on the examples in `tests/unit/test_similarity.py`, halfway between them:
rephrasings of one proposal score 0.63–0.90, different proposals that share a word or two
("spazio", "formazione", "Milano") stay at or below 0.40.

A general-purpose library (scikit-learn's TF-IDF, rapidfuzz's ratios) was considered:
TF-IDF needs a corpus to weigh words and brings NumPy and SciPy for thirty lines of
arithmetic; edit-distance ratios punish reordered sentences. Trigram cosine is the
textbook measure for this, and its whole definition fits in this file.

Every new idea is compared with every open idea of its territory, so the open ideas'
trigram counts (and their norms) are kept, by text, for the next comparison (`profile`):
a check then costs 1.7 µs an open idea instead of 13 µs (0.17 ms instead of 1.3 for a
territory with a hundred; bench/README.md).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from sys import intern

SIMILAR = 0.5
PROFILES = 4096  # texts whose trigram counts are kept: the open ideas of busy territories

_NOT_WORD = re.compile(r"[^a-z0-9]+")

# Words every proposal to the cooperative contains: they say nothing about which one it is.
_DOMAIN = "soci socio socie socia cooperativa territorio idea idee proposta propongo " \
          "member members cooperative proposal"
_ITALIAN = """
a ad agli ai al alla alle allo anche che chi ci col come con cosi da dagli dai dal dalla
dalle dallo degli dei del della delle dello di e ed essere fa fare gli ha hanno ho il in io
la le lei li lo loro lui ma mi ne nei nel nella nelle nello noi non o per piu po poi quale
quali quando quella quelle quelli quello questa queste questi questo se sei si sia siamo
sono su sua sue sugli sui sul sulla sulle sullo suo suoi ti tra tu tua tue tuo tuoi un una
uno vi voi vorrei vogliamo potremmo possiamo
"""
_ENGLISH = """
about all an and are as at be but by can could do for from have how i if in into is it its
let me more my of on or our should so some that the their them there these they this those
to up us we what when which who will with would you your
"""
STOPWORDS = frozenset(_DOMAIN.split() + _ITALIAN.split() + _ENGLISH.split())


def normalise(text: str) -> list[str]:
    """The content words of `text`: accents dropped, lower case, function words removed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return [w for w in _NOT_WORD.split(bare) if len(w) > 1 and w not in STOPWORDS]


def trigrams(words: Iterable[str]) -> Counter[str]:
    """Character trigrams of each word, padded so that word starts and ends count too.
    They are interned: the profiles kept (`profile`) share them, 2 KB a profile, not 5."""
    counts: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        counts.update(intern(padded[i:i + 3]) for i in range(len(padded) - 2))
    return counts


class Profile:
    """A text's trigram counts and their Euclidean norm: what a comparison needs of it."""

    __slots__ = ("grams", "norm")

    def __init__(self, grams: Counter[str]) -> None:
        self.grams = grams
        self.norm = math.sqrt(sum(c * c for c in grams.values()))


@lru_cache(maxsize=PROFILES)
def profile(text: str) -> Profile:
    """The profile of `text`, worked out once while it is among the `PROFILES` last used."""
    return Profile(trigrams(normalise(text)))


def cosine(a: Profile, b: Profile) -> float:
    if not a.norm or not b.norm:
        return 0.0
    small, large = (a.grams, b.grams) if len(a.grams) <= len(b.grams) else (b.grams, a.grams)
    dot = sum(count * large[gram] for gram, count in small.items() if gram in large)
    return dot / (a.norm * b.norm)


def similarity(first: str, second: str) -> float:
    """From 0.0 (nothing in common) to 1.0 (the same content words)."""
    return cosine(profile(first), profile(second))


def most_similar(text: str, candidates: Iterable[tuple[int, str]],
                 threshold: float = SIMILAR) -> tuple[int, float] | None:
    """The candidate `(id, text)` closest to `text` at or above `threshold`, if any; ties
    go to the lower id (the older idea)."""
    mine = profile(text)
    best: tuple[int, float] | None = None
    for ident, other in candidates:
        score = cosine(mine, profile(other))
        if score >= threshold and (best is None or score > best[1]
                                   or (score == best[1] and ident < best[0])):
            best = (ident, score)
    return best
