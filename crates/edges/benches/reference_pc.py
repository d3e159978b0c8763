"""Reference for the edges benchmark: causal-learn's PC (fisherz) on the same
differenced data whyline analyses. Reads DIR/data.csv, DIR/truth.csv and
DIR/written.csv written by benches/edges.rs; prints one line of results.

Spirtes, Glymour & Scheines, Causation, Prediction, and Search (2000);
causal-learn: Zheng et al., JMLR 2024.
"""
import sys
import time

import numpy as np
from causallearn.search.ConstraintBased.PC import pc


def read_edges(path):
    out = set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                a, b = line.split(",")
                out.add((a, b))
    return out


def main(folder):
    with open(f"{folder}/data.csv") as f:
        names = f.readline().strip().split(",")
    data = np.loadtxt(f"{folder}/data.csv", delimiter=",", skiprows=1)
    truth = read_edges(f"{folder}/truth.csv")
    written = read_edges(f"{folder}/written.csv")
    hidden = truth - written
    start = time.time()
    cg = pc(data, alpha=0.05, indep_test="fisherz", show_progress=False)
    seconds = time.time() - start
    g = cg.G.graph
    proposed = set()
    n = len(names)
    for i in range(n):
        for j in range(n):
            # j -> i is g[i, j] == 1 and g[j, i] == -1; undirected: both -1.
            if g[i, j] == 1 and g[j, i] == -1:
                proposed.add((names[j], names[i]))
            elif i < j and g[i, j] == -1 and g[j, i] == -1:
                proposed.add((names[i], names[j]))
                proposed.add((names[j], names[i]))
    # Only edges the catalog does not already have count as suggestions.
    undirected_written = written | {(b, a) for a, b in written}
    new = {e for e in proposed if e not in undirected_written}
    true_new = {e for e in new if e in truth}
    found = {e for e in hidden if e in proposed}
    # An undirected edge was counted in both directions: count pairs once.
    pairs = {tuple(sorted(e)) for e in new}
    true_pairs = {tuple(sorted(e)) for e in true_new}
    precision = len(true_pairs) / max(len(pairs), 1)
    recall = len(found) / max(len(hidden), 1)
    print(f"causal-learn PC: suggested {len(pairs)} ({len(true_pairs)} true), recovered {len(found)}/{len(hidden)} hidden, precision {precision:.3f}, recall {recall:.3f}, {seconds:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1])
