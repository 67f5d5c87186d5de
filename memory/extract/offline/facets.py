"""What a memory text or a new fact is about, described the same way for both (`describe`):
- its subject ("" for the user, else the other person: "sister aiko");
- its slot, an attribute that holds one value at a time (home, work, name, age, diet,
  relationship, a liking for one thing, a count of one kind of thing, a habit's frequency,
  "X is Y" attributes): a new value for a slot updates the old memory;
- its terms (content lemmas) and polarity ("no longer", "never", "stopped", ない).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .parse import content_terms, english_words, is_japanese, ja_tokens, lemma, pos_of, third_person, verb_lemma

__all__ = ["JA_SLOT_VERBS", "Facet", "describe"]


@dataclass(frozen=True)
class Facet:
    subject: str
    slot: str | None
    terms: frozenset[str]
    negative: bool

    @property
    def key_terms(self) -> frozenset[str]:
        """Terms without the words that only say a fact ended."""
        return frozenset(t for t in self.terms if t not in _ENDING_TERMS)


_ENDING_TERMS = {
    "stop",
    "quit",
    "leave",
    "give",
    "cease",
    "anymore",
    "longer",
    "no",
    "not",
    "やめる",
    "辞める",
    "止める",
}
_SLOT_VERBS = {
    "live": "home",
    "reside": "home",
    "relocate": "home",
    "move": "home",
    "work": "work",
    "employ": "work",
    "study": "study",
    "attend": "study",
}
_LIKING = {"love", "like", "enjoy", "hate", "dislike", "prefer", "adore", "detest", "loathe", "stand", "fancy"}
_DIETS = {"vegetarian", "vegan", "pescatarian", "carnivore", "omnivore", "flexitarian", "keto"}
_RELATIONSHIP = {"married", "single", "divorced", "engaged", "widowed", "separated", "dating", "relationship"}
_SAME_KIND = {"kid": "child", "children": "child", "puppy": "dog", "kitten": "cat", "son": "child", "daughter": "child"}
_FREQUENCY = re.compile(
    r"\b(?:every|each|once|twice|thrice|daily|weekly|monthly|yearly|\d+|one|two|three|four|five|six|seven)\b"
    r"(?:\s+times?)?\s*(?:a|per|every|each)?\s*(?:day|week|month|year|morning|evening|night|weekend)?\b",
    re.I,
)
_NEGATIVE = re.compile(
    r"\b(?:not|never|no longer|cannot|stopped|quit|left|gave up|anymore|any more|no more|ceased)\b|n't\b", re.I
)
_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "a", "an", "no"}

# Topic words that name a slot ("forget my address" deletes where the user lives).
JA_SLOT_VERBS = {
    "住む": "home",
    "暮らす": "home",
    "引っ越す": "home",
    "在住": "home",
    "移住": "home",
    "働く": "work",
    "勤める": "work",
    "勤務": "work",
    "務める": "work",
    "通う": "study",
}
_JA_LIKING = {"好き", "嫌い", "大好き", "大嫌い", "苦手", "好む"}
_JA_PEOPLE = {
    "妹",
    "姉",
    "兄",
    "弟",
    "母",
    "父",
    "夫",
    "妻",
    "友達",
    "友人",
    "彼",
    "彼女",
    "息子",
    "娘",
    "同僚",
    "上司",
    "祖母",
    "祖父",
}


def describe(text: str) -> Facet:
    if is_japanese(text):
        return _describe_japanese(text)
    return _describe_english(text)


def _is_verb_form(word: str) -> bool:
    low = word.lower()
    base = verb_lemma(low)
    if base is None:
        return False
    if low in ("is", "has", "does", "was", "did", "can", "cannot", "will", "would", "wants"):
        return True
    return low != base and (third_person(base) == low or "NOUN" not in pos_of(low))


def _describe_english(text: str) -> Facet:
    words = english_words(text)
    terms = content_terms(text)
    negative = bool(_NEGATIVE.search(text))
    if not words:
        return Facet("", None, terms, negative)
    if text.startswith("Wants to be called "):
        return Facet("", "attr:name", terms, negative)  # the name the user goes by
    attribute = re.match(r"^(.{1,40}?)\s+(?:is|are)\s+(.+)$", text)
    if attribute and not _is_verb_form(words[0]) and words[0].lower() not in _ADVERB_STARTS:
        key = " ".join(lemma(w) for w in english_words(attribute.group(1)) if w.lower() not in ("their", "the"))
        return Facet("", f"attr:{key}", terms, negative)
    subject, index = "", 0
    if not (_is_verb_form(words[0]) or words[0].lower() in _ADVERB_STARTS):
        for index, word in enumerate(words):
            if index and _is_verb_form(word):
                subject = " ".join(w.lower() for w in words[:index])
                break
        else:
            return Facet("", None, terms, negative)
    slot = _english_slot(words[index:], text)
    return Facet(subject, f"{subject}|{slot}" if subject and slot else slot, terms, negative)


_ADVERB_STARTS = {
    "never",
    "always",
    "no",
    "still",
    "usually",
    "often",
    "sometimes",
    "rarely",
    "finally",
    "already",
    "cannot",
}
_SKIPPED = {"not", "no", "longer", "never", "always", "still", "usually", "often", "sometimes", "rarely", "does", "did"}
_ENDING_VERBS = {"stop", "quit", "give", "cease"}


def _english_slot(words: Sequence[str], text: str) -> str | None:
    rest = list(words)  # from the verb the fact is about: past "does not", "never", "stopped" + gerund
    while rest and (
        rest[0].lower() in _SKIPPED
        or (verb_lemma(rest[0]) in _ENDING_VERBS and len(rest) > 1 and rest[1].lower().endswith("ing"))
    ):
        rest = rest[1:]
    if not rest:
        return None
    head = rest[0].lower()
    base = verb_lemma(head) or head
    tail = [w.lower() for w in rest[1:]]
    if base in _SLOT_VERBS and (base != "move" or "to" in tail[:1]):
        return _SLOT_VERBS[base]
    if base == "prefer" and {"to", "over", "than"} & set(tail):
        split = next(i for i, t in enumerate(tail) if t in ("to", "over", "than"))
        pair = sorted(filter(None, (_first_noun(tail[:split]), _first_noun(tail[split + 1 :]))))
        return "prefers:" + "/".join(pair)
    if base in _LIKING or (head == "cannot" and tail[:1] == ["stand"]):
        obj = _first_noun(tail[1:] if head == "cannot" else tail)
        return f"likes:{obj}" if obj else None
    if base in ("be", "get", "become") or head in ("is", "cannot"):
        complement = {t.strip(",.") for t in tail}
        age = re.search(r"\b\d{1,3} years? old\b", text)
        if age:
            return "age"
        if complement & _DIETS:
            return "diet"
        if complement & _RELATIONSHIP:
            return "relationship"
        return None
    if base == "have" and tail:
        if tail[0] in _NUMBER_WORDS or tail[0].isdigit():
            noun = _first_noun(tail[1:])
            return f"count:{_SAME_KIND.get(noun, noun)}" if noun else None
        return None
    if _FREQUENCY.search(" ".join(tail)) and re.search(
        r"\b(?:times?|once|twice|every|daily|weekly|monthly|per)\b", " ".join(tail)
    ):
        remainder = _FREQUENCY.sub(" ", " ".join(tail))
        remainder = re.sub(r"\b(?:these days|lately|nowadays|now|times?)\b", " ", remainder)
        return f"often:{base}:{_first_noun(remainder.split()) or ''}"
    return None


def _first_noun(words: Sequence[str]) -> str | None:
    for word in words:
        low = word.lower().strip(",.")
        if low in ("a", "an", "the", "their", "some", "any", "of", "to", "in", "at", "on", "more", "much") or not low:
            continue
        if low in _NUMBER_WORDS or low.isdigit():
            continue
        return lemma(low)
    return None


def _describe_japanese(text: str) -> Facet:
    tokens = ja_tokens(text)
    terms = content_terms(text)
    negative = any(t.pos == "助動詞" and t.lemma in ("ない", "ぬ", "ず") for t in tokens) or any(
        t.lemma in ("やめる", "辞める", "止める") for t in tokens
    )
    subject = ""
    topic_end = next((i for i, t in enumerate(tokens) if t.pos == "助詞" and t.surface == "は"), None)
    head_words = [t for t in tokens[:topic_end] if t.pos in ("名詞", "代名詞")] if topic_end else []
    if head_words and any(t.lemma in _JA_PEOPLE for t in head_words):
        subject = "".join(t.surface for t in tokens[:topic_end])
    slot = None
    for index, token in enumerate(tokens):
        if token.lemma in JA_SLOT_VERBS:
            slot = JA_SLOT_VERBS[token.lemma]
            break
        if token.lemma in _JA_LIKING:
            nouns = [t.lemma for t in tokens[:index] if t.pos == "名詞" and t.lemma not in _JA_PEOPLE]
            slot = f"likes:{nouns[-1]}" if nouns else None
            break
    if slot is None and topic_end and not subject and tokens[-1].pos == "助動詞" and tokens[-1].lemma in ("です", "だ"):
        slot = "attr:" + "".join(t.surface for t in tokens[:topic_end])
    return Facet(subject, f"{subject}|{slot}" if subject and slot else slot, terms, negative)


# Topic words that name a whole field ("forget what I said about my health"): a memory with any of
