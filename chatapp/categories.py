"""A category for each memory, assigned offline from its words (English and Japanese).

The panel shows it and filters by it. A memory whose metadata names a category keeps that one;
the others get the first category below whose words they contain, else "Other". Word lists, not a
model: they run on every memory of the panel in microseconds, and a wrong guess is only a label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["CATEGORIES", "categorize"]

# Checked in this order: "Sister Aiko lives in Nara" is family before it is a place.
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "About me",
        ("name is", "called", "years old", "age is", "email", "e-mail", "phone", "address is", "birthday", "pronoun"),
        ("名前", "歳", "メール", "電話", "誕生日"),
    ),
    (
        "Family & friends",
        (
            "wife",
            "husband",
            "partner",
            "son",
            "daughter",
            "child",
            "kid",
            "mother",
            "father",
            "mom",
            "dad",
            "sister",
            "brother",
            "parent",
            "friend",
            "girlfriend",
            "boyfriend",
            "married",
            "engaged",
            "family",
            "grandm",
            "grandf",
            "cousin",
            "uncle",
            "aunt",
            "baby",
        ),
        ("妻", "夫", "息子", "娘", "子供", "母", "父", "姉", "妹", "兄", "弟", "友", "家族", "結婚", "彼女", "彼氏"),
    ),
    (
        "Health",
        (
            "allerg",
            "doctor",
            "sick",
            "ill",
            "pain",
            "medic",
            "diabet",
            "asthma",
            "pregnan",
            "injur",
            "surgery",
            "therapy",
            "sleep",
            "health",
            "blood",
            "migraine",
        ),
        ("アレルギー", "病", "医者", "薬", "健康", "痛", "睡眠", "妊娠"),
    ),
    (
        "Food & drink",
        (
            "vegan",
            "vegetarian",
            "food",
            "eat",
            "drink",
            "coffee",
            "tea",
            "meat",
            "fish",
            "cook",
            "bake",
            "restaurant",
            "diet",
            "alcohol",
            "wine",
            "beer",
            "sushi",
            "pizza",
            "breakfast",
            "lunch",
            "dinner",
            "spicy",
            "sardine",
            "chocolate",
            "fruit",
        ),
        ("食", "飲", "コーヒー", "お茶", "紅茶", "料理", "肉", "魚", "ラーメン", "寿司", "酒", "ビール", "ワイン"),
    ),
    (
        "Pets",
        ("cat", "dog", "pet", "puppy", "kitten", "parrot", "hamster", "rabbit", "horse"),
        ("猫", "犬", "ペット"),
    ),
    (
        "Work & study",
        (
            "work",
            "job",
            "engineer",
            "developer",
            "manager",
            "company",
            "office",
            "colleague",
            "boss",
            "career",
            "student",
            "study",
            "studies",
            "university",
            "college",
            "school",
            "degree",
            "learning",
            "teacher",
            "nurse",
            "designer",
            "employ",
            "startup",
            "salary",
            "intern",
            "project",
            "learn",
        ),
        ("仕事", "働", "会社", "勤め", "職", "学生", "大学", "学校", "勉強", "専攻", "学んで", "習"),
    ),
    (
        "Places & travel",
        (
            "live",
            "lives",
            "moved",
            "move",
            "home",
            "city",
            "country",
            "travel",
            "trip",
            "visit",
            "flight",
            "vacation",
            "holiday",
            "apartment",
            "house",
            "born in",
            "from ",
        ),
        ("住", "引っ越", "旅行", "出身", "家", "訪"),
    ),
    (
        "Hobbies",
        (
            "play",
            "tennis",
            "football",
            "soccer",
            "guitar",
            "piano",
            "violin",
            "music",
            "read",
            "book",
            "film",
            "movie",
            "game",
            "hik",
            "run",
            "swim",
            "yoga",
            "paint",
            "draw",
            "photograph",
            "garden",
            "sport",
            "climb",
            "ski",
            "surf",
            "chess",
            "dance",
            "sing",
            "knit",
            "fish",
            "cycl",
            "bike",
            "bicycle",
            "jazz",
            "poem",
        ),
        ("趣味", "テニス", "サッカー", "ギター", "ピアノ", "音楽", "読書", "本", "映画", "ゲーム", "走", "泳", "登山"),
    ),
    (
        "Preferences",
        ("like", "love", "enjoy", "prefer", "favorite", "favourite", "hate", "dislike", "can't stand", "fan of"),
        ("好き", "嫌い", "苦手"),
    ),
)

CATEGORIES: tuple[str, ...] = (*(name for name, _, _ in _RULES), "Other")

_PATTERNS = tuple(
    (
        name,
        re.compile(r"\b(?:" + "|".join(re.escape(word) for word in english) + r")", re.IGNORECASE),
        japanese,
    )
    for name, english, japanese in _RULES
)


def categorize(text: str, metadata: Mapping[str, Any] | None = None) -> str:
    """The memory's category: its metadata's `category` if it has one, else one from its words."""
    given = (metadata or {}).get("category")
    if isinstance(given, str) and given.strip():
        return given.strip()
    for name, english, japanese in _PATTERNS:
        if english.search(text) or any(word in text for word in japanese):
            return name
    return "Other"
