"""A forget request's topic against the user's memories: which ones it names, by the topic's slot
("where I work"), by a field ("my health"), or by all of its words; never another person's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from ...models import Record
from .facets import JA_SLOT_VERBS, Facet, describe
from .intents import english_clause_fact
from .parse import content_terms, english_words, is_japanese, lemma, stem

__all__ = ["forget_targets"]

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
        slots |= {JA_SLOT_VERBS[t] for t in terms if t in JA_SLOT_VERBS}
    stems = {stem(t) for t in terms}
    found = []
    for record, facet in candidates:
        in_field = any(_in_field(t, w) for t in facet.terms for w in field_stems)
        if facet.subject and not in_field and not stems & {stem(lemma(w)) for w in re.findall(r"\w+", facet.subject)}:
            continue  # "forget where I work" is not about the sister's work
        if facet.slot in slots or in_field or (stems and stems <= {stem(t) for t in facet.terms}):
            found.append(record)
    return found
