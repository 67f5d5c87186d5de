"""Relative dates made absolute ("tomorrow" -> "on 2026-12-02"), so a memory stays true later."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

__all__ = ["absolute_dates", "is_time_phrase"]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
JA_WEEKDAYS = ["月", "火", "水", "木", "金", "土", "日"]
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a few": 3,
}
_NUMBER = r"(\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_WEEKDAY = "(" + "|".join(WEEKDAYS) + ")"


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month(day: date, shift: int) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _on(day: date) -> str:
    return f"on {day.isoformat()}"


def _on_weekday(day: date) -> str:
    return f"on {WEEKDAYS[day.weekday()].capitalize()}, {day.isoformat()}"


def _coming(today: date, weekday: int, weeks_ahead: int = 0) -> date:
    """The next `weekday` after today (today itself for 'this' when it is that day)."""
    if weeks_ahead:
        return _monday(today) + timedelta(weeks=weeks_ahead, days=weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _english_rules(today: date) -> list[tuple[str, Callable[[re.Match[str]], str]]]:
    def in_month(shift: int) -> str:
        first = _month(today, shift)
        return f"in {MONTHS[first.month - 1].capitalize()} {first.year}"

    def offset(m: re.Match[str], sign: int) -> str:
        n, unit = _number(m.group(1)), m.group(2).lower().rstrip("s")
        if unit == "day":
            return _on(today + timedelta(days=sign * n))
        if unit == "week":
            return "in the week of " + _monday(today + timedelta(weeks=sign * n)).isoformat()
        if unit == "month":
            return in_month(sign * n)
        return f"in {today.year + sign * n}"

    unit = r"\s+(days?|weeks?|months?|years?)"
    return [
        (r"\b(?:the\s+)?day after tomorrow\b", lambda m: _on(today + timedelta(days=2))),
        (r"\b(?:the\s+)?day before yesterday\b", lambda m: _on(today - timedelta(days=2))),
        (r"\btomorrow\b", lambda m: _on(today + timedelta(days=1))),
        (r"\byesterday\b", lambda m: _on(today - timedelta(days=1))),
        (r"\btonight\b", lambda m: f"on the evening of {today.isoformat()}"),
        (r"\btoday\b", lambda m: _on(today)),
        (r"\bin\s+" + _NUMBER + unit + r"(?:'?\s*time)?\b", lambda m: offset(m, 1)),
        (r"\b" + _NUMBER + unit + r"\s+ago\b", lambda m: offset(m, -1)),
        (r"\bnext\s+week\b", lambda m: "in the week of " + (_monday(today) + timedelta(weeks=1)).isoformat()),
        (r"\blast\s+week\b", lambda m: "in the week of " + (_monday(today) - timedelta(weeks=1)).isoformat()),
        (r"\bthis\s+week\b", lambda m: "in the week of " + _monday(today).isoformat()),
        (r"\bnext\s+month\b", lambda m: in_month(1)),
        (r"\blast\s+month\b", lambda m: in_month(-1)),
        (r"\bthis\s+month\b", lambda m: in_month(0)),
        (r"\bnext\s+year\b", lambda m: f"in {today.year + 1}"),
        (r"\blast\s+year\b", lambda m: f"in {today.year - 1}"),
        (r"\bthis\s+year\b", lambda m: f"in {today.year}"),
        (
            r"\b(?:on\s+)?next\s+" + _WEEKDAY + r"\b",
            lambda m: _on_weekday(_coming(today, WEEKDAYS.index(m.group(1).lower()), 1)),
        ),
        (
            r"\b(?:on\s+)?last\s+" + _WEEKDAY + r"\b",
            lambda m: _on_weekday(_coming(today, WEEKDAYS.index(m.group(1).lower())) - timedelta(weeks=1)),
        ),
        (
            r"\b(?:on\s+)?(?:this|this coming|coming)\s+" + _WEEKDAY + r"\b",
            lambda m: _on_weekday(_coming(today, WEEKDAYS.index(m.group(1).lower()))),
        ),
        (
            r"\bon\s+" + _WEEKDAY + r"\b(?!,? \d{4}-)",
            lambda m: _on_weekday(_coming(today, WEEKDAYS.index(m.group(1).lower()))),
        ),
    ]


def _ja(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _japanese_rules(today: date) -> list[tuple[str, Callable[[re.Match[str]], str]]]:
    weekday = "([月火水木金土日])曜(?:日)?"

    def month(shift: int) -> str:
        first = _month(today, shift)
        return f"{first.year}年{first.month}月"

    return [
        ("来週の" + weekday, lambda m: _ja(_coming(today, JA_WEEKDAYS.index(m.group(1)), 1)) + f"（{m.group(1)}）"),
        ("次の" + weekday, lambda m: _ja(_coming(today, JA_WEEKDAYS.index(m.group(1)), 1)) + f"（{m.group(1)}）"),
        ("今週の" + weekday, lambda m: _ja(_coming(today, JA_WEEKDAYS.index(m.group(1)))) + f"（{m.group(1)}）"),
        ("明後日|あさって", lambda m: _ja(today + timedelta(days=2))),
        ("一昨日|おととい", lambda m: _ja(today - timedelta(days=2))),
        ("明日|あした", lambda m: _ja(today + timedelta(days=1))),
        ("昨日|きのう", lambda m: _ja(today - timedelta(days=1))),
        ("今日|きょう", lambda m: _ja(today)),
        (r"(\d+)日後", lambda m: _ja(today + timedelta(days=int(m.group(1))))),
        ("来週", lambda m: _ja(_monday(today) + timedelta(weeks=1)) + "からの週"),
        ("先週", lambda m: _ja(_monday(today) - timedelta(weeks=1)) + "からの週"),
        ("今週", lambda m: _ja(_monday(today)) + "からの週"),
        ("来月", lambda m: month(1)),
        ("先月", lambda m: month(-1)),
        ("今月", lambda m: month(0)),
        ("来年", lambda m: f"{today.year + 1}年"),
        ("去年|昨年", lambda m: f"{today.year - 1}年"),
        ("今年", lambda m: f"{today.year}年"),
    ]


def absolute_dates(text: str, today: date, japanese: bool = False) -> str:
    """`text` with its relative dates replaced by absolute ones."""
    rules = _japanese_rules(today) if japanese else _english_rules(today)
    for pattern, replace in rules:
        text = re.sub(pattern, replace, text, flags=re.I)
    if japanese:  # "明日歯医者に行く" -> "2026年12月2日に歯医者に行く"
        return re.sub(r"(\d{4}年\d{1,2}月\d{1,2}日(?:（.）)?)(?=[^にのはもがまかへ、。）\s])", r"\1に", text)
    return re.sub(r"\b(on|in)\s+(?=(?:on|in)\s)", "", text)


_TIME_PHRASE = re.compile(
    r"^(?:(?:just\s+)?(?:last|next|this|coming)\s+(?:week|month|year|" + "|".join(WEEKDAYS) + r")"
    r"|yesterday|today|tomorrow|tonight|lately|recently|these days|nowadays|in\s+(?:" + "|".join(MONTHS) + r")"
    r"|on\s+" + _WEEKDAY + r"|(?:a|one|two|three|\d+)\s+(?:days?|weeks?|months?|years?)\s+ago"
    r"|since\s+.+|this morning|this evening|earlier today)$",
    re.I,
)


def is_time_phrase(text: str) -> bool:
    """True for a phrase such as "last week" or "these days" (moved to the end of a fact)."""
    return bool(_TIME_PHRASE.match(text.strip(" ,")))
