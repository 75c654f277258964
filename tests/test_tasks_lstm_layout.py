"""Reading a student's weights as an LSTM: every layout the lab allows, in NumPy and in torch."""

from __future__ import annotations

import numpy as np
import torch

from grader.tasks.lstm.layout import output_layer, readings


def module(name: str, kind: str, params: list[str], **attributes: int) -> dict[str, object]:
    return {"name": name, "type": kind, "attributes": attributes, "parameters": params}


def test_per_gate_linears_stack_in_definition_order_with_their_biases() -> None:
    n, h = 3, 2
    rng = np.random.default_rng(1)
    gates = {g: (rng.normal(size=(h, n + h)), rng.normal(size=h)) for g in "ogif"}
    modules, params = [module("", "_charLSTM", [])], {}
    for g, (w, bias) in gates.items():
        modules.append(module(f"W_{g}", "Linear", [f"W_{g}.weight", f"W_{g}.bias"], in_features=n + h, out_features=h))
        params.update({f"W_{g}.weight": w, f"W_{g}.bias": bias})
    modules.append(module("fc", "Linear", ["fc.weight", "fc.bias"], in_features=h, out_features=n))
    params.update({"fc.weight": rng.normal(size=(n, h)), "fc.bias": rng.normal(size=n)})
    found = readings({"modules": modules, "parameters": params}, n, h)
    assert len(found) == 2  # cat((x, h)) and cat((h, x))
    weights = found[0].assemble(params)
    np.testing.assert_array_equal(weights["b"], np.concatenate([gates[g][1] for g in "ogif"]))
    np.testing.assert_array_equal(weights["Wx"], np.vstack([gates[g][0][:, :n] for g in "ogif"]))
    np.testing.assert_array_equal(found[1].assemble(params)["Wh"], np.vstack([gates[g][0][:, :h] for g in "ogif"]))


def test_two_layers_are_not_read_as_one() -> None:
    built = {"modules": [module("lstm", "LSTM", ["lstm.weight_ih_l0"], num_layers=2)],
             "parameters": {"lstm.weight_ih_l0": np.zeros((8, 3))}}
    assert readings(built, 3, 2) == []


def test_an_output_layer_wrapped_in_a_module_of_its_own_is_found() -> None:
    """A wrapper that says in_features and out_features but holds no parameter itself."""
    n, h = 3, 2
    modules = [module("", "_charLSTM", []), module("lstm", "LSTM", ["lstm.weight_ih_l0", "lstm.weight_hh_l0",
                                                                       "lstm.bias_ih_l0"], num_layers=1),
               module("out", "Readout", [], in_features=h, out_features=n),
               module("out.fc", "Linear", ["out.fc.weight", "out.fc.bias"], in_features=h, out_features=n)]
    params = {"lstm.weight_ih_l0": np.ones((4 * h, n)), "lstm.weight_hh_l0": np.ones((4 * h, h)),
              "lstm.bias_ih_l0": np.ones(4 * h), "out.fc.weight": np.ones((n, h)), "out.fc.bias": np.ones(n)}
    found = output_layer({"modules": modules, "parameters": params}, n, h)
    assert found is not None and found[1].name == "out.fc.weight"
    assert len(readings({"modules": modules, "parameters": params}, n, h)) == 1


def test_numpy_and_torch_assemble_the_same_weights() -> None:
    n, h = 3, 2
    rng = np.random.default_rng(2)
    params = {"gates.weight": rng.normal(size=(n + h, 4 * h)), "gates.bias": rng.normal(size=4 * h),
              "out.weight": rng.normal(size=(h, n))}  # stored transposed, as x @ W users do
    modules = [module("", "_charLSTM", ["gates.weight", "gates.bias", "out.weight"])]
    reading = readings({"modules": modules, "parameters": params}, n, h)[0]
    ours = reading.assemble(params)
    theirs = reading.assemble({k: torch.tensor(v) for k, v in params.items()}, cat=torch.cat)
    for k, v in ours.items():
        np.testing.assert_array_equal(v, theirs[k].numpy())
    np.testing.assert_array_equal(ours["Wy"], params["out.weight"].T)


def test_per_gate_parameters_used_on_the_right_are_read_both_ways() -> None:
    """x @ W_g + h @ U_g + b_g: W_g is (n, h), like the output layer's transpose; U_g is square."""
    n, h = 3, 2
    rng = np.random.default_rng(4)
    params = {}
    for g in "ifco":
        params.update({f"W_{g}": rng.normal(size=(n, h)), f"U_{g}": rng.normal(size=(h, h)),
                       f"b_{g}": rng.normal(size=h)})
    params.update({"V": rng.normal(size=(h, n)), "c": rng.normal(size=n)})
    structure = {"modules": [module("", "_charLSTM", list(params))], "parameters": params}
    found = output_layer(structure, n, h)
    assert found is not None and found[1].name == "V" and found[2] is not None and found[2].name == "c"
    wh = [r.assemble(params)["Wh"] for r in readings(structure, n, h)]
    expected = np.vstack([params[f"U_{g}"].T for g in "ifco"])
    assert any(np.array_equal(w, expected) for w in wh)


def test_row_and_column_biases_are_read_as_vectors() -> None:
    """b_g (1, h) per gate and an output bias (1, n), or one bias (4h, 1) and by (n, 1)."""
    n, h = 3, 2
    rng = np.random.default_rng(5)
    rows = {}
    for g in "ifgo":
        rows.update({f"W_{g}": rng.normal(size=(n, h)), f"U_{g}": rng.normal(size=(h, h)),
                     f"b_{g}": rng.normal(size=(1, h))})
    rows.update({"V": rng.normal(size=(h, n)), "c": rng.normal(size=(1, n))})
    columns = {"Wxh": rng.normal(size=(4 * h, n)), "Whh": rng.normal(size=(4 * h, h)),
               "bh": rng.normal(size=(4 * h, 1)), "Why": rng.normal(size=(n, h)), "by": rng.normal(size=(n, 1))}
    for params, bias, output_bias in ((rows, np.concatenate([rows[f"b_{g}"][0] for g in "ifgo"]), rows["c"][0]),
                                      (columns, columns["bh"][:, 0], columns["by"][:, 0])):
        structure = {"modules": [module("", "_charLSTM", list(params))], "parameters": params}
        weights = readings(structure, n, h)[0].assemble(params)
        np.testing.assert_array_equal(weights["b"], bias)
        np.testing.assert_array_equal(weights["by"], output_bias)
