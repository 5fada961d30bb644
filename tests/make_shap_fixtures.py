"""Makes tests/fixtures/shap/: scikit-learn trees as lamina tree files and the
`shap` package's TreeExplainer values for them, which tests/test_tree_shap.c
compares lam_tree_shap / lam_forest_shap (and their interventional forms) with.

    /path/to/bench/.venv/bin/python tests/make_shap_fixtures.py

Needs numpy, scikit-learn and shap (bench/setup_venv.sh installs them). Run once;
the outputs are committed. The data: 8 of the 13 features of scikit-learn's wine
data set (178 samples, 3 classes), times 100 and rounded to integers, as float32
(the type scikit-learn's trees compare in). Integers keep every threshold (a
midpoint, k + 0.5) exactly representable in float32: shap 0.46's interventional
code compares in float32, and on the raw data a float64 threshold 3e-8 below a
float32 value (1.09 in malic_acid) rounds onto it, so shap sends that value left
where scikit-learn's predict_proba (and lamina) send it right, and its values
then differ from the exact Shapley values of the model by up to 0.017.

Outputs (safetensors in lamina's classic layout, see src/classic/classic_io.c):
  tree.safetensors    a DecisionTreeClassifier (random_state 0), lamina "tree"
  forest.safetensors  a RandomForestClassifier of 10 trees, lamina "forest"
  values.safetensors  model "shap_fixture": x (F32, n x d) the explained rows,
                      background (F32, nb x d), and for tree_ / forest_:
                      path (F64, n x d*k: sample, feature, class) from
                      feature_perturbation="tree_path_dependent" with
                      path_expected (F64, k), interventional (F64, n x d*k) from
                      feature_perturbation="interventional" on the background with
                      interventional_expected (F64, k).
"""
import json
import os
import struct

import numpy as np
import shap
import sklearn
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "shap")
FEATURES = 8
N_EXPLAIN = 20
N_BACKGROUND = 30

DTYPES = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("float64"): "F64"}


def save_safetensors(path, model, tensors, meta):
    """tensors: list of (name, array); meta: dict of strings."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "lamina-classic", "version": "1", "model": model, **meta}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def tree_arrays(est):
    """A fitted scikit-learn tree as lamina's arrays (leaves: feature -1)."""
    t = est.tree_
    leaf = t.children_left == -1
    value = t.value[:, 0, :].astype(np.float64)
    value = value / value.sum(axis=1, keepdims=True)  # class fractions
    return [
        ("feature", np.where(leaf, -1, t.feature).astype(np.int32)),
        ("threshold", t.threshold.astype(np.float64)),
        ("children_left", t.children_left.astype(np.int32)),
        ("children_right", t.children_right.astype(np.int32)),
        ("impurity", t.impurity.astype(np.float64)),
        ("weighted_n_node_samples", t.weighted_n_node_samples.astype(np.float64)),
        ("value", value),
    ]


def tree_meta(d, k):
    return {"n_features": str(d), "n_classes": str(k), "criterion": "gini", "max_depth": "0",
            "min_samples_split": "2", "min_samples_leaf": "1", "max_features": "0", "seed": "0"}


def per_class(values):
    """shap's multi-class output (a list per class, or n x d x k) as n x d x k."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    return np.asarray(values, dtype=np.float64)


def explain(model, x, bg):
    path = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    inter = shap.TreeExplainer(model, data=bg, feature_perturbation="interventional")
    p = per_class(path.shap_values(x, check_additivity=True))
    i = per_class(inter.shap_values(x, check_additivity=True))
    n, d, k = p.shape
    return {
        "path": p.reshape(n, d * k),
        "path_expected": np.asarray(path.expected_value, dtype=np.float64).reshape(k),
        "interventional": i.reshape(n, d * k),
        "interventional_expected": np.asarray(inter.expected_value, dtype=np.float64).reshape(k),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    data = load_wine()
    x = np.round(data.data[:, :FEATURES] * 100).astype(np.float32)
    y = data.target.astype(np.int32)
    k = int(y.max()) + 1
    rng = np.random.RandomState(0)
    order = rng.permutation(len(y))
    explain_rows = x[order[:N_EXPLAIN]]
    background = x[order[N_EXPLAIN:N_EXPLAIN + N_BACKGROUND]]

    tree = DecisionTreeClassifier(random_state=0).fit(x, y)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)

    save_safetensors(os.path.join(OUT, "tree.safetensors"), "tree", tree_arrays(tree),
                     tree_meta(FEATURES, k))
    # A forest file: every tree's arrays concatenated, child indices local to their tree.
    parts = [tree_arrays(e) for e in forest.estimators_]
    tensors = [("tree_nodes", np.array([len(p[0][1]) for p in parts], dtype=np.int32))]
    for j, (name, _) in enumerate(parts[0]):
        tensors.append((name, np.concatenate([p[j][1] for p in parts])))
    meta = tree_meta(FEATURES, k)
    meta.update({"n_trees": str(len(parts)), "bootstrap": "true", "max_features": "-1"})
    save_safetensors(os.path.join(OUT, "forest.safetensors"), "forest", tensors, meta)

    values = [("x", explain_rows), ("background", background)]
    for name, model in (("tree", tree), ("forest", forest)):
        for key, arr in explain(model, explain_rows, background).items():
            values.append((f"{name}_{key}", arr))
    save_safetensors(os.path.join(OUT, "values.safetensors"), "shap_fixture", values,
                     {"shap": shap.__version__, "sklearn": sklearn.__version__})
    print(f"wrote {OUT}: {tree.tree_.node_count} tree nodes, "
          f"{sum(e.tree_.node_count for e in forest.estimators_)} forest nodes, "
          f"shap {shap.__version__}, scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
