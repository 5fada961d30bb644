"""The classical peers on the same data as bench/bench_classic.c: scikit-learn's
DecisionTree (entropy, depth 10) and RandomForest (100 trees, entropy as Xiao et al.)
on Fashion-MNIST scaled to [0, 1], and libsvm's svm-train/svm-predict (RBF, C=10,
gamma = scale) on the first N training images. Prints one line per model: accuracy,
training seconds (wall and CPU), prediction microseconds per sample.

    bench/.venv/bin/pip install scikit-learn      # or Debian's python3-sklearn
    apt-get install libsvm-tools                  # for the svm-train line
    bench/.venv/bin/python bench/classic_peers.py [--svm-limit 10000] [--jobs 2]
"""
import argparse, os, resource, shutil, subprocess, sys, tempfile, time
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
import seed_common as sc


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def timed(fn):
    w, c = time.perf_counter(), cpu()
    out = fn()
    return out, time.perf_counter() - w, cpu() - c


def report(name, acc, wall, cpu_s, pred_s, n_pred):
    print(f"{name:34s} accuracy {acc:.4f}  train {wall:7.1f} s wall {cpu_s:7.1f} s CPU  "
          f"predict {pred_s / n_pred * 1e6:8.1f} us/sample", flush=True)


def write_libsvm(path, x, y):
    with open(path, "w") as f:
        for row, label in zip(x, y):
            nz = np.nonzero(row)[0]
            f.write(str(int(label)) + "".join(f" {i + 1}:{row[i]:.8g}" for i in nz) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--svm-limit", type=int, default=10000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--skip", default="", help="comma list of tree,forest,svm to skip")
    a = p.parse_args()
    skip = set(a.skip.split(","))
    xtr, ytr, xte, yte = sc.load_fashion(0)
    xtr = xtr.reshape(len(xtr), -1)
    xte = xte.reshape(len(xte), -1)
    if "tree" not in skip or "forest" not in skip:
        import sklearn
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.tree import DecisionTreeClassifier
        print(f"scikit-learn {sklearn.__version__}", flush=True)
    if "tree" not in skip:
        m = DecisionTreeClassifier(criterion="entropy", max_depth=10, random_state=0)
        _, w, c = timed(lambda: m.fit(xtr, ytr))
        t = time.perf_counter(); acc = (m.predict(xte) == yte).mean(); pt = time.perf_counter() - t
        report("sklearn tree entropy depth 10", acc, w, c, pt, len(xte))
    if "forest" not in skip:
        m = RandomForestClassifier(n_estimators=100, criterion="entropy", n_jobs=a.jobs,
                                   random_state=0)
        _, w, c = timed(lambda: m.fit(xtr, ytr))
        t = time.perf_counter(); acc = (m.predict(xte) == yte).mean(); pt = time.perf_counter() - t
        report(f"sklearn forest 100 entropy ({a.jobs} jobs)", acc, w, c, pt, len(xte))
    if "svm" not in skip and shutil.which("svm-train"):
        n = a.svm_limit
        gamma = 1.0 / (xtr.shape[1] * xtr[:n].var())
        d = tempfile.mkdtemp()
        write_libsvm(f"{d}/train", xtr[:n], ytr[:n])
        write_libsvm(f"{d}/test", xte, yte)
        _, w, c = timed(lambda: subprocess.run(
            ["svm-train", "-s", "0", "-t", "2", "-c", "10", "-g", repr(gamma), "-e", "0.001",
             "-m", "200", f"{d}/train", f"{d}/model"], check=True, stdout=subprocess.DEVNULL))
        t = time.perf_counter()
        subprocess.run(["svm-predict", f"{d}/test", f"{d}/model", f"{d}/out"], check=True,
                       stdout=subprocess.DEVNULL)
        pt = time.perf_counter() - t
        acc = (np.loadtxt(f"{d}/out") == yte).mean()
        report(f"libsvm RBF C=10 gamma=scale ({n})", acc, w, c, pt, len(xte))
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
