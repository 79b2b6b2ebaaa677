"""The similar-idea check: rephrasings of one proposal are close, different proposals are not.

These examples chose `bot.similarity.SIMILAR`; a change of method or threshold must keep
every one of them on its side.
"""

from __future__ import annotations

import pytest

from bot.similarity import (
    SIMILAR,
    Profile,
    cosine,
    most_similar,
    normalise,
    profile,
    similarity,
    trigrams,
)

SAME = [
    ("Creare uno spazio di coworking a Milano per i soci",
     "Uno spazio coworking per i soci di Milano"),
    ("Un corso di formazione sui bandi europei",
     "Corsi di formazione per partecipare ai bandi europei"),
    ("Organizzare una cena sociale ogni mese", "Una cena tra soci ogni mese"),
    ("Una bacheca online dove i soci offrono e cercano collaborazioni",
     "Bacheca online per cercare e offrire collaborazioni tra soci"),
    ("Sportello di consulenza fiscale per i soci una volta al mese",
     "Consulenza fiscale mensile per i soci, uno sportello"),
    ("Incontri mensili di networking tra soci del territorio",
     "Networking: incontri ogni mese tra i soci del territorio"),
    ("Create a coworking space for members in Milan",
     "A coworking space in Milan for the members"),
    ("CREARE UNO SPAZIO DI COWORKING!", "creare uno spazio di co-working"),
]

DIFFERENT = [
    ("Creare uno spazio di coworking a Milano per i soci",
     "Un corso di formazione sui bandi europei per i soci di Milano"),
    ("Creare uno spazio di coworking a Milano per i soci",
     "Organizzare una cena sociale ogni mese"),
    ("Un corso di formazione sui bandi europei", "Una guida alla fatturazione elettronica"),
    ("Incontri mensili di networking tra soci del territorio",
     "Uno spazio di coworking per i soci del territorio"),
    ("Sportello di consulenza fiscale per i soci",
     "Sportello di ascolto per i soci in difficoltà"),
    ("Assemblea dei soci online per chi vive lontano",
     "Assicurazione sanitaria integrativa per i soci"),
    ("Uno spazio per le prove musicali dei soci", "Uno spazio di coworking per i soci"),
    ("Formazione sulla governance della cooperativa",
     "Formazione sui social network per promuovere il proprio lavoro"),
    ("Create a coworking space for members in Milan",
     "A training course on European calls for members"),
]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_rephrasings_are_similar(first: str, second: str) -> None:
    assert similarity(first, second) >= SIMILAR
    assert similarity(second, first) == pytest.approx(similarity(first, second))


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_different_proposals_are_not(first: str, second: str) -> None:
    assert similarity(first, second) < SIMILAR


def test_the_threshold_leaves_a_margin_on_both_sides() -> None:
    lowest_same = min(similarity(a, b) for a, b in SAME)
    highest_different = max(similarity(a, b) for a, b in DIFFERENT)
    assert lowest_same - SIMILAR >= 0.1
    assert SIMILAR - highest_different >= 0.1


def test_normalisation_drops_accents_case_punctuation_and_function_words() -> None:
    assert normalise("Più CAFFÈ, per tutti i soci!") == ["caffe", "tutti"]
    assert normalise("¡¿…!!") == []
    assert similarity("", "qualcosa") == 0.0
    assert similarity("Caffè sospeso", "caffe SOSPESO") == pytest.approx(1.0)


def test_the_closest_candidate_wins_and_ties_go_to_the_older() -> None:
    candidates = [(7, "Una cena tra soci ogni mese"),
                  (3, "Uno spazio coworking per i soci di Milano"),
                  (5, "Uno spazio coworking per i soci di Milano")]
    found = most_similar("Creare uno spazio di coworking a Milano per i soci", candidates)
    assert found is not None and found[0] == 3
    assert most_similar("Una guida alla fatturazione elettronica", candidates) is None


def test_an_open_ideas_profile_is_worked_out_once_and_gives_the_same_scores() -> None:
    open_ideas = [(n, f"Un corso sulla fatturazione elettronica, edizione {n}") for n in range(50)]
    most_similar("Una cena tra soci ogni mese", open_ideas)
    before = profile.cache_info()
    found = most_similar("Corso di fatturazione elettronica, edizione 17", open_ideas)
    after = profile.cache_info()
    assert after.misses - before.misses == 1  # only the new text; the open ideas were kept
    assert found is not None and found[0] == 17
    fresh = Profile(trigrams(normalise(open_ideas[17][1])))
    assert cosine(profile(open_ideas[17][1]), fresh) == pytest.approx(1.0)
