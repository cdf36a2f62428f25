"""huiying/embedded.py: after a full collection the survivors are frozen, so the next one walks only what is new."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from huiying.embedded import keep_full_collections_short

keep_full_collections_short()
stored = [{"_id": i, "tags": [str(i)]} for i in range(50_000)]  # what a memory engine holds
gc.collect()
frozen = gc.get_freeze_count()
assert frozen >= 100_000, frozen  # the stored documents (dicts and their lists) left the young generations


import weakref


class Node:
    pass


a, b = Node(), Node()  # a cycle made after the freeze is still collected
a.other, b.other = b, a
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None
print("ok", frozen)
"""


def test_a_full_collection_freezes_what_survived_it() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr
