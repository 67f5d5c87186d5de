"""An English clause about the user (or another person) worded as a memory: third person, no
subject for the user ("I moved to Porto" -> "Moved to Porto"), the other person kept as the subject
("my sister lives in Nara" -> "Sister lives in Nara"); instructions to the assistant, greetings and
passing moods give nothing. Rules over real morphology (lemminflect)."""

from __future__ import annotations

import re
from datetime import date

from .dates import absolute_dates, is_time_phrase
from .parse import is_past, pos_of, third_person, verb_lemma

__all__ = ["capitalize", "clause_fact"]

_SUBJECT = re.compile(r"(?<![\w'])(?:I(?=\s|'[a-z])|my(?=\s)|My(?=\s)|we(?=\s)|We(?=\s))")
_DROP_BEFORE_SUBJECT = re.compile(
    r"(?:^|\b(?:that|and|but|so|now|anyway|well|also|then|though|plus|oh|yes|yeah|ok|okay|finally|actually|honestly"
    r"|basically|luckily|sadly|happily|unfortunately|fortunately)|[,—-])\s*$",
    re.I,
)
_HYPOTHETICAL = re.compile(r"\b(?:if|when|whether|unless|once|until|before|after|in case)\s*$", re.I)
_ASSISTANT_VERBS = "answer|reply|respond|write|talk|speak|call|address|use|keep|be|explain|give|avoid|stop"
_INSTRUCTION = re.compile(
    r"^(?:(?:from now on|going forward|in (?:the )?future|always|please|and|also|oh)[\s,]+)*"
    r"(?P<body>(?:always\s+|never\s+|don't\s+|do not\s+)?(?:" + _ASSISTANT_VERBS + r")\b.*?)[.!]*$",
    re.I,
)
_PERSISTENT = re.compile(
    r"\b(?:from now on|going forward|in (?:the )?future|always|never|every time|whenever|all the time)\b", re.I
)
_CALL_ME = re.compile(r"^(?:please\s+)?call\s+me\s+(?P<name>.+?)[.!]*$", re.I)

_CONTRACTIONS = {"'m": "am", "'ve": "have", "'d": "would", "'ll": "will", "'s": "is", "'re": "are"}
_NEGATED = {
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "can't": "cannot",
    "won't": "will not",
    "wouldn't": "would not",
    "couldn't": "could not",
    "shouldn't": "should not",
    "haven't": "have not",
    "hasn't": "has not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "i'm": "i am",
}
_MODALS = {"can", "could", "will", "would", "should", "must", "might", "may", "shall", "cannot"}
_KEPT_ADVERBS = {
    "never",
    "always",
    "usually",
    "often",
    "sometimes",
    "rarely",
    "seldom",
    "still",
    "finally",
    "already",
    "recently",
    "even",
    "mostly",
    "regularly",
    "occasionally",
}
_DROPPED_ADVERBS = {"actually", "now", "just", "really", "currently", "also", "honestly", "basically", "truly"}
_DISCOURSE_VERBS = {
    "think",
    "guess",
    "mean",
    "see",
    "agree",
    "hope",
    "wonder",
    "believe",
    "suppose",
    "tell",
    "say",
    "mention",
    "understand",
    "know",
    "bet",
    "feel",
    "forget",
    "remember",
    "appreciate",
    "thank",
}
_DISCOURSE_OBJECTS = {"you", "that", "so", "it", "what", "how", "why", "this", "about", "if", "whether", ""}
_PHATIC_STATES = {
    "fine",
    "good",
    "great",
    "ok",
    "okay",
    "alright",
    "sorry",
    "glad",
    "back",
    "here",
    "sure",
    "curious",
    "wondering",
    "thinking",
    "confused",
    "done",
    "ready",
    "listening",
    "asking",
    "kidding",
    "joking",
    "happy",
    "afraid",
    "not sure",
    "well",
    "excited",
    "tired",
    "bored",
    "hungry",
    "lost",
}
_ONE_OFF_WANTS = re.compile(
    r"^(?:want|need|would like|'d like)\s+(?:to\s+(?:know|ask|understand|learn about|see|check|hear)\b|help\b|you\b"
    r"|some\b|a\s+(?:recipe|recommendation|suggestion|summary|joke|story|poem)\b)",
    re.I,
)


_TRAILING_TAG = re.compile(
    r"(?:,\s*|\s+)(?:as you know|as i said|as i told you|like i said|you know|i guess|i think|i suppose|by the way"
    r"|btw|right|remember|lol|haha|though|anyway|of course)\s*$",
    re.I,
)
_BARE_NAME = re.compile(r"^(?:the\s+)?name(?:'s|\s+is)\s+(?P<name>.+)$", re.I)


def clause_fact(clause: str, today: date) -> str | None:
    clause = _TRAILING_TAG.sub("", clause.strip(" ,.!\"'")).strip(" ,")
    instruction = _assistant_instruction(clause)
    if instruction:
        return instruction
    bare_name = _BARE_NAME.match(clause)
    if bare_name and _is_name(bare_name.group("name")):
        return f"Name is {bare_name.group('name')}"  # "Name's Bruno"
    subject = _SUBJECT.search(clause)
    if subject is None:
        return _contact_fact(clause)
    before, rest = clause[: subject.start()].strip(), clause[subject.start() :]
    trailing_time = ""
    if before:
        if is_time_phrase(before):
            trailing_time = before.strip(" ,")
        elif _HYPOTHETICAL.search(before) or not _DROP_BEFORE_SUBJECT.search(before):
            if not is_time_phrase(before.rstrip(" ,").rsplit(",", 1)[-1]):
                return _contact_fact(clause)
            trailing_time = before.rstrip(" ,").rsplit(",", 1)[-1].strip()
    fact = _possession_fact(rest) if rest[:2].lower() == "my" else _self_fact(rest)
    if not fact:
        return _contact_fact(clause)
    if trailing_time and trailing_time.lower() not in fact.lower():
        fact = f"{fact} {trailing_time[0].lower()}{trailing_time[1:]}"
    return capitalize(absolute_dates(fact, today))


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def _contact_fact(clause: str) -> str | None:
    """'You can reach me at x@y.org' -> 'Can be reached at x@y.org'."""
    if not re.search(r"\b(?:me|my|I)\b", clause):
        return None
    found = _EMAIL.search(clause) or _PHONE.search(clause)
    return f"Can be reached at {found.group(0)}" if found else None


def _assistant_instruction(clause: str) -> str | None:
    """'Please answer in short sentences from now on' -> 'Wants the assistant to answer in short sentences'."""
    call = _CALL_ME.match(clause)
    if call:
        return f"Wants to be called {call.group('name')}"
    match = _INSTRUCTION.match(clause)
    if not match or not _PERSISTENT.search(clause):
        return None
    body = _PERSISTENT.sub("", match.group("body"))
    body = re.sub(r"\b(?:please)\b", "", body)
    body = re.sub(r"\byour\b", "its", re.sub(r"\bme\b", "them", body))
    body = re.sub(r"^(?:don't|do not)\s+", "not ", re.sub(r"\s+", " ", body).strip(" ,"))
    if "always" in clause.lower() and not body.startswith("not "):
        body = "always " + body
    return f"Wants the assistant to {body}" if body else None


def _expand(text: str) -> list[str]:
    words = []
    for raw in text.split():
        low = raw.lower()
        if low in _NEGATED:
            words.extend(_NEGATED[low].split())
            continue
        match = re.match(r"^(I)('m|'ve|'d|'ll)$", raw, re.I)
        if match:
            words.extend(["I", _CONTRACTIONS[match.group(2).lower()]])
            continue
        words.append(raw)
    return words


def _third_person_pronouns(words: list[str]) -> str:
    """Mem0's style: "my" is dropped ("Passed driving test"), "me" becomes "them"."""
    swap = {"my": "", "our": "", "me": "them", "myself": "themselves", "mine": "theirs", "us": "them"}
    return " ".join(swap.get(w.lower(), w) if w.lower() in swap else w for w in words if swap.get(w.lower(), w))


def _self_fact(text: str) -> str | None:
    """'I moved to Munich' -> 'Moved to Munich'; None when the clause is not a lasting fact."""
    words = _expand(text)
    if not words or words[0].lower() not in ("i", "we"):
        return None
    words = words[1:]
    head: list[str] = []
    while words and words[0].lower() in _KEPT_ADVERBS | _DROPPED_ADVERBS:
        if words[0].lower() in _KEPT_ADVERBS:
            head.append(words[0].lower())
        words = words[1:]
    if len(words) >= 2 and words[0].lower() == "no" and words[1].lower() == "longer":
        head.append("no longer")
        words = words[2:]
    if not words:
        return None
    verb, rest = words[0], words[1:]
    low = verb.lower()
    while rest and rest[0].lower() in _DROPPED_ADVERBS:
        rest = rest[1:]
    rest_text = _third_person_pronouns(rest)
    if rest and all(w.lower().strip(",.!") in _CONTEXT_PRONOUNS for w in rest):
        return None  # "I misspelled it", "I said that": about the conversation, not the user
    if low == "am":
        if not rest:
            return None
        negated = rest[0].lower() == "not"
        complement = rest_text[4:] if negated else rest_text
        if complement.lower().strip(" ,.!") in _PHATIC_STATES or re.match(
            r"^(?:so |very |really |just |not |pretty |quite |a bit |a little |kind of |super |too )*(?:"
            + "|".join(_PHATIC_STATES)
            + r")\b(?! (?:of|with|at|in)\b)",
            complement.lower(),
        ):
            return None
        if not negated and _is_name(complement):
            return f"Name is {complement}"
        age = re.match(r"^(\d{1,3})(?:\s+years?\s+old)?$", complement)
        if age and not negated:
            return f"Is {age.group(1)} years old"
        if not negated and not head and re.match(r"^\w+ing\b", complement) and verb_lemma(complement.split()[0]):
            return capitalize(complement)  # "I am working on X" -> "Working on X", as the tutorial shows
        return _join(head, "is not" if negated else "is", complement)
    if low in ("was", "were"):
        return _join(head, "was", rest_text) if rest else None
    if low == "have":
        if rest and rest[0].lower() == "not":
            return _join(head, "has not", _third_person_pronouns(rest[1:])) if len(rest) > 1 else None
        if rest and rest[0].lower() == "got":
            rest_text = _third_person_pronouns(rest[1:])
        return _join(head, "has", rest_text) if rest_text else None
    if low in ("do", "does", "did"):
        if not rest or rest[0].lower() != "not":
            return _join(head, third_person(rest[0]) if rest else "", " ".join(rest[1:])) if rest else None
        return _join(head, "did not" if low == "did" else "does not", _third_person_pronouns(rest[1:]))
    if low in _MODALS:
        if not rest:
            return None
        if rest[0].lower() == "not":
            return _join(head, f"{low} not", _third_person_pronouns(rest[1:]))
        return _join(head, low, rest_text)
    base = verb_lemma(low)
    if base is None or ("ADJ" in pos_of(low) and "VERB" not in pos_of(low)):
        return None
    if base in _DISCOURSE_VERBS and (not rest or rest[0].lower().strip(",") in _DISCOURSE_OBJECTS):
        return None
    if _ONE_OFF_WANTS.match(" ".join([low, *rest[:2]])) or (base == "want" and not rest):
        return None
    past = is_past(low) and (low in _ENDED_VERBS or _PAST_TIME.search(rest_text))
    return _join(head, verb.lower() if past else third_person(verb), rest_text)


_CONTEXT_PRONOUNS = {"it", "that", "this", "so", "them", "those", "these"}
# A verb whose past is its plain form ("I quit smoking") reads as past with a past time, or when
# it ends something: one says "I quit", and seldom means a habit of quitting.
_ENDED_VERBS = {"quit"}
_PAST_TIME = re.compile(
    r"\b(?:ago|last|yesterday|earlier|in (?:19|20)\d\d|in (?:january|february|march|april|may|june|july|august"
    r"|september|october|november|december))\b",
    re.I,
)


def _possession_fact(text: str) -> str | None:
    """'My name is actually John' -> 'Name is John'; 'My sister Aiko lives in Nara' -> 'Sister Aiko lives in Nara'."""
    words = _expand(text)[1:]
    for index, word in enumerate(words):
        low = word.lower()
        if index == 0:
            continue
        if low in ("is", "are"):
            rest = [w for w in words[index + 1 :] if w.lower() not in _DROPPED_ADVERBS]
            return capitalize(f"{' '.join(words[:index])} {low} {_third_person_pronouns(rest)}") if rest else None
        if low in ("was", "were"):
            return None  # a passing state ("my boss was grumpy"), not a lasting fact
        if (
            (verb_lemma(low) and low != verb_lemma(low) and "NOUN" not in pos_of(low))
            or low in _MODALS
            or (low.endswith("s") and verb_lemma(low) and third_person(verb_lemma(low) or "") == low)
        ):
            subject = " ".join(words[:index])
            return capitalize(f"{subject} {_third_person_pronouns(words[index:])}")
    return None


def _is_name(text: str) -> bool:
    words = text.split()
    return 1 <= len(words) <= 3 and all(w[:1].isupper() and not pos_of(w) & {"ADJ", "NOUN"} for w in words)


def _join(head: list[str], verb: str, rest: str) -> str:
    return capitalize(" ".join(part for part in [*head, verb, rest] if part).strip())


def capitalize(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return text[:1].upper() + text[1:]
