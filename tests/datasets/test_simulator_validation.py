"""Bad arguments of the simulators raise errors that name the argument."""

import copy
import time

import numpy as np
import pytest

from skdeep.datasets import (
    make_cdl_signals,
    make_driven_events,
    make_hierarchical_blobs,
    make_multiomics,
)
from skdeep.datasets._hierarchical_blobs import MAX_TREE_NODES

SMALL = {
    make_hierarchical_blobs: dict(n_samples=60, n_features=3, depth=2),
    make_driven_events: dict(end_time=50.0),
    make_cdl_signals: dict(n_trials=2, n_channels=2, n_times=100, n_times_atom=10),
    make_multiomics: dict(n_samples=60, n_features=(5, 4)),
}

# (simulator, bad keyword arguments, exception, regex on the argument's name)
BAD_INPUTS = [
    # make_hierarchical_blobs
    (make_hierarchical_blobs, dict(depth=12, branching=4), ValueError,
     "depth=12 and branching=4 .*MAX_TREE_NODES"),
    (make_hierarchical_blobs, dict(depth=10**9), ValueError, "depth=.*MAX_TREE_NODES"),
    (make_hierarchical_blobs, dict(n_samples=10**9), ValueError,
     "n_samples \\* n_features .*cap"),
    (make_hierarchical_blobs, dict(depth=15, n_features=10**4), ValueError,
     "n_tree_nodes \\* n_features"),
    (make_hierarchical_blobs, dict(n_samples=2.5), ValueError, "'n_samples'"),
    (make_hierarchical_blobs, dict(n_samples=-1), ValueError, "'n_samples'"),
    (make_hierarchical_blobs, dict(n_features="3"), ValueError, "'n_features'"),
    (make_hierarchical_blobs, dict(depth=0), ValueError, "'depth'"),
    (make_hierarchical_blobs, dict(branching=1), ValueError, "'branching'"),
    (make_hierarchical_blobs, dict(n_novel=-1), ValueError, "'n_novel'"),
    (make_hierarchical_blobs, dict(n_novel=4), ValueError, "n_novel=4"),
    (make_hierarchical_blobs, dict(scale=np.nan), ValueError, "'scale'"),
    (make_hierarchical_blobs, dict(scale=np.inf), ValueError, "'scale'"),
    (make_hierarchical_blobs, dict(shrink=0.0), ValueError, "'shrink'"),
    (make_hierarchical_blobs, dict(cluster_std=-1.0), ValueError, "'cluster_std'"),
    (make_hierarchical_blobs, dict(cluster_std=np.nan), ValueError, "'cluster_std'"),
    (make_hierarchical_blobs, dict(labeled_fraction=1.5), ValueError,
     "'labeled_fraction'"),
    (make_hierarchical_blobs, dict(labeled_fraction=np.nan), ValueError,
     "'labeled_fraction'"),
    (make_hierarchical_blobs, dict(imbalance=0.5), ValueError, "'imbalance'"),
    (make_hierarchical_blobs, dict(tail_df=2.0), ValueError, "'tail_df'"),
    (make_hierarchical_blobs, dict(hierarchy="a"), ValueError, "'hierarchy'"),
    (make_hierarchical_blobs, dict(random_state="a"), ValueError, "'random_state'"),
    # make_driven_events
    (make_driven_events, dict(n_realisations=0), ValueError, "'n_realisations'"),
    (make_driven_events, dict(n_drivers=1.5), ValueError, "'n_drivers'"),
    (make_driven_events, dict(end_time=np.nan), ValueError, "'end_time'"),
    (make_driven_events, dict(end_time=np.inf), ValueError, "'end_time'"),
    (make_driven_events, dict(end_time=-1.0), ValueError, "'end_time'"),
    (make_driven_events, dict(end_time=1e12), ValueError, "end_time=1e\\+12 .*cap"),
    (make_driven_events, dict(isi=(1e-300, 1.0)), ValueError, "isi\\[0\\]=1e-300"),
    (make_driven_events, dict(baseline=-0.1), ValueError, "'baseline'"),
    (make_driven_events, dict(baseline=np.nan), ValueError, "'baseline'"),
    (make_driven_events, dict(alpha=np.nan), ValueError, "alpha must be finite"),
    (make_driven_events, dict(alpha="a"), ValueError, "'alpha'"),
    (make_driven_events, dict(alpha=[1.0, 2.0, 3.0]), ValueError,
     "alpha must be a float or one value per driver"),
    (make_driven_events, dict(alpha=-5.0), ValueError, "alpha: the inhibitory"),
    (make_driven_events, dict(kernel_mean=[np.inf, 0.1]), ValueError,
     "kernel_mean must be finite"),
    (make_driven_events, dict(kernel_std=0.0), ValueError, "kernel_std must be pos"),
    (make_driven_events, dict(kernel_std=[0.1, np.nan]), ValueError,
     "kernel_std must be finite"),
    (make_driven_events, dict(lower=0.8), ValueError, "lower and upper"),
    (make_driven_events, dict(lower=-0.1), ValueError, "'lower'"),
    (make_driven_events, dict(upper=np.nan), ValueError, "'upper'"),
    (make_driven_events, dict(isi=(1.0, 0.5)), ValueError, "isi must be a range"),
    (make_driven_events, dict(isi=(1.0, 2.0, 3.0)), ValueError, "isi must be"),
    (make_driven_events, dict(isi=("a", "b")), ValueError, "isi must be an array"),
    (make_driven_events, dict(isi=(np.nan, 1.0)), ValueError, "isi must be finite"),
    (make_driven_events, dict(kept_fraction=0.0), ValueError, "'kept_fraction'"),
    (make_driven_events, dict(kept_fraction=1.5), ValueError, "'kept_fraction'"),
    (make_driven_events, dict(kept_fraction=np.nan), ValueError, "'kept_fraction'"),
    (make_driven_events, dict(random_state=-1), ValueError, "'random_state'"),
    # make_cdl_signals
    (make_cdl_signals, dict(n_trials=2.0), ValueError, "'n_trials'"),
    (make_cdl_signals, dict(n_channels=-1), ValueError, "'n_channels'"),
    (make_cdl_signals, dict(n_times="100"), ValueError, "'n_times'"),
    (make_cdl_signals, dict(n_atoms=0), ValueError, "'n_atoms'"),
    (make_cdl_signals, dict(n_times_atom=200), ValueError, "n_times_atom=200"),
    (make_cdl_signals, dict(n_events=0), ValueError, "'n_events'"),
    (make_cdl_signals, dict(n_events=1000), ValueError, "n_events=1000"),
    (make_cdl_signals, dict(noise_level=np.nan), ValueError, "'noise_level'"),
    (make_cdl_signals, dict(noise_level=np.inf), ValueError, "'noise_level'"),
    (make_cdl_signals, dict(noise_level=-0.1), ValueError, "'noise_level'"),
    (make_cdl_signals, dict(atom_shapes=[1, 2, 3]), TypeError, "atom_shapes must"),
    (make_cdl_signals, dict(atom_shapes="wave"), ValueError, "'atom_shapes'"),
    (make_cdl_signals, dict(atom_shapes=["sin"]), ValueError, "atom_shapes must"),
    (make_cdl_signals, dict(n_trials=10**6), ValueError, "n_trials \\* .*cap"),
    (make_cdl_signals, dict(random_state=1.5), ValueError, "'random_state'"),
    # make_multiomics
    (make_multiomics, dict(n_samples=1.5), ValueError, "'n_samples'"),
    (make_multiomics, dict(n_samples=0), ValueError, "'n_samples'"),
    (make_multiomics, dict(n_features=(10, 2.5)), TypeError, "n_features must"),
    (make_multiomics, dict(n_features=(10, -1)), ValueError, "n_features must"),
    (make_multiomics, dict(n_features=[[1, 2], [3]]), TypeError, "n_features must"),
    (make_multiomics, dict(n_features="ab"), ValueError, "'n_features'"),
    (make_multiomics, dict(n_classes=1), ValueError, "'n_classes'"),
    (make_multiomics, dict(n_latent=0), ValueError, "'n_latent'"),
    (make_multiomics, dict(noise=np.nan), ValueError, "'noise'"),
    (make_multiomics, dict(noise=np.inf), ValueError, "'noise'"),
    (make_multiomics, dict(class_separation=-1.0), ValueError, "'class_separation'"),
    (make_multiomics, dict(noise_models=["x", "count"]), ValueError, "noise_models"),
    (make_multiomics, dict(noise_models="x"), ValueError, "'noise_models'"),
    (make_multiomics, dict(labeled_fraction=1.5), ValueError, "'labeled_fraction'"),
    (make_multiomics, dict(labeled_fraction=[0.1, np.nan]), ValueError,
     "labeled_fraction must be finite"),
    (make_multiomics, dict(labeled_fraction=[0.1, -0.5]), ValueError,
     "labeled_fraction must be in"),
    (make_multiomics, dict(labeled_fraction=[0.1, "a"]), ValueError,
     "labeled_fraction must be an array"),
    (make_multiomics, dict(labeled_fraction=[0.1]), ValueError,
     "labeled_fraction must be a float or a list of 2"),
    (make_multiomics, dict(weights=[1, np.nan, 1, 1, 1]), ValueError,
     "weights must be finite"),
    (make_multiomics, dict(weights=[1, 1]), ValueError, "weights must hold 5"),
    (make_multiomics, dict(weights=[-1, 1, 1, 1, 1]), ValueError, "weights must"),
    (make_multiomics, dict(modality_fractions=[np.inf, 1]), ValueError,
     "modality_fractions must be finite"),
    (make_multiomics, dict(modality_fractions=[0, 0]), ValueError,
     "modality_fractions must hold"),
    (make_multiomics, dict(unlabeled_classes={0: ["a"]}), ValueError,
     "unlabeled_classes\\[0\\]"),
    (make_multiomics, dict(unlabeled_classes={5: [1]}), ValueError,
     "unlabeled_classes keys"),
    (make_multiomics, dict(unlabeled_classes=[1]), ValueError,
     "'unlabeled_classes'"),
    (make_multiomics, dict(n_target=-1), ValueError, "'n_target'"),
    (make_multiomics, dict(n_target=5, n_target_classes=5), ValueError,
     "n_target_classes must be in"),
    (make_multiomics, dict(n_target_classes=1.5), ValueError, "'n_target_classes'"),
    (make_multiomics, dict(return_info="yes"), ValueError, "'return_info'"),
    (make_multiomics, dict(random_state="x"), ValueError, "'random_state'"),
    (make_multiomics, dict(n_samples=10**7, n_features=(100, 80)), ValueError,
     "\\(n_samples \\+ n_target\\) \\* sum\\(n_features\\) .*cap"),
]


@pytest.mark.parametrize(
    "simulator, kwargs, exception, match",
    BAD_INPUTS,
    ids=[f"{row[0].__name__}-{i}" for i, row in enumerate(BAD_INPUTS)],
)
def test_bad_simulator_arguments_name_the_argument(simulator, kwargs, exception,
                                                   match):
    with pytest.raises(exception, match=match):
        simulator(**{**SMALL[simulator], **kwargs})


def test_tree_cap_is_checked_before_any_allocation():
    # depth 12 x branching 4 (22 million nodes) used to run for minutes
    start = time.perf_counter()
    with pytest.raises(ValueError, match="MAX_TREE_NODES"):
        make_hierarchical_blobs(depth=12, branching=4)
    assert time.perf_counter() - start < 1.0
    # a deep tree under the cap is still built
    *_, tree, _ = make_hierarchical_blobs(n_samples=50, n_features=2, depth=10,
                                          random_state=0)
    assert len(tree) == 2**11 - 2 <= MAX_TREE_NODES


def test_hierarchy_given_by_hand_is_capped():
    tree = {f"n{i}": "root" for i in range(MAX_TREE_NODES + 1)}
    with pytest.raises(ValueError, match="hierarchy has .* MAX_TREE_NODES"):
        make_hierarchical_blobs(hierarchy=tree)


@pytest.mark.parametrize("simulator", list(SMALL), ids=lambda f: f.__name__)
def test_random_state_goes_through_check_random_state(simulator):
    def flat(out):
        if isinstance(out, dict):
            return [v for value in out.values() for v in flat(value)]
        if isinstance(out, (list, tuple)):
            return [v for value in out for v in flat(value)]
        return [out]

    first = flat(simulator(**SMALL[simulator], random_state=3))
    again = flat(simulator(**SMALL[simulator],
                           random_state=np.random.RandomState(3)))
    assert len(first) == len(again)
    for a, b in zip(first, again):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for u, v in zip(a, b):
            _assert_same(u, v)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


ARRAY_ARGUMENTS = [
    (make_hierarchical_blobs,
     dict(hierarchy={"a": "r", "b": "r", "c": "a", "d": "a"}, n_novel=1)),
    (make_hierarchical_blobs, dict(hierarchy=[["a", "r"], ["b", "r"], ["c", "r"]],
                                   n_novel=1)),
    (make_driven_events, dict(alpha=np.array([0.5, -0.1]),
                              kernel_mean=np.array([0.3, 0.4]),
                              kernel_std=np.array([0.1, 0.2]),
                              isi=np.array([1.0, 1.5]))),
    (make_driven_events, dict(alpha=np.array([0.5, np.nan]))),
    (make_cdl_signals, dict(n_atoms=2, atom_shapes=["sin", "chirp"])),
    (make_multiomics, dict(weights=np.array([1.0, 2.0, 1.0, 1.0, 1.0]),
                           labeled_fraction=np.array([0.2, 0.5]),
                           modality_fractions=np.array([2.0, 1.0]),
                           unlabeled_classes={1: np.array([4])},
                           noise_models=["count", "methylation"])),
    (make_multiomics, dict(weights=np.array([1.0, np.nan, 1.0, 1.0, 1.0]))),
]


@pytest.mark.parametrize("simulator, kwargs", ARRAY_ARGUMENTS,
                         ids=lambda v: getattr(v, "__name__", None))
def test_simulators_leave_the_arguments_unchanged(simulator, kwargs):
    before = copy.deepcopy(kwargs)
    try:
        simulator(**{**SMALL[simulator], **kwargs}, random_state=0)
    except ValueError:
        pass
    _assert_same(before, kwargs)
