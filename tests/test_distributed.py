"""The n_jobs loops on a real dask.distributed cluster through joblib's backend.

A ``LocalCluster`` of two worker processes is started here; each test runs an
estimator inside ``joblib.parallel_config(backend="dask")``, checks that the
result is the one of ``n_jobs=1`` in this process, and that tasks ran on the
workers (their pids differ from this one, and the scheduler's task stream
names the workers).
"""

import logging
import os
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

distributed = pytest.importorskip("distributed")

from skdeep.datasets import make_cdl_signals, make_driven_events  # noqa: E402
from skdeep.decomposition import CDLTransformer  # noqa: E402
from skdeep.point_process import DriPP  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        dashboard_address=None, silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _on_workers(client, func, task):
    """Run ``func`` inside a dask backend context; return its result and the
    workers that executed tasks of the function named ``task`` meanwhile (from
    the scheduler's task stream: joblib names a task after its function)."""
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask"):
            result = func()
    return result, {t["worker"] for t in stream.data
                    if f"batch_of_{task}_" in str(t["key"])}


def _ran_on_cluster(client, workers):
    # the scheduler picks the workers (data locality may keep a short run on
    # one of them); this process is not one of them
    return bool(workers) and workers <= set(client.scheduler_info()["workers"])


def test_workers_are_other_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2 and os.getpid() not in pids.values()


def test_cdl_fit_and_chunked_transform_on_the_cluster(client):
    X = make_cdl_signals(n_trials=6, n_channels=3, n_times=600, n_atoms=2,
                         n_times_atom=24, noise_level=0.1, random_state=0)[0]
    params = dict(n_atoms=2, n_times_atom=24, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = CDLTransformer(**params, n_jobs=1).fit(X)
        # the greedy start: one run, its z-step spread over the trials
        dask_fit, workers = _on_workers(
            client, lambda: CDLTransformer(**params, n_jobs=2).fit(X), "run")
    assert _ran_on_cluster(client, workers)
    np.testing.assert_array_equal(dask_fit.D_hat_, serial.D_hat_)
    np.testing.assert_array_equal(dask_fit.loss_curve_, serial.loss_curve_)

    # the chunks of one long recording solved on both workers
    X_long = make_cdl_signals(n_trials=1, n_channels=3, n_times=12_000, n_atoms=2,
                              n_times_atom=24, noise_level=0.1, random_state=1)[0]
    z_one_shot = serial.transform_activations(X_long)
    dask_fit.set_params(chunk_size=1000)
    z_chunks, workers = _on_workers(
        client, lambda: dask_fit.transform_activations(X_long), "_solve_chunk")
    assert _ran_on_cluster(client, workers)
    assert np.max(np.abs(z_chunks - z_one_shot)) < 1e-10 * np.max(z_one_shot)


def test_cdl_restarts_on_the_cluster(client):
    X = make_cdl_signals(n_trials=4, n_channels=3, n_times=500, n_atoms=2,
                         n_times_atom=24, noise_level=0.1, random_state=2)[0]
    params = dict(n_atoms=2, n_times_atom=24, D_init="chunk", n_init=4,
                  max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = CDLTransformer(**params, n_jobs=1).fit(X)
        dask_fit, workers = _on_workers(
            client, lambda: CDLTransformer(**params, n_jobs=2).fit(X),
            "_learn_monitored")
    assert _ran_on_cluster(client, workers)
    np.testing.assert_array_equal(dask_fit.init_losses_, serial.init_losses_)
    np.testing.assert_array_equal(dask_fit.D_hat_, serial.D_hat_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_dripp_realisations_on_the_cluster(client):
    X, _ = make_driven_events(n_realisations=6, end_time=300.0, random_state=0)
    end_time = np.full(len(X), 300.0)
    grid = {"upper": [0.5, 0.8], "lower": [0.0, 0.03]}

    def search(n_jobs):
        return GridSearchCV(DriPP(), grid, cv=KFold(3), n_jobs=n_jobs,
                            return_train_score=True).fit(X, end_time=end_time)

    serial = search(1)
    dask_search, workers = _on_workers(client, lambda: search(2), "_fit_and_score")
    assert _ran_on_cluster(client, workers)
    for key in ("mean_test_score", "mean_train_score", "split0_test_score"):
        np.testing.assert_array_equal(dask_search.cv_results_[key],
                                      serial.cv_results_[key])
    assert dask_search.best_params_ == serial.best_params_
    np.testing.assert_array_equal(dask_search.best_estimator_.kernel_mean_,
                                  serial.best_estimator_.kernel_mean_)
