"""Reading a student's model parameters as one LSTM layer and an output layer, whatever their layout.

A model arrives as a snapshot: its modules (type, size attributes, own parameter names) and
its parameters (name -> array). A `Reading` says which parameters, oriented and sliced how,
stack into the gate weights Wx (4h, n), Wh (4h, h), the bias b (4h,), and the output layer
Wy (n, h), by (n,). It assembles NumPy arrays (to compare values) or torch tensors (to
differentiate the reference with respect to each of the student's own parameters).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from grader.context import reference

GATE_ORDERS = ["".join(p) for p in itertools.permutations("ifgo")]
Structure = Mapping[str, Any]
"""{"modules": [{"name", "type", "attributes", "parameters"}], "parameters": {name: array}}"""


@dataclass(frozen=True)
class Piece:
    """One student parameter as it enters a stacked matrix: maybe transposed, maybe a column slice."""

    name: str
    transpose: bool = False
    columns: tuple[int, int] | None = None
    flat: bool = False
    """A bias kept as a column (k, 1) or a row (1, k), read as a vector (k,)."""

    def take(self, values: Mapping[str, Any]) -> Any:
        value = values[self.name]
        if self.flat:
            return value.reshape(-1)
        value = value.T if self.transpose else value
        return value[:, self.columns[0]:self.columns[1]] if self.columns else value


@dataclass(frozen=True)
class Reading:
    """One way to read a model's parameters as an LSTM layer and a linear output layer."""

    wx: tuple[Piece, ...]
    wh: tuple[Piece, ...]
    biases: tuple[tuple[Piece, ...], ...]
    """Bias groups, summed; each group is one (4h,) vector or four per-gate (h,) ones in order."""
    wy: Piece
    by: Piece | None

    @property
    def names(self) -> set[str]:
        pieces = [*self.wx, *self.wh, *itertools.chain(*self.biases), self.wy, *([self.by] if self.by else [])]
        return {p.name for p in pieces}

    def assemble(self, values: Mapping[str, Any], cat: Callable[[list[Any]], Any] = np.concatenate
                 ) -> dict[str, Any]:
        """Wx, Wh, b, Wy, by from `values` (NumPy arrays, or torch tensors with cat=torch.cat)."""
        wx = cat([p.take(values) for p in self.wx])
        b = wx[:, 0] * 0
        for group in self.biases:
            b = b + cat([p.take(values) for p in group])
        wy = self.wy.take(values)
        by = self.by.take(values) if self.by else wy[:, 0] * 0
        return {"Wx": wx, "Wh": cat([p.take(values) for p in self.wh]), "b": b, "Wy": wy, "by": by}


def run(weights: Mapping[str, Any], x: Any, h0: Any, c0: Any, order: str, lib: Any = np) -> dict[str, Any]:
    """The reference LSTM and output layer over x (T, n) from (h0, c0) (h,): scores, last h and c."""
    states, c = reference("lstm_cell").forward(x, h0, c0, weights["Wx"], weights["Wh"], weights["b"], order, lib)
    return {"output": states @ weights["Wy"].T + weights["by"], "h": states[-1], "c": c}


def output_layer(structure: Structure, n: int, h: int) -> tuple[set[str], Piece, Piece | None] | None:
    """The linear layer from h units to n scores: the names it uses, its weight and its bias."""
    params = structure["parameters"]
    for m in structure["modules"]:
        a, own = m["attributes"], m["parameters"]
        if a.get("in_features") == h and a.get("out_features") == n and own and params[own[0]].shape == (n, h):
            bias = _vector(own[1], params) if len(own) > 1 and _length(params[own[1]].shape) == n else None
            return {p.name for p in (Piece(own[0]), bias) if p}, Piece(own[0]), bias
    weights = [k for k, v in params.items() if v.shape in ((n, h), (h, n))]
    if len(weights) > 1:  # per-gate input weights (h, n) or (n, h) come four alike; the output layer alone
        weights = [k for k in weights if sum(v.shape == params[k].shape for v in params.values()) == 1]
    biases = [k for k, v in params.items() if _length(v.shape) == n]
    if len(weights) == 1 and len(biases) <= 1:
        weight = Piece(weights[0], transpose=params[weights[0]].shape != (n, h))
        bias = _vector(biases[0], params) if biases else None
        return {weights[0], *biases}, weight, bias
    return None


def readings(structure: Structure, n: int, h: int) -> list[Reading]:
    """Every reading of the parameters as one LSTM layer; gate blocks stack in definition order."""
    found = output_layer(structure, n, h)
    if found is None:
        return []
    used, wy, by = found
    params = structure["parameters"]
    weights: dict[str, list[Piece]] = {"x": [], "h": [], "xh": []}
    biases: dict[str, list[Piece]] = {"x": [], "h": [], "xh": [], "": []}
    defined: list[Piece] = []  # the hand-written biases, in definition order
    lstm_biases: list[Piece] = []  # those of nn.LSTM and nn.LSTMCell
    for m in structure["modules"]:
        own = [p for p in m["parameters"] if p not in used]
        if m["type"] in ("LSTM", "LSTMCell") and own:
            if m["attributes"].get("num_layers", 1) != 1:
                return []
            for name in own:
                role = "x" if "weight_ih" in name else "h" if "weight_hh" in name else ""
                (weights[role] if role else lstm_biases).append(Piece(name))
            continue
        role = ""
        for name in own:  # a bias belongs with the weight defined just before it
            shape = params[name].shape
            if _length(shape) in (h, 4 * h):
                biases[role].append(_vector(name, params))
                defined.append(biases[role][-1])
            elif len(shape) == 2 and (filed := _oriented(shape, n, h)):
                role = filed[0]
                weights[role].append(Piece(name, transpose=filed[1]))
    groups = _bias_groups([lstm_biases, *biases.values()], params, h)
    if groups is None:  # per-gate biases defined before their weights: take them in definition order
        groups = _bias_groups([lstm_biases, defined], params, h)
    if groups is None:
        return []
    stacks: list[tuple[list[Piece], list[Piece]]] = []
    if weights["x"] and weights["h"] and not weights["xh"]:
        stacks.append((weights["x"], weights["h"]))
    elif weights["xh"] and not weights["x"] and not weights["h"]:
        for x_cols, h_cols in (((0, n), (n, n + h)), ((h, h + n), (0, h))):  # cat((x, h)) or cat((h, x))
            stacks.append(([_cut(p, x_cols) for p in weights["xh"]], [_cut(p, h_cols) for p in weights["xh"]]))
    stacks += [(wx, [_flipped(p) for p in wh]) for wx, wh in stacks if any(_square(p, params) for p in wh)]
    found_readings = [Reading(tuple(wx), tuple(wh), groups, wy, by) for wx, wh in stacks]
    return [r for r in found_readings if _shapes_fit(r, params, n, h)]


def match(found: Sequence[Reading], parameters: Mapping[str, np.ndarray], x: np.ndarray, h0: np.ndarray,
          c0: np.ndarray, got: Mapping[str, np.ndarray], rtol: float, atol: float,
          then: Callable[[dict[str, Any]], dict[str, Any]] = dict,
          prefer: tuple[int, str] | None = None) -> tuple[Reading, str] | None:
    """The reading and gate order whose reference LSTM gives what the student's forward gave (or,
    with `then`, a mutant that changes the reference's values afterwards). `prefer` (a reading's
    index and an order, say the ones that matched the last input) is tried first."""
    candidates = list(itertools.product(found, GATE_ORDERS))
    if prefer is not None and prefer[0] < len(found):
        candidates.insert(0, (found[prefer[0]], prefer[1]))
    for reading, order in candidates:
        expected = then(run(reading.assemble(parameters), x, h0, c0, order))
        if all(np.size(got[k]) == np.size(expected[k])
               and np.allclose(np.reshape(got[k], np.shape(expected[k])), expected[k], rtol=rtol, atol=atol)
               for k in ("output", "h", "c") if k in got):
            return reading, order
    return None


def _length(shape: tuple[int, ...]) -> int | None:
    """The length of a vector (k,), or of a column (k, 1) or a row (1, k); None for anything else."""
    if len(shape) == 1:
        return shape[0]
    if len(shape) == 2 and 1 in shape:
        return shape[0] * shape[1]
    return None


def _vector(name: str, params: Mapping[str, np.ndarray]) -> Piece:
    return Piece(name, flat=len(params[name].shape) == 2)


def _square(piece: Piece, params: Mapping[str, np.ndarray]) -> bool:
    return len(set(params[piece.name].shape)) == 1


def _flipped(piece: Piece) -> Piece:
    """A square (h, h) weight read the other way round: h @ U rather than U @ h."""
    return Piece(piece.name, not piece.transpose, piece.columns) if piece.columns is None else piece


def _cut(piece: Piece, columns: tuple[int, int]) -> Piece:
    return Piece(piece.name, piece.transpose, columns)


def _oriented(shape: tuple[int, ...], n: int, h: int) -> tuple[str, bool] | None:
    """A gate weight's role (input x, state h, or both) and whether it is stored transposed."""
    roles = {n: "x", h: "h", n + h: "xh"}
    rows, cols = shape
    if rows in (h, 4 * h) and cols in roles:
        return roles[cols], False
    if cols in (h, 4 * h) and rows in roles:
        return roles[rows], True
    return None


def _bias_groups(biases: list[list[Piece]], params: Mapping[str, np.ndarray], h: int
                 ) -> tuple[tuple[Piece, ...], ...] | None:
    """Whole (4h,) bias vectors, and per-gate (h,) ones stacked four at a time like their weights."""
    groups: list[tuple[Piece, ...]] = []
    for parts in biases:
        gates = [p for p in parts if _length(params[p.name].shape) == h]
        whole = [p for p in parts if p not in gates]
        if len(gates) % 4:
            return None
        groups += [(p,) for p in whole]
        groups += [tuple(gates[k:k + 4]) for k in range(0, len(gates), 4)]
    return tuple(groups)


def _shapes_fit(reading: Reading, params: Mapping[str, np.ndarray], n: int, h: int) -> bool:
    zeros = {k: np.zeros(v.shape) for k, v in params.items()}
    try:
        w = reading.assemble(zeros)
    except ValueError:
        return False
    return bool(w["Wx"].shape == (4 * h, n) and w["Wh"].shape == (4 * h, h) and w["b"].shape == (4 * h,))
