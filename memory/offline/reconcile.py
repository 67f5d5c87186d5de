"""Deciding ADD / UPDATE / DELETE: new statements against the user's nearest memories.

Every memory text and every new fact is described by the same `describe`:
- its subject ("" for the user, else the other person: "sister aiko");
- its slot, an attribute that holds one value at a time (home, work, name, age, diet,
  relationship, a liking for one thing, a count of one kind of thing, a habit's frequency,
  "X is Y" attributes): a new value for a slot updates the old memory;
- its terms (content lemmas) and polarity ("no longer", "never", "stopped", ない).
A negative statement updates the positive memory it contradicts; a restatement changes nothing;
a forget request deletes the memories its topic's slot or terms name, and nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..extraction import Operation, text_hash
from ..store import Record
from .intents import Statement, english_clause_fact
from .parse import (
    content_sequence,
    content_terms,
    english_words,
    is_japanese,
    ja_tokens,
    lemma,
    pos_of,
    stem,
    third_person,
    verb_lemma,
)

__all__ = ["Facet", "describe", "forget_targets", "plan"]


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
_TOPIC_SLOTS = {
    "address": "home",
    "home": "home",
    "live": "home",
    "city": "home",
    "house": "home",
    "apartment": "home",
    "flat": "home",
    "hometown": "home",
    "location": "home",
    "job": "work",
    "work": "work",
    "employer": "work",
    "company": "work",
    "workplace": "work",
    "career": "work",
    "occupation": "work",
    "profession": "work",
    "office": "work",
    "age": "age",
    "diet": "diet",
    "relationship": "relationship",
    "partner": "relationship",
    "school": "study",
    "university": "study",
    "study": "study",
    "住所": "home",
    "住む": "home",
    "暮らす": "home",
    "住まい": "home",
    "家": "home",
    "場所": "home",
    "ところ": "home",
    "仕事": "work",
    "職場": "work",
    "勤務": "work",
    "勤務先": "work",
    "会社": "work",
    "職業": "work",
    "働く": "work",
    "勤める": "work",
    "年齢": "age",
    "学校": "study",
}
_JA_SLOT_VERBS = {
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
        if token.lemma in _JA_SLOT_VERBS:
            slot = _JA_SLOT_VERBS[token.lemma]
            break
        if token.lemma in _JA_LIKING:
            nouns = [t.lemma for t in tokens[:index] if t.pos == "名詞" and t.lemma not in _JA_PEOPLE]
            slot = f"likes:{nouns[-1]}" if nouns else None
            break
    if slot is None and topic_end and not subject and tokens[-1].pos == "助動詞" and tokens[-1].lemma in ("です", "だ"):
        slot = "attr:" + "".join(t.surface for t in tokens[:topic_end])
    return Facet(subject, f"{subject}|{slot}" if subject and slot else slot, terms, negative)


# Topic words that name a whole field ("forget what I said about my health"): a memory with any of
# the field's word stems (five letters, as `stem`) belongs to it.
_FIELDS = {
    "health": "health diabe allerg asthm ill sick disea medic pain injur surge pregn blood docto thera diagn cance "
    "migra depre anxie intol condi 健康 病気 病院 薬 アレルギー 糖尿病 持病 怪我",
    "family": "famil siste broth mothe fathe mom dad paren child kid son daugh wife husba partn grand cousi aunt "
    "uncle 家族 妹 姉 兄 弟 母 父 夫 妻 息子 娘 子供",
    "pet": "pet dog cat fish bird parro hamst rabbi puppy kitte 犬 猫 ペット",
    "diet": "diet food eat veget vegan meat fish dairy gluten 食事 食べる",
    "money": "money finan salar debt loan incom rent mortg saving 給料 お金 借金",
}
_FIELD_NAMES = {
    "health": "health",
    "family": "family",
    "pet": "pet",
    "pets": "pet",
    "diet": "diet",
    "food": "diet",
    "money": "money",
    "finances": "money",
    "finance": "money",
    "salary": "money",
    "健康": "health",
    "家族": "family",
    "ペット": "pet",
    "食事": "diet",
    "お金": "money",
}


def _in_field(term: str, field_word: str) -> bool:
    """A short word must be the whole term ("son", not "song"); a stem may start it; Japanese may be inside."""
    if not field_word.isascii():
        return field_word in term
    return term == field_word or (len(field_word) >= 4 and term.startswith(field_word))


def forget_targets(topic: str, candidates: Sequence[tuple[Record, Facet]], today: date) -> list[Record]:
    """The memories a forget request's topic names: by slot, by a whole field, or by all of its terms."""
    terms = content_terms(topic)
    fields = {_FIELD_NAMES[t] for t in terms if t in _FIELD_NAMES}
    field_stems = {word for field in fields for word in _FIELDS[field].split()}
    slots = {_TOPIC_SLOTS[t] for t in terms if t in _TOPIC_SLOTS}
    if not is_japanese(topic):
        slots |= {f"attr:{' '.join(lemma(w) for w in english_words(topic) if w.lower() not in ('my', 'the'))}"}
        as_fact = english_clause_fact(topic, today)
        if as_fact:
            described = describe(as_fact)
            terms = described.key_terms or terms
            if described.slot:
                slots.add(described.slot)
    else:
        slots |= {f"attr:{t}" for t in terms}
        slots |= {_JA_SLOT_VERBS[t] for t in terms if t in _JA_SLOT_VERBS}
    stems = {stem(t) for t in terms}
    found = []
    for record, facet in candidates:
        in_field = any(_in_field(t, w) for t in facet.terms for w in field_stems)
        if facet.subject and not in_field and not stems & {stem(lemma(w)) for w in re.findall(r"\w+", facet.subject)}:
            continue  # "forget where I work" is not about the sister's work
        if facet.slot in slots or in_field or (stems and stems <= {stem(t) for t in facet.terms}):
            found.append(record)
    return found


def _overlap(a: Facet, b: Facet) -> int:
    return len({stem(t) for t in a.key_terms} & {stem(t) for t in b.key_terms})


def plan(statements: Sequence[Statement], candidates: Sequence[Record], today: date) -> list[Operation]:
    """Operations for the statements; positive facts first, so "I quit X. Now I work at Y" updates once."""
    described = [(c, describe(c.memory)) for c in candidates]
    hashes = {c.hash for c in candidates}
    touched: set[str] = set()
    replaced: set[str] = set()
    operations: list[Operation] = []
    for statement in statements:
        if statement.kind == "forget":
            for record in forget_targets(statement.text, described, today):
                if record.id not in touched:
                    touched.add(record.id)
                    operations.append(Operation("DELETE", target=record))
    facts = [(s, describe(s.text)) for s in statements if s.kind == "fact"]
    facts.sort(key=lambda pair: pair[1].negative)
    for statement, facet in facts:
        digest = text_hash(statement.text)
        if digest in hashes:
            continue
        hashes.add(digest)
        open_ = [(c, f) for c, f in described if c.id not in touched]
        target = _same_slot(facet, open_)
        if target is not None and _restates(facet, target[1], statement.text, target[0].memory):
            continue
        if target is None and facet.negative:
            target = _contradicted(facet, [(c, f) for c, f in described if c.id not in touched or c.id in replaced])
            if target is not None and target[0].id in replaced:
                continue  # this turn already replaced that memory ("I quit Acme. Now I work at Globex")
        if target is None and not facet.negative:
            target = _contradicted(facet, open_)
        if target is None and any(_restates(facet, f, statement.text, c.memory) for c, f in open_):
            continue
        if target is None:
            operations.append(Operation("ADD", text=statement.text))
            continue
        touched.add(target[0].id)
        replaced.add(target[0].id)
        operations.append(Operation("UPDATE", text=statement.text, target=target[0]))
    return operations


def _same_slot(facet: Facet, candidates: Sequence[tuple[Record, Facet]]) -> tuple[Record, Facet] | None:
    if facet.slot is None:
        return None
    same = [(c, f) for c, f in candidates if f.slot == facet.slot]
    return max(same, key=lambda pair: _overlap(facet, pair[1])) if same else None


def _contradicted(facet: Facet, candidates: Sequence[tuple[Record, Facet]]) -> tuple[Record, Facet] | None:
    """The memory of the other polarity that shares most of this statement's key terms."""
    need = max(1, math.ceil(len(facet.key_terms) / 2))
    best, best_overlap = None, 0
    for record, other in candidates:
        if other.negative == facet.negative or other.subject != facet.subject:
            continue
        overlap = _overlap(facet, other)
        if overlap >= need and overlap > best_overlap:
            best, best_overlap = (record, other), overlap
    return best


def _restates(new: Facet, old: Facet, new_text: str, old_text: str) -> bool:
    """Nothing new: the same polarity and subject, and every key term already there, in the same order."""
    if not new.key_terms or new.negative != old.negative or new.subject != old.subject:
        return False
    old_terms = iter(stem(t) for t in content_sequence(old_text) if t in old.key_terms)
    return all(any(stem(t) == o for o in old_terms) for t in content_sequence(new_text) if t in new.key_terms)
