"""Multi-node patterns merged into one record before fusion (torch-free, any file format).

* **attention**: ``matmul(q, k) -> [scale by a constant, add a mask]* -> softmax -> matmul(., v)``,
  each intermediate read only by the next, becomes one ``attention`` record - the row the torch
  tracer gives a fused scaled-dot-product attention. A constant scale applied to ``q`` or ``k``
  before the first matmul (how torch.onnx exports SDPA) is absorbed too. MACs: the two matmuls'
  (``batch x Lq x Lk x (E + Ev)``), inputs: q, k, v (and a mask tensor, if any).
* **SiLU**: ``mul(x, sigmoid(x))`` becomes one ``silu`` activation, fusable into its producer.
* **GELU** (erf form, how torch.onnx exports ``nn.GELU`` below opset 20):
  ``mul(x, add(erf(div(x, c)), c)) [* c]`` becomes one ``gelu`` activation.
"""

from __future__ import annotations

from dataclasses import dataclass

from roofsweep.importers.common import NodeRecord, Tensor


@dataclass(frozen=True)
class OpNames:
    softmax: frozenset[str]
    scale: frozenset[str]  # elementwise multiply / divide
    add: frozenset[str]
    sigmoid: frozenset[str]
    mul: frozenset[str]
    erf: frozenset[str] = frozenset()


def _consumers(records: list[NodeRecord], dead: set[int] = frozenset()) -> list[int]:
    n = [0] * len(records)
    for r in records:
        if r.index in dead:
            continue
        for t in r.inputs:
            if t.producer >= 0:
                n[t.producer] += 1
    return n


def _scalar_scale(r: NodeRecord, names: OpNames) -> bool:
    return r.op in names.scale and len(r.inputs) == 1 and all(e <= 1 for e in r.params)


def _attention(records, consumers, names: OpNames, m2: NodeRecord, dead: set[int]) -> None:
    if m2.op_type != "matmul" or len(m2.inputs) != 2 or m2.inputs[0].producer < 0:
        return
    sm = records[m2.inputs[0].producer]
    if sm.op not in names.softmax or consumers[sm.index] != 1 or len(sm.inputs) != 1:
        return
    chain, extra, cur = [sm], [], sm.inputs[0]
    while cur.producer >= 0:
        r = records[cur.producer]
        if consumers[r.index] != 1:
            return
        if r.op_type == "matmul" and len(r.inputs) == 2:
            break
        if _scalar_scale(r, names):
            chain.append(r)
            cur = r.inputs[0]
        elif r.op in names.add and len(r.inputs) in (1, 2):  # a mask: constant or an activation
            chain.append(r)
            cur, extra = r.inputs[0], extra + r.inputs[1:]
        else:
            return
    else:
        return
    m1 = records[cur.producer]
    qk = []
    for t in m1.inputs:  # absorb a constant scale of q or k (q * sqrt(scale), k * sqrt(scale))
        if t.producer >= 0 and consumers[t.producer] == 1 and _scalar_scale(records[t.producer], names):
            chain.append(records[t.producer])
            t = records[t.producer].inputs[0]
        qk.append(t)
    members = sorted([m1, *chain], key=lambda r: r.index)
    for r in members:
        dead.add(r.index)
    m2.op = "+".join(r.op for r in members + [m2])
    m2.op_type, m2.group, m2.name = "attention", "compute", m1.name
    m2.macs = sum(r.macs for r in members) + m2.macs
    m2.names = [r.name for r in members + [m2] if r.name != m1.name]
    m2.inputs = [*qk, m2.inputs[1], *extra]
    m2.weight_elems += sum(r.weight_elems for r in members)


def _silu(records, consumers, names: OpNames, mul: NodeRecord, dead: set[int]) -> None:
    if mul.op not in names.mul or len(mul.inputs) != 2:
        return
    for a, b in ((0, 1), (1, 0)):
        s_idx = mul.inputs[b].producer
        if s_idx < 0 or consumers[s_idx] != 1:
            continue
        sig = records[s_idx]
        x = mul.inputs[a]
        if sig.op in names.sigmoid and len(sig.inputs) == 1 and sig.inputs[0].producer == x.producer \
                and sig.inputs[0].shape == x.shape and x.producer != s_idx:
            dead.add(s_idx)
            mul.op = f"{sig.op}+{mul.op}"
            mul.group, mul.op_type, mul.activation = "activation", "elementwise", "silu"
            mul.inputs = [x]
            mul.names = [sig.name]
            return


def _single(records, consumers, t: Tensor, ops: frozenset[str]) -> NodeRecord | None:
    """The record that made ``t`` if its op is in ``ops``, it has one input and one reader."""
    if t.producer < 0 or consumers[t.producer] != 1:
        return None
    r = records[t.producer]
    return r if r.op in ops and len(r.inputs) == 1 else None


def _gelu(records, consumers, names: OpNames, last: NodeRecord, dead: set[int]) -> None:
    if not names.erf or last.op not in names.mul:
        return
    tail = [last]
    mul = last
    if len(last.inputs) == 1:  # the trailing "* 0.5"
        p = last.inputs[0].producer
        if p < 0 or consumers[p] != 1 or records[p].op not in names.mul or not _scalar_like(last):
            return
        mul, tail = records[p], [records[p], last]
    if len(mul.inputs) != 2:
        return
    for a, b in ((0, 1), (1, 0)):
        x = mul.inputs[a]
        add = _single(records, consumers, mul.inputs[b], names.add)
        erf = add and _single(records, consumers, add.inputs[0], names.erf)
        div = erf and _single(records, consumers, erf.inputs[0], names.scale)
        if div and _scalar_like(add) and _scalar_like(div) and div.inputs[0].producer == x.producer \
                and div.inputs[0].shape == x.shape:
            members = [div, erf, add, *tail]
            for r in members[:-1]:
                dead.add(r.index)
            last.op = "+".join(r.op for r in members)
            last.group, last.op_type, last.activation = "activation", "elementwise", "gelu"
            last.inputs, last.params, last.weight_elems = [x], [], 0
            last.names = [r.name for r in members[:-1] if r.name != last.name]
            return


def _scalar_like(r: NodeRecord) -> bool:
    return all(e <= 1 for e in r.params)


def merge_patterns(records: list[NodeRecord], names: OpNames) -> list[NodeRecord]:
    """The records with attention and SiLU patterns merged; renumbered 0..n-1."""
    dead: set[int] = set()
    consumers = _consumers(records)
    for r in records:
        if r.index not in dead:
            _silu(records, consumers, names, r, dead)
    consumers = _consumers(records, dead)
    for r in reversed(records):  # a trailing "* 0.5" is met before the multiply it scales
        if r.index not in dead:
            _gelu(records, consumers, names, r, dead)
    consumers = _consumers(records, dead)
    for r in records:
        if r.index not in dead:
            _attention(records, consumers, names, r, dead)
    if not dead:
        return records
    new_index: dict[int, int] = {}
    out: list[NodeRecord] = []
    for r in records:
        if r.index in dead:
            continue
        new_index[r.index] = len(out)
        out.append(r)
    for r in out:
        r.index = new_index[r.index]
        r.inputs = [Tensor(new_index.get(t.producer, t.producer) if t.producer >= 0 else t.producer,
                           t.elems, t.shape, t.dtype) for t in r.inputs]
    return out
