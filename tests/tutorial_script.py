# The code of the Milvus tutorial "Getting Started with Mem0 and Milvus", pasted as it is,
# with `mem0` replaced by this project's `memory` and each notebook output printed.
# tests/test_tutorial.py runs it in a new folder with no API key.
from functools import partial
from pprint import pprint

pprint = partial(pprint, sort_dicts=False)  # the tutorial shows keys in insertion order

# Define Config
from memory import Memory  # noqa: E402  (the tutorial imports here)

config = {
    "vector_store": {
        "provider": "milvus",
        "config": {
            "collection_name": "quickstart_mem0_with_milvus",
            "embedding_model_dims": "1536",
            "url": "./milvus.db",  # Use local vector database for demo purpose
        },
    },
    "version": "v1.1",
}

m = Memory.from_config(config)

# Add a memory to user: Working on improving tennis skills
res = m.add(
    messages="I am working on improving my tennis skills.",
    user_id="alice",
    metadata={"category": "hobbies"},
)

pprint(res)

# Get memory_id
memory_id = res["results"][0]["id"]

# Update this memory with new information: Likes to play tennis on weekends
pprint(m.update(memory_id=memory_id, data="Likes to play tennis on weekends"))

# Get all memory for the user Alice
pprint(m.get_all(user_id="alice"))

pprint(m.history(memory_id=memory_id))

new_mem = m.add(
    "I have a linear algebra midterm exam on November 20",
    user_id="alice",
    metadata={"category": "task"},
)

pprint(m.get_all(user_id="alice"))

pprint(m.search(query="What are Alice's hobbies", user_id="alice"))

pprint(m.delete(memory_id=memory_id))

pprint(m.get_all("alice"))
