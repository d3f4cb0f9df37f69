"""The mutation families, and how a mutant is drawn from a seed, deterministically.

A mutant is a seed and a list of (op name, op seed): each op is applied in turn with its
own `random.Random(op seed)`, so mutant N of campaign seed S is always the same file,
and a minimiser can replay any sublist of its ops.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..seeds import Seed
from . import meaning, ods, raw, xls, xlsx

# family -> (formats it mutates, {op name: (function(data, rng), weight)})
FAMILIES: dict[str, tuple[tuple[str, ...], dict]] = {
    "bytes": (
        ("xlsx", "ods", "xls"),
        {name: (f, 1) for name, f in raw.OPS.items()},
    ),
    "xlsx": (("xlsx",), xlsx.OPS),
    "ods": (("ods",), ods.OPS),
    "xls": (("xls",), xls.OPS),
    "meaning": (("xlsx",), meaning.OPS),  # one op, and what verifier must then say
}
FAMILY_WEIGHTS = {"bytes": 2, "xlsx": 5, "ods": 3, "xls": 3, "meaning": 1}
OPS_PER_MUTANT = [1, 1, 1, 2, 2, 3]


@dataclass
class Mutant:
    index: int
    seed: Seed
    family: str
    ops: list[tuple[str, int]] = field(default_factory=list)
    data: bytes = b""
    expect: tuple | None = None  # family "meaning": what verifier must say (meaning.py)

    @property
    def name(self) -> str:
        stem = self.seed.name.rsplit(".", 1)[0]
        return f"{self.index:06d}-{self.family}-{stem}.{self.seed.format}"

    @property
    def description(self) -> str:
        return " + ".join(op for op, _ in self.ops) or "(seed unchanged)"


class Mutator:
    """Draws mutants from seeds; counts the ops that raised (a bug of the fuzzer)."""

    def __init__(self, seeds: list[Seed], families: list[str] | None = None):
        self.seeds = seeds
        self.data = {s.name: s.data for s in seeds}
        formats = {s.format for s in seeds}
        self.families = [f for f in (families or FAMILIES) if set(FAMILIES[f][0]) & formats]
        self.errors: dict[str, int] = {}
        self.expectation: tuple | None = None  # of the last "meaning" op applied

    def apply(self, family: str, name: str, op_seed: int, data: bytes) -> bytes | None:
        function = FAMILIES[family][1][name][0]
        rng = random.Random(op_seed)
        try:
            if family == "bytes":
                return function(data, rng, list(self.data.values()))
            result = function(data, rng)
            if isinstance(result, tuple):  # a "meaning" op: (data, expectation)
                result, self.expectation = result
            return result
        except Exception as error:  # a mutator bug: counted and reported, never hidden
            key = f"{family}.{name}: {type(error).__name__}"
            self.errors[key] = self.errors.get(key, 0) + 1
            return None

    def replay(self, seed: Seed, family: str, ops: list[tuple[str, int]]) -> bytes:
        data = self.data[seed.name]
        for name, op_seed in ops:
            new = self.apply(family, name, op_seed, data)
            if new is not None:
                data = new
        return data

    def draw(self, campaign_seed: int, index: int) -> Mutant:
        rng = random.Random(f"{campaign_seed}:{index}")
        family = rng.choices(self.families, [FAMILY_WEIGHTS[f] for f in self.families])[0]
        formats, ops = FAMILIES[family]
        seed = rng.choice([s for s in self.seeds if s.format in formats])
        names = sorted(ops)
        weights = [ops[n][1] for n in names]
        mutant = Mutant(index, seed, family, data=self.data[seed.name])
        for _ in range(1 if family == "meaning" else rng.choice(OPS_PER_MUTANT)):
            for _attempt in range(8):
                name = rng.choices(names, weights)[0]
                op_seed = rng.getrandbits(32)
                new = self.apply(family, name, op_seed, mutant.data)
                if new is not None and new != mutant.data:
                    mutant.data = new
                    mutant.ops.append((name, op_seed))
                    mutant.expect = self.expectation if family == "meaning" else None
                    break
        return mutant
