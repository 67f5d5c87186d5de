"""Morphology for the offline extractor: sentences, clauses, lemmas and inflection.

English uses lemminflect (lemmas and inflections from a lexicon, so "I move" becomes "moves"
and "I stopped" stays "stopped"); Japanese uses SudachiPy with its small dictionary (tokens,
parts of speech and dictionary forms, so 住んでいる and 住んでいます share 住む).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from lemminflect import getAllLemmas, getInflection

__all__ = [
    "JaToken",
    "content_sequence",
    "content_terms",
    "english_words",
    "is_japanese",
    "ja_tokens",
    "lemma",
    "pos_of",
    "sentences",
    "third_person",
]

_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# A sentence ends at . ! ? followed by a space or the end (so "dana@example.com" stays whole),
# at Japanese full stops, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?])$|(?<=[。！？])|\n+")
_WORD = re.compile(r"[\w][\w'@.+-]*[\w]|[\w]")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "your",
        "their",
        "his",
        "her",
        "its",
        "our",
        "me",
        "you",
        "i",
        "we",
        "they",
        "he",
        "she",
        "it",
        "that",
        "this",
        "these",
        "those",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "and",
        "or",
        "but",
        "so",
        "is",
        "am",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "not",
        "no",
        "about",
        "what",
        "where",
        "when",
        "who",
        "how",
        "which",
        "there",
        "here",
        "just",
        "really",
        "also",
        "still",
        "now",
        "then",
        "very",
        "much",
        "more",
        "most",
        "some",
        "any",
        "all",
        "anything",
        "everything",
        "please",
    ]
)


def is_japanese(text: str) -> bool:
    return bool(_JAPANESE.search(text))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def english_words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=8192)
def pos_of(word: str) -> frozenset[str]:
    """Universal parts of speech the lexicon knows for `word` (empty: a name, a number, unknown)."""
    return frozenset(getAllLemmas(word.lower()))


@lru_cache(maxsize=8192)
def lemma(word: str) -> str:
    """The word's lemma: a verb's for -ing and -ed forms ("smoking" -> "smoke"), else a noun's first."""
    found = getAllLemmas(word.lower())
    order = ("VERB", "NOUN") if word.lower().endswith(("ing", "ed")) else ("NOUN", "VERB")
    for upos in (*order, "ADJ", "ADV", "AUX"):
        if upos in found:
            return str(found[upos][0])
    return word.lower()


def verb_lemma(word: str) -> str | None:
    found = getAllLemmas(word.lower())
    for upos in ("VERB", "AUX"):
        if upos in found:
            return str(found[upos][0])
    return None


def third_person(verb: str) -> str:
    """'live' -> 'lives', 'go' -> 'goes'; past and other forms stay as they are."""
    base = verb_lemma(verb)
    if base is None or base != verb.lower():
        return verb
    inflected = getInflection(base, "VBZ")
    return str(inflected[0]) if inflected else verb


def is_past(verb: str) -> bool:
    base = verb_lemma(verb)
    if base is None:
        return False
    return verb.lower() in {str(v) for v in (getInflection(base, "VBD") or ())}


def is_base_verb(word: str) -> bool:
    """A verb in its plain form ('work', not 'works' or 'worked')."""
    base = verb_lemma(word)
    return base is not None and base == word.lower()


# -- Japanese ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JaToken:
    surface: str
    lemma: str
    pos: str  # 名詞, 動詞, 形容詞, 形状詞, 助詞, 助動詞, 感動詞, 代名詞, 補助記号, ...
    detail: str  # the second level (固有名詞, 普通名詞, 係助詞, ...)


@cache
def _tokenizer():  # type: ignore[no-untyped-def]
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="small").tokenizer(mode=SplitMode.C)


@lru_cache(maxsize=4096)
def ja_tokens(text: str) -> tuple[JaToken, ...]:
    return tuple(
        JaToken(m.surface(), m.dictionary_form(), m.part_of_speech()[0], m.part_of_speech()[1])
        for m in _tokenizer().tokenize(text)
    )


_JA_CONTENT = {"名詞", "動詞", "形容詞", "形状詞"}
_JA_LIGHT = {"こと", "もの", "の", "いる", "ある", "する", "なる", "ところ", "場所", "方", "くださる", "私", "自分"}


def content_terms(text: str) -> frozenset[str]:
    """The lemmas that carry meaning: what two statements about the same thing share."""
    return frozenset(content_sequence(text))


@lru_cache(maxsize=4096)
def content_sequence(text: str) -> tuple[str, ...]:
    """`content_terms` in the order they come, without repeats."""
    if is_japanese(text):
        found = [
            t.lemma for t in ja_tokens(text) if t.pos in _JA_CONTENT and t.lemma not in _JA_LIGHT and t.detail != "数詞"
        ]
        return tuple(dict.fromkeys(found))
    terms = []
    for word in english_words(text):
        low = word.lower().strip("'")
        if low in STOPWORDS or low in _EN_LIGHT or (len(low) < 2 and not low.isdigit()):
            continue
        terms.append(low if "@" in low or any(c.isdigit() for c in low) else lemma(low))
    return tuple(dict.fromkeys(terms))


# Words that do not tell two facts apart: discourse adverbs, "named"/"called", negation markers.
_EN_LIGHT = frozenset(
    [
        "actually",
        "again",
        "anymore",
        "longer",
        "never",
        "named",
        "called",
        "name",
        "call",
        "told",
        "said",
        "like",
        "as",
        "already",
        "currently",
        "finally",
        "lately",
        "recently",
        "these",
        "days",
        "nowadays",
        "always",
        "usually",
        "often",
        "sometimes",
        "rarely",
        "sorry",
        "oops",
        "typo",
        "yes",
        "yeah",
        "well",
        "oh",
        "okay",
        "ok",
    ]
)


def stem(term: str) -> str:
    """A crude shared prefix, so 'allergies' and 'allergic' meet (five letters, or the whole word)."""
    return term[:5] if len(term) > 5 and term.isascii() else term
