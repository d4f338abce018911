"""
======================================================
Scaling out on a dask cluster through joblib's backend
======================================================

Every loop of skdeep that can run in parallel (the trials of the CDL z-step,
the ``n_init`` starts, the chunks of a long recording, the folds and parameters
of :class:`~sklearn.model_selection.GridSearchCV`) goes through :mod:`joblib`
with the estimator's ``n_jobs``. Inside ``joblib.parallel_config(backend="dask")``
those loops run on a :mod:`dask.distributed` cluster, with no change to the code
and the same results as in one process.

Here the cluster is a :class:`~distributed.LocalCluster` of two workers in
this process (``processes=False``, so that the example also runs as a plain
script; a script that starts worker processes must create the cluster under
``if __name__ == "__main__":``); with a ``Client`` connected to a remote scheduler
(SLURM, Kubernetes, a cloud service: see ``dask-jobqueue`` and
``dask-kubernetes``) the same code runs there. The example needs
``pip install "skdeep-research[distributed]"``; without it, it says so and stops.
"""

# %%
import time
from collections import Counter

import joblib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from skdeep.datasets import make_cdl_signals, make_driven_events
from skdeep.decomposition import CDLTransformer
from skdeep.point_process import DriPP

try:
    import distributed
except ImportError:  # the example needs the `distributed` extra
    distributed = None
    print("dask.distributed is not installed: "
          'pip install "skdeep-research[distributed]" to run this example.')


# %%
# A local cluster and what ran where
# ----------------------------------
# ``get_task_stream`` records every task the scheduler ran; joblib names a
# task after the function it runs.


def on_cluster(client, func):
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask"):
            start = time.perf_counter()
            result = func()
            elapsed = time.perf_counter() - start
    tasks = Counter(t["worker"] for t in stream.data)
    return result, elapsed, tasks


if distributed is not None:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                       processes=False, dashboard_address=None)
    client = distributed.Client(cluster)
    print(client)

# %%
# Tuning DriPP's kernel support over realisations
# -----------------------------------------------
# Each candidate support and each fold is one fit, sent to a worker.

if distributed is not None:
    X, truth = make_driven_events(n_realisations=8, end_time=500.0, random_state=0)
    end_time = np.full(len(X), 500.0)
    grid = {"lower": [0.0, 0.03], "upper": [0.4, 0.8, 1.2]}

    def search():
        return GridSearchCV(DriPP(), grid, cv=KFold(4), n_jobs=-1).fit(
            X, end_time=end_time)

    serial = GridSearchCV(DriPP(), grid, cv=KFold(4)).fit(X, end_time=end_time)
    on_dask, seconds, search_tasks = on_cluster(client, search)
    print(f"grid search on the cluster: {seconds:.1f} s, tasks per worker "
          f"{dict(search_tasks)}")
    print("best support:", on_dask.best_params_, "(same as in one process:",
          on_dask.best_params_ == serial.best_params_, ")")
    print("identical scores:", np.array_equal(
        on_dask.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"]))

# %%
# A long recording encoded in chunks on the workers
# -------------------------------------------------
# With ``chunk_size`` the z-step of :class:`~skdeep.decomposition.CDLTransformer`
# solves a long recording in overlapping chunks, each a task; the activations
# are those of the one-shot solve.

if distributed is not None:
    sizes = dict(n_channels=4, n_atoms=3, n_times_atom=32, noise_level=0.1)
    X_train = make_cdl_signals(n_trials=6, n_times=1500, random_state=0, **sizes)[0]
    X_long = make_cdl_signals(n_trials=1, n_times=60_000, random_state=1,
                              **sizes)[0]
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X_train)
    z_one_shot = cdl.transform_activations(X_long)
    cdl.set_params(chunk_size=5000, n_jobs=-1)
    z_chunks, seconds, chunk_tasks = on_cluster(
        client, lambda: cdl.transform_activations(X_long))
    gap = np.max(np.abs(z_chunks - z_one_shot)) / np.max(z_one_shot)
    print(f"chunked transform on the cluster: {seconds:.1f} s, tasks per worker "
          f"{dict(chunk_tasks)}, largest relative gap to the one-shot solve "
          f"{gap:.1e}")

# %%
# Tasks per worker
# ----------------

if distributed is not None:
    workers = sorted(set(search_tasks) | set(chunk_tasks))
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(len(workers))
    ax.bar(x - 0.2, [search_tasks[w] for w in workers], 0.4,
           label="GridSearchCV(DriPP)")
    ax.bar(x + 0.2, [chunk_tasks[w] for w in workers], 0.4,
           label="CDL transform chunks")
    ax.set_xticks(x, [f"worker {i}" for i in range(len(workers))])
    ax.set_ylabel("tasks")
    ax.legend()
    fig.tight_layout()
    client.close()
    cluster.close()
