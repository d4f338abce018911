"""
=====================================================
Discovering and naming novel classes along a lineage
=====================================================

Some classes (cell types, say) are known and have labeled samples; others are
*novel*: they only appear among the unlabeled samples. A lineage tree tells where
every class, novel ones included, sits relative to the others. Hierarchical
k-means (:class:`~skdeep.cluster.NovelClassKMeans`) parametrises one prototype per
leaf along the tree, so the clusters it finds come out with the *names* of the tree's
leaves; :class:`~skdeep.cluster.HierarchicalGMM` refines the novel components by EM.
KMeans and a Gaussian mixture find clusters too, but cannot name them.
"""

# %%
# A lineage tree with two novel leaves
# ------------------------------------
# :func:`~skdeep.datasets.make_hierarchical_blobs` draws a binary tree of depth 3;
# each node's centre is its parent's plus a Gaussian offset that shrinks with
# depth, so sibling cell types are close. Two leaves are novel (no labels), and
# half of the samples of the known leaves are labeled.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.mixture import GaussianMixture

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.datasets import make_hierarchical_blobs
from skdeep.metrics import (
    cluster_accuracy,
    direct_label_accuracy,
    hierarchical_naming_scores,
)
from skdeep.utils import unlabeled_mask

X, y, y_true, tree, novel = make_hierarchical_blobs(
    n_samples=2000, n_features=10, depth=3, n_novel=2, shrink=0.4, random_state=3
)
unlabeled = unlabeled_mask(y)
print(f"novel leaves: {novel}; {unlabeled.mean():.0%} of the samples unlabeled")


def draw_tree(ax, tree, novel):
    """Leaves on a line, each internal node above the mean of its children."""
    children = {}
    for child, parent in tree.items():
        children.setdefault(parent, []).append(child)
    root = next(p for p in children if p not in tree)
    pos, leaves = {}, []

    def place(node, depth):
        if node not in children:
            pos[node] = (len(leaves), -depth)
            leaves.append(node)
        else:
            for child in children[node]:
                place(child, depth + 1)
            xs = [pos[c][0] for c in children[node]]
            pos[node] = (np.mean(xs), -depth)

    place(root, 0)
    for child, parent in tree.items():
        (x0, y0), (x1, y1) = pos[parent], pos[child]
        ax.plot([x0, x1], [y0, y1], color="0.6", zorder=1)
    for leaf in leaves:
        colour = "tab:red" if leaf in novel else "tab:blue"
        ax.scatter(*pos[leaf], s=80, color=colour, zorder=2)
        ax.annotate(leaf, pos[leaf], xytext=(0, -14), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.scatter(*pos[root], s=40, color="0.3", zorder=2)
    ax.set_axis_off()
    ax.set_title("lineage tree (red: novel leaves)")


fig, ax = plt.subplots(figsize=(7, 2.8))
draw_tree(ax, tree, novel)
plt.tight_layout()

# %%
# Fit, and compare with KMeans and a Gaussian mixture
# ---------------------------------------------------
# The tree goes in as a ``{child: parent}`` mapping; ``y`` holds leaf names and
# ``-1`` for unlabeled samples. We score the unlabeled samples: the Hungarian
# accuracy matches clusters to classes first, the direct accuracy compares names.
hkm = NovelClassKMeans(tree, random_state=0).fit(X, y)
hgmm = HierarchicalGMM(tree, random_state=0).fit(X, y)
km = KMeans(n_clusters=8, n_init=10, random_state=0).fit(X)
gm = GaussianMixture(n_components=8, covariance_type="diag", n_init=3,
                     random_state=0).fit(X)
predictions = {
    "KMeans": km.labels_,
    "GaussianMixture": gm.predict(X),
    "NovelClassKMeans": hkm.labels_,
    "HierarchicalGMM": hgmm.labels_,
}
print(f"{'method':<18} {'hungarian':>9} {'direct':>7} {'novel':>6}")
for name, pred in predictions.items():
    named = name in ("NovelClassKMeans", "HierarchicalGMM")
    hung = cluster_accuracy(y_true[unlabeled], pred[unlabeled])
    # only the hierarchical models name their clusters: KMeans and the mixture
    # return cluster indices, which have no direct accuracy
    direct_s = nov_s = "-"
    if named:
        direct = direct_label_accuracy(y_true[unlabeled], pred[unlabeled])
        nov = direct_label_accuracy(y_true, pred, labels=novel)
        direct_s, nov_s = f"{direct:.3f}", f"{nov:.3f}"
    print(f"{name:<18} {hung:>9.3f} {direct_s:>7} {nov_s:>6}")

# %%
# A 2-D view coloured by leaf names
# ---------------------------------
# We zoom on the branch of the tree that holds the novel leaves (here both are
# under ``c1``): its unlabeled samples, projected on the two discriminant axes
# that best separate its true leaves (linear discriminant analysis on the true
# labels, for display only), coloured by their true leaf, by the leaves the two
# methods name, and by KMeans' anonymous clusters. Crosses mark the prototypes of
# the novel leaves.
branch = novel[0].split(".")[0]
in_branch = np.array([leaf.split(".")[0] == branch for leaf in y_true])
view = LinearDiscriminantAnalysis(n_components=2).fit(X[in_branch],
                                                      y_true[in_branch])
shown = unlabeled & in_branch
Zu = view.transform(X[shown])
leaves = list(hkm.classes_)
colour = {leaf: plt.cm.tab10(k) for k, leaf in enumerate(leaves)}

fig, axes = plt.subplots(2, 2, figsize=(10, 8.5), sharex=True, sharey=True)
axes = axes.ravel()
panels = [
    ("true leaves", y_true[shown], None),
    ("NovelClassKMeans (names)", hkm.labels_[shown], hkm.cluster_centers_),
    ("HierarchicalGMM (names)", hgmm.labels_[shown], hgmm.means_),
]
for ax, (title, labels, centres) in zip(axes, panels):
    ax.scatter(*Zu.T, s=4, c=[colour[v] for v in labels])  # names from the tree
    ax.set_title(title)
    if centres is not None:
        for leaf in novel:
            point = view.transform(centres[[leaves.index(leaf)]])[0]
            ax.scatter(*point, marker="X", s=150, color=colour[leaf], edgecolor="k")
axes[3].scatter(*Zu.T, s=4, c=km.labels_[shown], cmap="tab10", vmin=0, vmax=9)
axes[3].set_title("KMeans (anonymous clusters)")
handles = [plt.Line2D([], [], marker="o", ls="", color=colour[leaf],
                      label=leaf + (" (novel)" if leaf in novel else ""))
           for leaf in leaves if leaf.split(".")[0] == branch]
axes[0].legend(handles=handles, fontsize=7, loc="best")
for ax in axes[2:]:
    ax.set_xlabel("discriminant axis 1")
for ax in axes[::2]:
    ax.set_ylabel("discriminant axis 2")
plt.tight_layout()

# %%
# Posterior probabilities of the mixture
# --------------------------------------
# :class:`~skdeep.cluster.HierarchicalGMM` gives each sample a probability for
# every leaf; here the mean probability of each leaf among the samples of each
# true leaf (unlabeled samples only). A diagonal close to one means the novel
# classes were found *and* named.
proba = hgmm.predict_proba(X[unlabeled])
table = np.array([proba[y_true[unlabeled] == leaf].mean(0) for leaf in leaves])
fig, ax = plt.subplots(figsize=(5.5, 4.5))
im = ax.imshow(table, vmin=0, vmax=1, cmap="Blues")
ax.set_xticks(range(len(leaves)), leaves, rotation=90, fontsize=8)
ax.set_yticks(range(len(leaves)), leaves, fontsize=8)
ax.set_xlabel("predicted leaf")
ax.set_ylabel("true leaf")
fig.colorbar(im, ax=ax, label="mean posterior probability")
plt.tight_layout()

# %%
# When the data hold fewer novel classes than the tree, and siblings
# ------------------------------------------------------------------
# The number of novel classes is rarely known. Here the tree gets two more
# novel leaves that the data do not hold; with ``n_novel_classes="auto"`` the
# fit keeps the novel clusters that pass the novelty test (a sample is novel
# only where it beats the known leaves by more than the labeled samples do)
# and removes clusters, the model refitted after each removal, while a
# BIC-type criterion decreases: here it keeps the two novel classes.
# :meth:`~skdeep.cluster.NovelClassKMeans.predict_node` names each novel
# cluster by its leaf when the tree tells it apart from the other novel
# leaves, by the ancestor below which it sits otherwise: an absent sibling of
# a novel leaf shares its prior, so their parent is named. The cluster of
# c1.0.1 is named "novel, below c1.0", which holds the truth (the
# ``ancestor`` score), while the leaf naming drops.
absent = {"absent.0": novel[0].rsplit(".", 1)[0], "absent.1": "root"}
auto = NovelClassKMeans({**tree, **absent}, n_novel_classes="auto",
                        random_state=0).fit(X, y)
print("novel leaves in the tree:", auto.novel_classes_.tolist())
print("novel classes kept:", auto.discovered_classes_.tolist())
names = dict(zip(auto.classes_.tolist(), auto.class_nodes_.tolist()))
print("their names:", {leaf: names[leaf] for leaf in auto.discovered_classes_})
scores = hierarchical_naming_scores(
    y_true[unlabeled], auto.node_labels_[unlabeled], {**tree, **absent},
    novel=[*novel, *absent])
print({key: round(value, 3) for key, value in scores.items()})
plt.show()
