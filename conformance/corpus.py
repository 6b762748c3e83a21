"""One draw for every backend: a generated case's examples, drawn once and replayed.

Every (case, backend) cell is its own pytest item and its own ``@given`` test
(``test_case`` in test_conformance.py).  Left alone, hypothesis would draw the
case's inputs once per backend and the reference would run once per backend,
though the inputs are of the same kind and the reference's answer depends only on
the backend's dtype policy.  So, in the deterministic profiles (those without an
example database: ``ci``, ``quick``):

1. **The corpus.**  The first cell of a case that a process runs draws the case's
   examples with hypothesis: the case's own strategies, the profile's
   ``max_examples`` and ``derandomize``, in a ``@given`` function of this module
   whose body runs the reference under the dtype policy of each selected backend
   (once per group of policies that agree on the fields the run read:
   ``references_under``) and keeps the outputs.  An example that any of those policies cannot
   check (``engine.reference_outputs`` says None) is rejected there, so every cell
   of the case replays the same examples, as many as the profile asks for.
   Structures repeat (the coverage model's ``strategies.STRUCTURES``): the ci
   profile's 100 examples are 25 structures (shapes, dtypes, sizes, axes), each
   drawn once and filled with new values four times, so a backend that compiles per
   input signature compiles at most 25 times per case (``strategies.Sharing``).
2. **Replay.**  Each cell's ``test_case`` first call runs every corpus example on
   its backend, without hypothesis, and returns without drawing: hypothesis, which
   saw no choice made, ends the test after that call.  The journal records each
   example before the backend sees it (isolation.py: a crash or a hang still names
   its example), and each cell gets its own copy of the inputs (a backend that
   writes into them cannot change another cell's).
3. **Search and shrink, for the backend that failed.**  At the first corpus example
   that fails (a disagreement or any error), the cell turns to hypothesis: the same
   call goes on to draw, and hypothesis searches and shrinks as it did before there
   was a corpus, on this backend only; the minimal example it reports is the cell's
   failure.  Should its search not meet the failure again, the corpus example is the
   failure, shown unshrunk and said so (``CorpusFailure``).

A gradient cell (differentiation.py) replays a corpus of its own: its case's draws
narrowed to float dtypes, its share of the profile's examples, no reference (the
reference runs on the differentiated program, with cotangents that are the same on
every backend: ``differentiation.fixed_cotangents``); finite differences, which do
not depend on the backend, are computed once per example (gradients.py).

A profile with an example database (``explore``) draws per cell as before: the
database replays the failures a past run saved, which a replayed corpus would skip;
and when hunting, every backend seeing different inputs finds more.  ``--draw-per-cell``
does the same in any profile (to compare, or to debug the corpus itself).

With ``-n 2`` each worker draws the corpora of the cases it runs: a case is drawn
at most once per worker (a small cache of recent corpora: cells of one case are
collected next to each other).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tensor_conformance import engine
from tensor_conformance.adapters.protocol import DtypePolicy
from tensor_conformance.engine import ConformanceFailure
from tensor_conformance.observed import Observed
from tensor_conformance.spec import Case
from tensor_conformance.strategies import Draw, Sharing, draw_sharing_structure

#: corpora kept per process (cells of one case are collected next to each other)
CACHE_SIZE = 4
#: set by ``--draw-per-cell``: every cell draws its own examples, as before corpora
DRAW_PER_CELL = False


@dataclass(frozen=True)
class CorpusExample:
    """One drawn example: the inputs, the seed of a case that draws random numbers, and
    the reference's outputs under each dtype policy the selected backends declare."""

    variables: dict[str, Any]
    seed: int
    references: dict[DtypePolicy, dict[str, Observed]]

    def inputs(self) -> dict[str, Any]:
        """A copy of the inputs for one cell: a backend may write into what it is given."""
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self.variables.items()}


@dataclass(frozen=True)
class Corpus:
    examples: tuple[CorpusExample, ...]
    #: seconds of the draw spent running the reference (the rest: hypothesis drawing)
    reference_s: float = 0.0

    def __iter__(self) -> Iterator[CorpusExample]:
        return iter(self.examples)


class CorpusFailure(ConformanceFailure):
    """A corpus example failed on the backend and hypothesis's search, on the same
    backend, did not meet the failure again: the corpus example is shown unshrunk."""

    @classmethod
    def unshrunk(cls, failure: ConformanceFailure) -> CorpusFailure:
        details = {**failure.details, "message": f"{failure.details['message']}\n{UNSHRUNK}",
                   "shrunk": False}
        return cls(f"{failure}\n{UNSHRUNK}", details)


#: said of a failure that a corpus example showed and hypothesis's search did not meet again
UNSHRUNK = ("(found by the case's shared examples; hypothesis's search on this backend did "
            "not meet it again, so the example is shown as drawn, not shrunk)")


def replays() -> bool:
    """Whether cells replay a shared corpus (the current profile has no database)."""
    return not DRAW_PER_CELL and settings().database is None


_CACHE: OrderedDict[tuple[str, tuple[DtypePolicy, ...]], Corpus] = OrderedDict()


def corpus_for(key: str, case: Case, policies: tuple[DtypePolicy, ...],
               draws: dict[str, Draw] | None = None,
               max_examples: int | None = None) -> tuple[Corpus, bool]:
    """The case's corpus, drawn on first use in this process (see the module docstring),
    and whether this call drew it.  ``key`` names the item (its spec and id);
    ``policies``: the selected backends' (the reference runs under each); ``draws``:
    other draws than the case's (a gradient cell's, narrowed to float dtypes);
    ``max_examples``: fewer than the profile's (a gradient cell's share)."""
    policies = tuple(dict.fromkeys(policies))
    cache_key = (key, policies)
    if cache_key in _CACHE:
        _CACHE.move_to_end(cache_key)
        return _CACHE[cache_key], False
    examples, reference_s = _draw(case, policies, draws, max_examples)
    corpus = Corpus(tuple(examples), reference_s)
    _CACHE[cache_key] = corpus
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return corpus, True


class PolicyReads:
    """A dtype policy that records which of its fields are read: a reference run that
    read only these fields gives the same outputs under every policy whose values
    for them are equal (the policy reaches the reference only through them)."""

    def __init__(self, policy: DtypePolicy) -> None:
        self.policy = policy
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self.policy, name)

    def agrees(self, other: DtypePolicy) -> bool:
        """Whether ``other`` has this policy's values for every field read."""
        return all(getattr(other, f) == getattr(self.policy, f) for f in self.read)


def references_under(case: Case, policies: tuple[DtypePolicy, ...], variables: dict[str, Any],
                     seed: int) -> dict[DtypePolicy, dict[str, Observed]] | None:
    """The reference's outputs for one example under each policy (None where any of them
    cannot check it).  The reference runs once per group of policies that agree on the
    fields it read: a program with no literal and no default dtype reads only
    ``max_bits``, so PyTorch's, NumPy's and JAX-x64's policies share one run."""
    done: list[tuple[PolicyReads, dict[str, Observed]]] = []
    references = {}
    for policy in policies:
        shared = next((ref for reads, ref in done if reads.agrees(policy)), None)
        if shared is None:
            reads = PolicyReads(policy)
            shared = engine.reference_outputs(case, reads, variables, seed)  # type: ignore[arg-type]
            if shared is None:
                return None
            done.append((reads, shared))
        references[policy] = shared
    return references


def _draw(case: Case, policies: tuple[DtypePolicy, ...],
          draws: dict[str, Draw] | None = None,
          max_examples: int | None = None) -> tuple[list[CorpusExample], float]:
    """The case's examples, and the seconds spent in the reference.  With no policies,
    only hypothesis draws (a gradient cell's corpus: its reference runs with its
    cotangents; the floor benchmark/suite_speed.py measures)."""
    given = case.given if draws is None else draws
    examples: list[CorpusExample] = []
    reference_s = 0.0
    current = settings()
    wanted = max_examples or current.max_examples

    def checked(data: st.DataObject, variables: dict[str, Any]) -> CorpusExample | None:
        seed = data.draw(st.integers(0, 2**31 - 1), label="seed") if "random" in case.needs else 0
        nonlocal reference_s
        start = time.perf_counter()
        try:
            references = references_under(case, policies, variables, seed)
        finally:
            reference_s += time.perf_counter() - start
        return None if references is None else CorpusExample(variables, seed, references)

    sharing = Sharing.of(wanted)

    @settings(max_examples=sharing.test_cases, derandomize=current.derandomize,
              database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hypothesis.given(data=st.data())
    def draw(data: st.DataObject) -> None:
        examples.extend(draw_sharing_structure(data, given, lambda v: checked(data, v), sharing))

    draw()
    return examples[:wanted], reference_s
