"""lloyd.KMeans against scikit-learn's KMeans, its estimator checks, and the package's
own promises (no copy, dtypes kept, errors, pickling, threads, callbacks, Ctrl-C)."""
import os
import pickle
import signal
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import lloyd
from lloyd import _core, _kmeans

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402


def blobs(n=4000, d=12, k=7, seed=0, dtype=np.float64):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=2.0, random_state=seed)
    return X.astype(dtype)


def sklearn_fit(X, init):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkKMeans(n_clusters=init.shape[0], init=init, n_init=1, algorithm="lloyd").fit(X)


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "elkan", "yinyang", "exponion", "auto"])
def test_same_clusters_as_sklearn_from_the_same_start_float64(algorithm):
    for X, k in [(blobs(), 7), (load_digits().data.astype(np.float64), 10)]:
        init = X[np.random.RandomState(1).choice(X.shape[0], k, replace=False)]
        ours = lloyd.KMeans(k, init=init, algorithm=algorithm).fit(X)
        theirs = sklearn_fit(X, init)
        assert np.array_equal(ours.labels_, theirs.labels_)
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-9)
        assert np.allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-9, atol=1e-9)
        assert ours.cluster_centers_.dtype == np.float64


def test_float32_stays_float32_and_nearly_agrees_with_sklearn():
    for X, k in [(blobs(dtype=np.float32), 7), (load_digits().data.astype(np.float32), 10)]:
        init = X[np.random.RandomState(2).choice(X.shape[0], k, replace=False)]
        ours = lloyd.KMeans(k, init=init).fit(X)
        theirs = sklearn_fit(X, init)
        assert ours.cluster_centers_.dtype == np.float32
        assert ours.transform(X).dtype == np.float32
        assert np.mean(ours.labels_ == theirs.labels_) >= 0.999
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-4)


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    # One check is expected to fail, as for scikit-learn's own KMeans (see _more_tags):
    # a row of weight 0 still changes the seeding's random draws.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(lloyd.KMeans(n_clusters=3, random_state=0))


def test_c_contiguous_float_input_is_not_copied():
    for dtype in (np.float32, np.float64):
        X = blobs(dtype=dtype)
        assert _kmeans._as_rows(X) is X
        assert _core.data_address(_kmeans._as_rows(X)) == X.ctypes.data
    # Other layouts and types are converted once.
    F = np.asfortranarray(blobs())
    assert _kmeans._as_rows(F).flags.c_contiguous
    assert _kmeans._as_rows(blobs().astype(np.int64)).dtype == np.float64


def test_bad_input_raises_value_error_naming_the_problem():
    X = blobs(n=100, d=3)
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\(5, 1\) is NaN"):
        lloyd.KMeans(3).fit(bad)
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match=r"X\(5, 1\) = inf"):
        lloyd.KMeans(3).fit(bad)
    with pytest.raises(ValueError, match="n_clusters=200 is larger than the number of rows of X"):
        lloyd.KMeans(200).fit(X)
    with pytest.raises(ValueError, match="X has 0 rows"):
        lloyd.KMeans(2).fit(np.empty((0, 3)))
    with pytest.raises(ValueError, match="must be a 2-D array"):
        lloyd.KMeans(2).fit(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="could not convert"):
        lloyd.KMeans(2).fit(np.array([["a", 1.0], [2.0, 3.0]], dtype=object))
    with pytest.raises(ValueError, match="metric='manhattan' is not one of euclidean, cosine, dot"):
        lloyd.KMeans(2, metric="manhattan").fit(X)
    with pytest.raises(ValueError, match="init has shape"):
        lloyd.KMeans(3, init=X[:2]).fit(X)
    km = lloyd.KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but KMeans is expecting 3 features"):
        km.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="sample_weight has 99 values, expected one per row"):
        lloyd.KMeans(3).fit(X, sample_weight=np.ones(99))
    with pytest.raises(lloyd.NotFittedError):
        lloyd.KMeans(3).predict(X)


def test_pickled_model_predicts_the_same():
    X = blobs()
    for metric in ("euclidean", "cosine", "dot"):
        km = lloyd.KMeans(7, metric=metric, random_state=3).fit(X)
        again = pickle.loads(pickle.dumps(km))
        assert np.array_equal(again.predict(X), km.predict(X))
        assert np.array_equal(again.transform(X), km.transform(X))
        assert again.score(X) == km.score(X)
        assert again.get_params() == km.get_params()


def test_predict_from_many_threads_at_once():
    X = blobs(n=20000)
    km = lloyd.KMeans(7, random_state=0, n_threads=2).fit(X)
    expected = km.predict(X)
    results = [None] * 8

    def work(i):
        results[i] = km.predict(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, expected) for r in results)


def test_random_state_reproduces_and_varies():
    X = blobs()
    a = lloyd.KMeans(7, random_state=5).fit(X)
    b = lloyd.KMeans(7, random_state=5).fit(X)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    c = lloyd.KMeans(7, init="random", random_state=6).fit(X)
    d = lloyd.KMeans(7, init="random", random_state=7).fit(X)
    assert not np.array_equal(c.cluster_centers_, d.cluster_centers_)


def test_callback_sees_each_iteration_and_can_stop_the_fit():
    X = blobs()
    seen = []
    km = lloyd.KMeans(7, init="random", random_state=1, tol=0, callback=lambda s: seen.append(s)).fit(X)
    assert [s["iteration"] for s in seen] == list(range(1, km.n_iter_ + 1))
    assert all(s["inertia"] > 0 for s in seen)
    km = lloyd.KMeans(7, init="random", random_state=1, tol=0, callback=lambda s: s["iteration"] >= 2).fit(X)
    assert km.n_iter_ == 2 and not km.converged_

    def fails(stats):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        lloyd.KMeans(7, callback=fails).fit(X)


def test_ctrl_c_stops_a_fit_with_keyboard_interrupt():
    # A SIGINT arriving during the fit (sent here by the callback, as a user's Ctrl-C
    # would arrive) stops it at the next iteration and raises KeyboardInterrupt.
    X = blobs()
    calls = []

    def interrupt(stats):
        calls.append(stats["iteration"])
        if stats["iteration"] == 2:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        lloyd.KMeans(7, init="random", random_state=1, tol=0, max_iter=100, callback=interrupt).fit(X)
    assert calls[-1] <= 3


def test_kmeans_plusplus_returns_rows_of_x():
    X = blobs()
    for method in ("k-means++", "k-means||", "random"):
        centers, indices = lloyd.kmeans_plusplus(X, 7, random_state=0, method=method)
        assert centers.shape == (7, X.shape[1])
        assert len(set(indices.tolist())) == 7
        assert np.array_equal(centers, X[indices])


def test_works_without_scikit_learn():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import numpy as np, lloyd\n"
        "X = np.random.RandomState(0).normal(size=(500, 4))\n"
        "km = lloyd.KMeans(3, random_state=0).fit(X)\n"
        "assert km.predict(X).shape == (500,) and km.get_params()['n_clusters'] == 3\n"
        "assert km.set_params(n_clusters=4).n_clusters == 4\n"
        "assert issubclass(lloyd.NotFittedError, ValueError)\n"
        "assert np.array_equal(km.fit_predict(X), km.labels_)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_minibatch_estimator_checks_and_quality():
    from sklearn.cluster import MiniBatchKMeans as SkMiniBatch
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(lloyd.MiniBatchKMeans(n_clusters=3, random_state=0, batch_size=32))
        X = blobs(n=20000, d=8, k=10, dtype=np.float32)
        ours = lloyd.MiniBatchKMeans(10, random_state=0, batch_size=1024).fit(X)
        theirs = SkMiniBatch(10, random_state=0, batch_size=1024, n_init=3).fit(X)
    assert ours.cluster_centers_.dtype == np.float32
    # Mini-batch results depend on the random draws: compare quality, not labels.
    assert ours.inertia_ <= 1.05 * theirs.inertia_
    assert np.array_equal(ours.predict(X), ours.labels_)
    assert ours.score(X) == pytest.approx(-ours.inertia_, rel=1e-5)


def test_minibatch_partial_fit_and_pickle():
    X = blobs(n=6000, d=5, k=4)
    mb = lloyd.MiniBatchKMeans(4, random_state=1)
    for chunk in np.array_split(X, 6):
        mb.partial_fit(chunk)
    assert mb.n_steps_ == 6 and mb.cluster_centers_.shape == (4, 5)
    full = lloyd.KMeans(4, random_state=1).fit(X)
    assert -mb.score(X) <= 1.1 * full.inertia_
    again = pickle.loads(pickle.dumps(mb))
    assert np.array_equal(again.predict(X), mb.predict(X))
    again.partial_fit(X[:500])  # goes on from the restored state
    assert again.n_steps_ == 7
    with pytest.raises(ValueError, match="X has 6 features, but MiniBatchKMeans is expecting 5 features"):
        mb.partial_fit(np.zeros((10, 6)))


def test_init_callable_gets_a_random_state_and_its_centroids_are_used():
    X = blobs(n=3000, d=6, k=5)
    seen = []

    def first_rows(data, n_clusters, random_state):
        seen.append((data.shape, n_clusters, type(random_state)))
        return data[random_state.choice(data.shape[0], n_clusters, replace=False)]

    est = lloyd.KMeans(5, init=first_rows, random_state=3).fit(X)
    assert seen == [((3000, 6), 5, np.random.RandomState)]
    start = first_rows(X, 5, np.random.RandomState(3))  # what the estimator's call returned
    same = lloyd.KMeans(5, init=start).fit(X)
    assert np.array_equal(est.cluster_centers_, same.cluster_centers_)
    assert np.array_equal(est.labels_, same.labels_)
    with pytest.warns(RuntimeWarning, match="performing only one init in KMeans instead of n_init=3"):
        lloyd.KMeans(5, init=start, n_init=3).fit(X)
    with pytest.raises(ValueError, match=r"init has shape \(4, 6\), expected \(n_clusters, n_features\) = \(5, 6\)"):
        lloyd.KMeans(5, init=lambda data, k, random_state: data[:4]).fit(X)


def test_minibatch_starts_from_given_centroids():
    X, y = make_blobs(n_samples=4000, n_features=7, centers=5, cluster_std=0.5, random_state=4)
    start = np.stack([X[y == c][0] for c in range(5)])  # one row of each blob
    est = lloyd.MiniBatchKMeans(5, init=start, n_init=1, batch_size=256, random_state=0).fit(X)
    assert np.mean(est.labels_ == y) == 1.0  # blob c's centroid stays blob c's
    via_callable = lloyd.MiniBatchKMeans(5, init=lambda data, k, random_state: start, n_init=1, batch_size=256,
                                         random_state=0).fit(X)
    assert np.array_equal(via_callable.cluster_centers_, est.cluster_centers_)
    # partial_fit's first step starts from them too: from counts of zero, each centroid
    # moves to the mean of the rows nearest to it.
    stream = lloyd.MiniBatchKMeans(5, init=start, n_init=1, reassignment_ratio=0.0)
    stream.partial_fit(X)
    nearest = np.argmin(((X[:, None, :] - start[None, :, :]) ** 2).sum(axis=2), axis=1)
    means = np.stack([X[nearest == c].mean(axis=0) for c in range(5)])
    assert np.allclose(stream.cluster_centers_, means, rtol=1e-12, atol=1e-12)
    # labels_ and inertia_ of a partial_fit: the batch under the moved centroids.
    assert np.array_equal(stream.labels_, stream.predict(X))
    assert stream.inertia_ == pytest.approx(-stream.score(X), rel=1e-12)
    with pytest.raises(ValueError, match="init has shape"):
        lloyd.MiniBatchKMeans(5, init=start[:, :3]).fit(X)


def test_minibatch_weighted_score_is_the_weighted_inertia():
    X = blobs(n=3000, d=13, k=4)
    w = np.random.RandomState(0).uniform(0, 2, X.shape[0])
    est = lloyd.MiniBatchKMeans(4, random_state=2).fit(X)
    d2 = ((X[:, None, :] - est.cluster_centers_[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    assert est.score(X, sample_weight=w) == pytest.approx(-np.dot(w, d2), rel=1e-12)
    assert est.score(X) == pytest.approx(-d2.sum(), rel=1e-12)
    with pytest.raises(ValueError, match="sample_weight has 5 values"):
        est.score(X, sample_weight=np.ones(5))


def test_verbose_prints_iterations_on_stderr(capfd):
    X = blobs(n=2000, d=4, k=3)
    lloyd.KMeans(3, random_state=0, verbose=0).fit(X)
    assert capfd.readouterr().err == ""
    est = lloyd.KMeans(3, random_state=0, verbose=1).fit(X)
    lines = capfd.readouterr().err.splitlines()
    iterations = [line for line in lines if line.startswith("Iteration: ")]
    assert len(iterations) == est.n_iter_
    assert iterations[0].startswith("Iteration: 1, inertia: ")
    assert iterations[-1].startswith(f"Iteration: {est.n_iter_}, inertia: ")
    lloyd.MiniBatchKMeans(3, random_state=0, verbose=1, batch_size=64, max_no_improvement=0, max_iter=2).fit(X)
    assert "Minibatch step 10/" in capfd.readouterr().err


def test_clustering_scores_agree_with_sklearn():
    from sklearn import metrics

    digits = load_digits().data.astype(np.float64)
    for X, k in [(blobs(n=3000, d=7, k=5), 5), (digits, 10), (blobs(n=2000, d=5, k=4, dtype=np.float32), 4)]:
        labels = lloyd.KMeans(k, random_state=0).fit(X).labels_
        rel = 1e-6 if X.dtype == np.float64 else 1e-4
        assert lloyd.silhouette_score(X, labels) == pytest.approx(metrics.silhouette_score(X, labels), rel=rel)
        assert lloyd.calinski_harabasz_score(X, labels) == pytest.approx(
            metrics.calinski_harabasz_score(X, labels), rel=rel)
        assert lloyd.davies_bouldin_score(X, labels) == pytest.approx(metrics.davies_bouldin_score(X, labels), rel=rel)
    X = blobs(n=3000, d=7, k=5)
    labels = lloyd.KMeans(5, random_state=0).fit(X).labels_
    sampled = lloyd.silhouette_score(X, labels, sample_size=1000, random_state=1)
    assert sampled == lloyd.silhouette_score(X, labels, sample_size=1000, random_state=1)
    assert sampled == pytest.approx(metrics.silhouette_score(X, labels), abs=0.02)
    with pytest.raises(ValueError, match="1 distinct labels for 3000 rows"):
        lloyd.silhouette_score(X, np.zeros(3000, dtype=int))
    with pytest.raises(ValueError, match="one value per row"):
        lloyd.davies_bouldin_score(X, labels[:10])
