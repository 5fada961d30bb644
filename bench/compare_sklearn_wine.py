"""`lamina compare` on scikit-learn's wine data (178 samples, 13 features of very
different scales, 3 classes) without and with --standardize, against scikit-learn on
exactly the same split, without and with StandardScaler (fitted on the training rows).

The CSV is written in a shuffled order (numpy default_rng(0)): load_wine() lists the
samples by class, and lamina's split of a CSV is its last 20% (here 35 rows) as the test
set, which on the unshuffled file would be class 2 only. scikit-learn gets the same rows:
the first 143 to train, the last 35 to test.

Models and their scikit-learn counterparts (library defaults on both sides):
  svm     SVC(C=1, kernel="rbf", gamma="scale")
  linear  LinearSVC (squared hinge, C=1; lamina's tolerance is LIBLINEAR's 0.1,
          scikit-learn's 1e-4)
  tree    DecisionTreeClassifier(random_state=0)
  forest  RandomForestClassifier(n_estimators=100, random_state=0)

    bench/.venv/bin/python bench/compare_sklearn_wine.py [--lamina build/lamina]
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ["svm", "linear", "tree", "forest"]


def write_csv(path, x, y, names):
    with open(path, "w") as f:
        f.write("label," + ",".join(n.replace("/", "_") for n in names) + "\n")
        for row, label in zip(x, y):
            f.write(str(int(label)) + "," + ",".join(repr(float(v)) for v in row) + "\n")


def lamina(exe, csv, scale):
    cmd = [exe, "compare", "--data", csv, "--models", ",".join(MODELS), "--json"] + scale
    out = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout)
    return {m["model"]: m["accuracy"] for m in out["models"]}, out["train_samples"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lamina", default=os.path.join(HERE, "..", "build", "lamina"))
    p.add_argument("--csv", help="also keep the shuffled CSV here")
    a = p.parse_args()
    import sklearn
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier
    data = load_wine()
    order = np.random.default_rng(0).permutation(len(data.target))
    x, y = data.data[order], data.target[order]
    csv = a.csv or os.path.join(tempfile.mkdtemp(), "wine.csv")
    write_csv(csv, x, y, data.feature_names)
    n = len(y)
    ntr = n - n // 5  # lamina's hold-out: the last 20%
    # lamina reads the CSV as float32: give scikit-learn the same values.
    x = x.astype(np.float32)
    xtr, ytr, xte, yte = x[:ntr], y[:ntr], x[ntr:], y[ntr:]
    peers = {
        "svm": lambda: SVC(),
        "linear": lambda: LinearSVC(),
        "tree": lambda: DecisionTreeClassifier(random_state=0),
        "forest": lambda: RandomForestClassifier(random_state=0),
    }
    plain, got = lamina(a.lamina, csv, [])
    assert got == ntr, f"lamina trained on {got} rows, expected {ntr}"
    scaled, _ = lamina(a.lamina, csv, ["--standardize"])
    minmax, _ = lamina(a.lamina, csv, ["--minmax"])
    print(f"wine: {ntr} training rows, {n - ntr} test rows (the CSV's last 20%), "
          f"scikit-learn {sklearn.__version__}")
    print(f"  $ lamina compare --data {os.path.basename(csv)} --models {','.join(MODELS)} "
          "[--standardize | --minmax]")
    print(f"{'model':8s} {'lamina':>8s} {'sklearn':>8s} {'lamina --standardize':>21s} "
          f"{'sklearn StandardScaler':>23s} {'lamina --minmax':>16s}")
    for name in MODELS:
        sk = (peers[name]().fit(xtr, ytr).predict(xte) == yte).mean()
        sks = (make_pipeline(StandardScaler(), peers[name]()).fit(xtr, ytr).predict(xte) ==
               yte).mean()
        print(f"{name:8s} {plain[name]:8.4f} {sk:8.4f} {scaled[name]:21.4f} {sks:23.4f} "
              f"{minmax[name]:16.4f}")


if __name__ == "__main__":
    main()
