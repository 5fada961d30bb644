"""Writes tests/fixtures/accountant/accountant.json: privacy accountant values from Opacus.

Run once (the committed JSON is what tests/test_accountant.c reads; the tests never need Python):

    bench/.venv/bin/python tests/make_accountant_fixtures.py

Opacus 1.6.0 is installed in bench/.venv with `pip install --no-deps opacus==1.6.0` (see
bench/setup_venv.sh). Its package __init__ imports the per-sample-gradient code, which needs
torch.func (PyTorch >= 2.0) and so fails on Debian's torch 1.13; the accountants themselves are
NumPy/SciPy only. So this script puts a bare `opacus` package (no __init__ run) and a stub
`opacus.optimizers` into sys.modules and imports only opacus.accountants: the code that
computes the numbers is Opacus's own, unchanged.

Every table is a list of rows of numbers (the layout is given beside each key) so that the C
test can read it with strtod.
"""
import importlib.util
import json
import math
import os
import sys
import time
import types
import warnings

spec = importlib.util.find_spec("opacus")
pkg = types.ModuleType("opacus")
pkg.__path__ = list(spec.submodule_search_locations)
sys.modules["opacus"] = pkg
stub = types.ModuleType("opacus.optimizers")
stub.DPOptimizer = object  # only used in a type annotation of IAccountant
sys.modules["opacus.optimizers"] = stub

from importlib.metadata import version  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from opacus.accountants import PRVAccountant, RDPAccountant  # noqa: E402
from opacus.accountants.analysis import rdp as rdp_analysis  # noqa: E402
from opacus.accountants.analysis.prv import compute_safe_domain_size  # noqa: E402
from opacus.accountants.analysis.prv import PoissonSubsampledGaussianPRV  # noqa: E402
from opacus.accountants.utils import get_noise_multiplier  # noqa: E402

warnings.simplefilter("ignore")  # "optimal order is the largest alpha" for tiny budgets

SIGMAS = [0.5, 0.8, 1.0, 1.5, 3.0, 10.0]
RATES = [0.001, 0.01, 0.1, 1.0]
STEPS = [1, 100, 10000]
DELTAS = [1e-5, 1e-6]
# PRV cases whose discretised domain has more points than this are left out: Opacus then
# needs minutes and gigabytes per value (lamina refuses them the same way, see
# LAM_PRV_MAX_POINTS).
PRV_MAX_POINTS = 1 << 21


def rdp_eps(sigma, q, steps, delta):
    acc = RDPAccountant()
    acc.history = [(sigma, q, steps)]
    eps, order = acc.get_privacy_spent(delta=delta)
    return float(eps), float(order)


def prv_domain_points(sigma, q, steps, delta, eps_error=0.01):
    """The size of the domain PRVAccountant._get_domain would build (before it builds it)."""
    delta_error = delta / 1000
    L = compute_safe_domain_size([PoissonSubsampledGaussianPRV(q, sigma)], [steps],
                                 eps_error=eps_error, delta_error=delta_error)
    mesh = eps_error / np.sqrt(steps * np.log(12 / delta_error) / 2)
    return int(2 * L / mesh) + 2


def prv_eps(history, delta):
    acc = PRVAccountant()
    acc.history = list(history)
    dprv = acc._get_dprv(eps_error=0.01, delta_error=delta / 1000)
    lower, estimate, upper = dprv.compute_epsilon(delta, delta / 1000, 0.01)
    assert upper == acc.get_epsilon(delta)
    return float(lower), float(estimate), float(upper), int(dprv.domain.size)


out = {
    "about": "Made by tests/make_accountant_fixtures.py with opacus %s, numpy %s, scipy %s; "
             "see tests/fixtures/accountant/README.md" % (version("opacus"), np.__version__,
                                                          scipy.__version__),
    "default_alphas": [float(a) for a in RDPAccountant.DEFAULT_ALPHAS],
}

rows = []
for sigma in SIGMAS:
    for q in RATES:
        for steps in STEPS:
            for delta in DELTAS:
                eps, order = rdp_eps(sigma, q, steps, delta)
                rows.append([sigma, q, steps, delta, eps, order])
out["rdp_grid_layout"] = "sigma, q, steps, delta, epsilon, optimal order"
out["rdp_grid"] = rows

# RDP per order (one step), to test the integer and the fractional series separately.
rows = []
for sigma, q in [(0.5, 0.01), (1.0, 0.1), (1.5, 0.04), (3.0, 0.001), (0.8, 0.5), (2.0, 1.0)]:
    rdp = rdp_analysis.compute_rdp(q=q, noise_multiplier=sigma, steps=1,
                                   orders=RDPAccountant.DEFAULT_ALPHAS)
    for alpha, r in zip(RDPAccountant.DEFAULT_ALPHAS, rdp):
        rows.append([sigma, q, float(alpha), float(r)])
out["rdp_orders_layout"] = "sigma, q, order, rdp of one step"
out["rdp_orders"] = rows

# Heterogeneous composition, Opacus's history list: (sigma, q, steps) entries.
hetero = [[(1.0, 0.01, 500), (2.0, 0.02, 300)], [(0.8, 0.001, 1000), (1.5, 0.1, 50), (1.0, 0.01, 20)]]
rows = []
for hist in hetero:
    for delta in DELTAS:
        acc = RDPAccountant()
        for s, q, n in hist:
            for _ in range(n):
                acc.step(noise_multiplier=s, sample_rate=q)
        eps, order = acc.get_privacy_spent(delta=delta)
        flat = [x for entry in hist for x in entry]
        rows.append([len(hist), delta, float(eps), float(order)] + flat)
out["rdp_hetero_layout"] = "entries, delta, epsilon, order, then sigma q steps per entry"
out["rdp_hetero"] = rows

# get_noise_multiplier (epsilon_tolerance 0.01): RDP over a small grid, PRV on a few.
rows = []
for eps_t in [1.0, 3.0, 8.0]:
    for q, steps in [(0.01, 1000), (0.04, 2000), (0.004, 15000)]:
        for delta in [1e-5]:
            s = get_noise_multiplier(target_epsilon=eps_t, target_delta=delta, sample_rate=q,
                                     steps=steps, accountant="rdp")
            rows.append([0, eps_t, delta, q, steps, float(s)])
for eps_t, q, steps in [(8.0, 0.04, 2000), (3.0, 0.01, 1000)]:
    s = get_noise_multiplier(target_epsilon=eps_t, target_delta=1e-5, sample_rate=q,
                             steps=steps, accountant="prv")
    rows.append([1, eps_t, 1e-5, q, steps, float(s)])
out["noise_layout"] = "accountant (0 rdp, 1 prv), target epsilon, delta, q, steps, sigma"
out["noise"] = rows

# PRV on the grid (eps_error 0.01, delta_error delta/1000: Opacus's get_epsilon defaults).
rows = []
skipped = 0
t0 = time.time()
for sigma in SIGMAS:
    for q in RATES:
        for steps in STEPS:
            for delta in DELTAS:
                if prv_domain_points(sigma, q, steps, delta) > PRV_MAX_POINTS:
                    skipped += 1
                    continue
                try:
                    lo, est, up, size = prv_eps([(sigma, q, steps)], delta)
                except (ValueError, RuntimeError) as e:
                    print("prv", sigma, q, steps, delta, "refused by Opacus:", e)
                    skipped += 1
                    continue
                rows.append([sigma, q, steps, delta, lo, est, up, size])
print("prv grid: %d values, %d left out, %.0f s" % (len(rows), skipped, time.time() - t0))
out["prv_grid_layout"] = "sigma, q, steps, delta, eps_lower, eps_estimate, eps_upper, points"
out["prv_grid"] = rows

rows = []
for hist in hetero:
    lo, est, up, size = prv_eps(hist, 1e-5)
    flat = [x for entry in hist for x in entry]
    rows.append([len(hist), 1e-5, lo, est, up] + flat)
out["prv_hetero_layout"] = "entries, delta, eps_lower, eps_estimate, eps_upper, then sigma q steps"
out["prv_hetero"] = rows

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "accountant",
                    "accountant.json")
with open(path, "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print("wrote", path)
