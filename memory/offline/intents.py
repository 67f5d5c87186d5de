"""What a user's message means for memory: facts about them, a request to forget, or nothing.

Each sentence, then each clause, becomes at most one `Statement`:
- "fact": a memory text in the third person without a subject ("Lives in Berlin"), or with the
  other person as subject ("Sister Aiko lives in Nara"); Japanese keeps the user's words;
- "forget": the topic the user wants forgotten ("where I work", "趣味").
Questions, greetings, thanks and talk about the conversation itself give nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .dates import absolute_dates, is_time_phrase
from .parse import (
    english_words,
    is_base_verb,
    is_japanese,
    is_past,
    ja_tokens,
    pos_of,
    sentences,
    third_person,
    verb_lemma,
)

__all__ = ["Statement", "statements"]


@dataclass(frozen=True)
class Statement:
    kind: Literal["fact", "forget"]
    text: str


def statements(text: str, today: date) -> list[Statement]:
    found: list[Statement] = []
    for sentence in sentences(text.replace("\u2019", "'").replace("\u2018", "'")):
        made = _japanese(sentence, today) if is_japanese(sentence) else _english(sentence, today)
        found.extend(s for s in made if s not in found)
    return found


# -- English ---------------------------------------------------------------------------------

_FORGET = re.compile(
    r"^(?:(?:please|pls|and|also|oh|ok|okay|now|so|actually)[\s,]+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|need|would like|'d like)\s+you\s+to\s+"
    r"|i\s+(?:don't|do not)\s+want\s+you\s+to\s+(?=remember|keep|store))?"
    r"(?:forget|erase|delete|remove|wipe|scrap|discard|stop remembering|stop storing|don't remember|do not remember"
    r"|don't keep|do not keep|no need to remember|remember|keep|store)\s+"
    r"(?:about\s+)?(?:(?:everything|anything|all|whatever|what you know|what you remember|the fact|the part"
    r"|the memory|the memories|any memories|info|information|details)\s+(?:about|that|of|regarding|on|concerning)?\s*)?"
    r"(?:that\s+)?(?P<topic>.+?)(?:\s+from\s+(?:your\s+)?memory)?(?:,?\s+please)?[.!?]*$",
    re.I,
)
_NEGATED_REMEMBER = re.compile(r"\b(?:don't|do not|stop|no need to|not)\b", re.I)
_REMEMBER = re.compile(
    r"^(?:(?:please|and|also|oh|ok|okay)[\s,]+)*(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?(?:remember|note|keep in mind|don't forget|do not forget)"
    r"(?:\s+that)?\s+(?P<fact>.+?)[.!?]*$",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(?:what|where|when|who|whom|whose|why|how|which|do|does|did|is|are|am|can|could|would|will|should|shall"
    r"|have|has|was|were)\b(?:'s|'re)?\s*(?:\w+\s+){0,2}?(?:i|you|my|your|it|there|we|he|she|they|the|a|this|that)\b",
    re.I,
)
_SUBJECT = re.compile(r"(?<![\w'])(?:I(?=\s|'[a-z])|my(?=\s)|My(?=\s)|we(?=\s)|We(?=\s))")
_CLAUSE_SPLIT = re.compile(
    r"\s*;\s*|\s*:(?!//|\d)\s*"
    r"|,?\s+(?:but|so|because|although|though|whereas|while)\s+(?:also\s+|now\s+|then\s+|anyway\s+)*"
    r"|,\s+(?:and\s+|plus\s+|then\s+)?(?=(?:now\s+|also\s+|then\s+|anyway\s+|still\s+)*(?:I\b|I'|my\b|My\b|we\b|We\b))"
    r"|\s+(?:and|plus)\s+(?=(?:now\s+|also\s+|then\s+|still\s+)*(?:I\b|I'|my\b|My\b|we\b))"
)
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


def _english(sentence: str, today: date) -> list[Statement]:
    plain = sentence.strip().strip("\"'“”")
    forget = _FORGET.match(plain)
    if forget and _is_forget(plain):
        return [Statement("forget", forget.group("topic").strip(" ,.'\""))]
    remember = _REMEMBER.match(plain)
    if remember:
        return [Statement("fact", _clause_fact(remember.group("fact"), today) or _capitalize(remember.group("fact")))]
    if plain.endswith("?") or _QUESTION_START.match(plain):
        return []
    found = []
    for clause in _clauses(plain):
        made = _clause_fact(clause, today)
        if made:
            found.append(Statement("fact", made))
    return found


def _is_forget(sentence: str) -> bool:
    """'forget ...', 'don't remember ...' and 'stop storing ...' ask to forget; 'remember ...' does not."""
    head = re.split(r"\s+(?:about|that|my|where|what|the)\b", sentence, maxsplit=1)[0].lower()
    if re.search(r"\b(?:forget|erase|delete|remove|wipe|scrap|discard)\b", head):
        return not re.search(r"\b(?:don't|do not|never)\s+forget\b", head)
    return bool(re.search(r"\b(?:remember|keep|stor)\w*", head) and _NEGATED_REMEMBER.search(head))


def _clauses(sentence: str) -> list[str]:
    pieces = [p.strip(" ,") for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip(" ,")]
    out: list[str] = []
    for piece in pieces:
        out.extend(_split_coordinated_verbs(piece))
    return out


def _split_coordinated_verbs(clause: str) -> list[str]:
    """'I live in Paris and work at a bakery' -> both halves with the subject 'I'."""
    match = re.match(r"^(.*?\bI\s+)(.+)$", clause)
    if not match:
        return [clause]
    subject_part, rest = match.groups()
    parts = re.split(r"\s+and\s+", rest)
    merged = [parts[0]]
    for part in parts[1:]:
        if _starts_a_verb_phrase(part.split()):
            merged.append(part)
        else:
            merged[-1] += " and " + part
    return [subject_part + merged[0], *("I " + part for part in merged[1:])]


def _starts_a_verb_phrase(words: list[str]) -> bool:
    """'work at a bakery' does; 'dogs', 'travel' (at the end) and 'English' do not."""
    if len(words) < 2 or not (is_base_verb(words[0]) or is_past(words[0])):
        return False
    return "NOUN" not in pos_of(words[0]) or words[1].lower() in _PREPOSITIONS | {"a", "an", "the"}


_PREPOSITIONS = {"at", "in", "on", "for", "as", "to", "with", "from", "near", "by", "into", "about"}


_TRAILING_TAG = re.compile(
    r"(?:,\s*|\s+)(?:as you know|as i said|as i told you|like i said|you know|i guess|i think|i suppose|by the way"
    r"|btw|right|remember|lol|haha|though|anyway|of course)\s*$",
    re.I,
)
_BARE_NAME = re.compile(r"^(?:the\s+)?name(?:'s|\s+is)\s+(?P<name>.+)$", re.I)


def _clause_fact(clause: str, today: date) -> str | None:
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
    return _capitalize(absolute_dates(fact, today))


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
            return _capitalize(complement)  # "I am working on X" -> "Working on X", as the tutorial shows
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
            return _capitalize(f"{' '.join(words[:index])} {low} {_third_person_pronouns(rest)}") if rest else None
        if low in ("was", "were"):
            return None  # a passing state ("my boss was grumpy"), not a lasting fact
        if (
            (verb_lemma(low) and low != verb_lemma(low) and "NOUN" not in pos_of(low))
            or low in _MODALS
            or (low.endswith("s") and verb_lemma(low) and third_person(verb_lemma(low) or "") == low)
        ):
            subject = " ".join(words[:index])
            return _capitalize(f"{subject} {_third_person_pronouns(words[index:])}")
    return None


def _is_name(text: str) -> bool:
    words = text.split()
    return 1 <= len(words) <= 3 and all(w[:1].isupper() and not pos_of(w) & {"ADJ", "NOUN"} for w in words)


def _join(head: list[str], verb: str, rest: str) -> str:
    return _capitalize(" ".join(part for part in [*head, verb, rest] if part).strip())


def _capitalize(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return text[:1].upper() + text[1:]


# -- Japanese --------------------------------------------------------------------------------

_JA_FORGET = re.compile(
    r"^(?P<topic>.+?)(?:のこと|について|に関すること|に関して)?(?:は|を|も)?(?:全部|すべて|全て|もう)?"
    r"(?:忘れて|忘れろ|忘れてください|覚えないで|記憶しないで|削除して|消して)"
)
_JA_REMEMBER = re.compile(r"^(?P<fact>.+?)(?:ということ|こと)?(?:を|って)?(?:覚えて|記憶して)")
_JA_SELF = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分|あたし)(?:は|が|も|って)")
_JA_SELF_OWN = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分|あたし)の")
_JA_CONTENT = {"名詞", "動詞", "形容詞", "形状詞", "代名詞"}


def _japanese(sentence: str, today: date) -> list[Statement]:
    s = sentence.strip().rstrip("。！!．. ")
    forget = _JA_FORGET.match(s)
    if forget:
        topic = forget.group("topic").strip("、 「」")
        return [Statement("forget", _JA_SELF_OWN.sub("", _JA_SELF.sub("", topic)))] if topic else []
    remember = _JA_REMEMBER.match(s)
    if remember:
        s = re.sub(r"(?:だ)?(?:ということ|こと|って|と)$", "", remember.group("fact").strip("、 「」"))
    if s.endswith(("か", "？", "?", "かな", "の")) or "？" in s or "?" in s:
        return []
    tokens = ja_tokens(s)
    start = 0
    while start < len(tokens) and tokens[start].pos in ("感動詞", "補助記号", "接続詞"):
        start += 1
    body = tokens[start:]
    if not any(t.pos in _JA_CONTENT for t in body) or not any(t.pos in ("名詞",) for t in body):
        return []
    if s.endswith(("ね", "よね", "な")):
        return []  # seeking agreement ("寒いですね"): small talk
    text = "".join(t.surface for t in body).strip("、 ")
    text = _JA_SELF_OWN.sub("", _JA_SELF.sub("", text)).strip("、 ")
    return [Statement("fact", absolute_dates(text, today, japanese=True))] if text else []


def english_clause_fact(text: str, today: date) -> str | None:
    """A topic such as 'I drive a Toyota' as the fact it names (used to match what to forget)."""
    return _clause_fact(text, today) if english_words(text) else None
