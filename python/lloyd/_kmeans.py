"""scikit-learn-compatible estimators over lloyd's C++ core (lloyd._core).

The estimators validate their input here (2-D, float32 or float64 kept as given, other
types converted to float64 once, C order) and hand the arrays to the core, which reads
them in place. With scikit-learn installed they are scikit-learn estimators
(BaseEstimator, ClusterMixin, TransformerMixin); without it they keep the same methods
and attributes.
"""
import numbers
import warnings

import numpy as np

from . import _core

try:  # scikit-learn is optional: the estimators work without it
    from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
    from sklearn.exceptions import NotFittedError

    _HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by test_without_sklearn
    _HAVE_SKLEARN = False

    class NotFittedError(ValueError, AttributeError):
        """Raised when a method needs a fitted model (scikit-learn's name and bases)."""

    class BaseEstimator:
        """get_params / set_params, as scikit-learn's BaseEstimator provides them."""

        _param_names = ()

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._param_names}

        def set_params(self, **params):
            for name, value in params.items():
                if name not in self._param_names:
                    raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}")
                setattr(self, name, value)
            return self

        def __repr__(self):
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class ClusterMixin:
        _estimator_type = "clusterer"

        def fit_predict(self, X, y=None, **kwargs):
            return self.fit(X, **kwargs).labels_

    class TransformerMixin:
        def fit_transform(self, X, y=None, **kwargs):
            return self.fit(X, **kwargs).transform(X)


_INITS = ("k-means++", "k-means||", "random", "auto")
_ALGORITHMS = ("auto", "lloyd", "hamerly", "elkan", "yinyang", "exponion")
_METRICS = ("euclidean", "cosine", "dot")


def _as_rows(X, name="X", dtype=None):
    """X as a C-contiguous 2-D float32/float64 array: the same object when it already
    is one (no copy), else converted once. dtype forces a type (predict: the model's)."""
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array (e.g. X.toarray())")
    arr = np.asarray(X)
    if arr.dtype.kind in "USV":
        raise ValueError(f"{name} has dtype {arr.dtype}: lloyd needs numbers (float32 or float64)")
    if arr.dtype == object:  # numbers held as Python objects: converted (anything else raises)
        arr = np.asarray(arr, dtype=np.float64)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} is complex; lloyd needs real numbers (float32 or float64)")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (rows x features), got {arr.ndim}-D with shape {arr.shape}"
            + (". Reshape your data with x.reshape(-1, 1) (one feature) or x.reshape(1, -1) (one row)" if arr.ndim == 1 else "")
        )
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    want = dtype if dtype is not None else (arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64)
    return np.ascontiguousarray(arr, dtype=want)


def _weights(sample_weight, n, dtype):
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        w = np.full(n, w, dtype=dtype)
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}")
    return np.ascontiguousarray(w, dtype=dtype)


def _seed(random_state):
    """lloyd's 64-bit seed from scikit-learn's random_state (None: a fresh one)."""
    if random_state is None:
        return int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, (numbers.Integral, np.integer)):
        return int(random_state) & (2**64 - 1)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise ValueError(f"random_state={random_state!r} must be None, an int, a RandomState or a Generator")


def _random_state(random_state):
    """random_state as a np.random.RandomState (what scikit-learn hands to an init callable)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.RandomState(int(random_state) & (2**32 - 1))
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(0, 2**32 - 1)))
    raise ValueError(f"random_state={random_state!r} must be None, an int, a RandomState or a Generator")


def _starting_centroids(est, X):
    """(init name, starting centroids or None) from est.init: one of _INITS, an array of
    n_clusters x n_features starting centroids, or a callable
    init(X, n_clusters, random_state) returning one (random_state: a RandomState, as
    scikit-learn passes it)."""
    init = est.init
    if isinstance(init, str):
        _check_choice("init", init, _INITS)
        return init, None
    if callable(init):
        C = _as_rows(init(X, est.n_clusters, random_state=_random_state(est.random_state)), "init", X.dtype)
    else:
        C = _as_rows(init, "init", X.dtype)
    if C.shape != (est.n_clusters, X.shape[1]):
        raise ValueError(
            f"init has shape {C.shape}, expected (n_clusters, n_features) = ({est.n_clusters}, {X.shape[1]})"
        )
    if est.n_init != 1:
        warnings.warn(
            f"Explicit initial center position passed: performing only one init in {type(est).__name__} instead of "
            f"n_init={est.n_init}.",
            RuntimeWarning,
            stacklevel=3,
        )
    return "k-means++", C


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(choices)}")


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")


class _CoreEstimator(ClusterMixin, TransformerMixin, BaseEstimator):
    """What both estimators do with their core (self._core, made by _new_core(dtype)):
    the checks of a fitted model's input, predict, pickling and the estimator tags."""

    def _new_core(self, dtype):  # pragma: no cover - each estimator defines it
        raise NotImplementedError

    def _fitted_rows(self, X):
        if not hasattr(self, "_core"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments "
                "before using this estimator."
            )
        X = _as_rows(X, dtype=self.cluster_centers_.dtype)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                "features as input."
            )
        return X

    def predict(self, X):
        """Index of the nearest centroid of each row of X."""
        X = self._fitted_rows(X)
        return self._core.predict(X)

    # Pickling: the core's fitted state, restored into a new core of the same dtype.
    def __getstate__(self):
        state = self.__dict__.copy()
        core = state.pop("_core", None)
        if core is not None:
            state["_core_state"] = (self.cluster_centers_.dtype.str, core.get_state())
        if callable(state.get("callback")) and not _picklable(state["callback"]):
            state["callback"] = None
        return state

    def __setstate__(self, state):
        core_state = state.pop("_core_state", None)
        self.__dict__.update(state)
        if core_state is not None:
            dtype, values = core_state
            core = self._new_core(np.dtype(dtype))
            core.set_state(*values)
            self._core = core

    def _more_tags(self):
        return {
            "preserves_dtype": [np.float64, np.float32],
            # As scikit-learn's own k-means estimators: a row of weight 0 still changes
            # the seeding's random draws.
            "_xfail_checks": {
                "check_sample_weights_invariance": "zero sample_weight is not equivalent to removing samples",
            },
        }


class KMeans(_CoreEstimator):
    """k-means clustering (lloyd's C++ core): scikit-learn's KMeans interface.

    Differences from scikit-learn's defaults: n_init=1 (scikit-learn 1.2: 10, 1.4+:
    "auto", which is 1 for k-means++); algorithm also takes "hamerly", "yinyang" and
    "exponion" (all exact: the same result as "lloyd"; with k < 8, or k < 16 below 128
    features, the bounded ones run "lloyd", bounds cannot pay there); metric "cosine" (spherical k-means) and "dot";
    n_threads (0: every core); init defaults to "auto" (greedy k-means++ as
    scikit-learn's, but k-means|| for k >= 128 and n >= 4 k: many times faster there,
    and its converged inertia within 1 % in lloyd's measurements) and also takes
    "k-means||" (and, as scikit-learn, an array of starting centroids or a callable
    init(X, n_clusters, random_state));
    callback receives each iteration's statistics (a dict) and may return True to stop;
    verbose prints one line per iteration on stderr. copy_x is accepted for
    compatibility and has no effect: lloyd never writes to X (C-contiguous float32 or
    float64 input is read in place, anything else converted once).
    """

    _param_names = ("n_clusters", "init", "n_init", "max_iter", "tol", "algorithm", "metric", "random_state",
                    "n_threads", "verbose", "copy_x", "callback")

    def __init__(self, n_clusters=8, *, init="auto", n_init=1, max_iter=300, tol=1e-4, algorithm="auto",
                 metric="euclidean", random_state=None, n_threads=0, verbose=0, copy_x=True, callback=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.metric = metric
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.copy_x = copy_x
        self.callback = callback

    # -- fitting -----------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Clusters the rows of X (n_samples x n_features); returns self."""
        X = _as_rows(X)
        _check_int("n_clusters", self.n_clusters, 1)
        _check_int("n_init", self.n_init, 1)
        _check_int("max_iter", self.max_iter, 1)
        _check_int("n_threads", self.n_threads, 0)
        _check_choice("algorithm", self.algorithm, _ALGORITHMS)
        _check_choice("metric", self.metric, _METRICS)
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol={self.tol!r} must be a number >= 0")
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback={self.callback!r} must be callable or None")
        init_name, init_centroids = _starting_centroids(self, X)
        core = (_core.KMeans32 if X.dtype == np.float32 else _core.KMeans64)(
            int(self.n_clusters), init_name, int(self.n_init), int(self.max_iter), float(self.tol), self.algorithm,
            self.metric, _seed(self.random_state), int(self.n_threads), bool(self.verbose), self.callback)
        centroids, labels, inertia, n_iter, converged = core.fit(X, init_centroids, _weights(sample_weight, X.shape[0], X.dtype))
        self._core = core
        self.cluster_centers_ = centroids
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        self.n_features_in_ = X.shape[1]
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """fit(X), then the labels of its rows."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """fit(X), then transform(X)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    # -- using a fitted model ------------------------------------------------------
    def transform(self, X):
        """Distance of each row to each centroid (n_samples x n_clusters): Euclidean, or
        1 - cos for metric="cosine", or minus the inner product for "dot"."""
        X = self._fitted_rows(X)
        return self._core.transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X under the fitted centroids."""
        X = self._fitted_rows(X)
        return float(self._core.score(X, _weights(sample_weight, X.shape[0], X.dtype)))

    def _new_core(self, dtype):
        # Restored models only predict: the fit options are not needed.
        cls = _core.KMeans32 if dtype == np.float32 else _core.KMeans64
        return cls(int(self.n_clusters), "k-means++", 1, 1, 0.0, "auto", "euclidean", 0, int(self.n_threads), False,
                   None)


def _picklable(obj):
    import pickle

    try:
        pickle.dumps(obj)
        return True
    except Exception:
        return False


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None, n_local_trials=None, method="k-means++",
                    n_threads=0):
    """Seeds n_clusters centroids from the rows of X like scikit-learn's kmeans_plusplus:
    returns (centers, indices). method: "k-means++" (greedy, 2 + ln k trials), "k-means||"
    or "random". n_local_trials other than the default is not supported."""
    if n_local_trials is not None:
        raise ValueError("n_local_trials: lloyd uses 2 + floor(ln k) trials; pass None")
    X = _as_rows(X)
    _check_int("n_clusters", n_clusters, 1)
    _check_choice("method", method, ("k-means++", "k-means||", "random"))
    centers, indices = _core.seed_rows(X, int(n_clusters), method, _seed(random_state),
                                       _weights(sample_weight, X.shape[0], X.dtype), int(n_threads))
    return centers, indices


class MiniBatchKMeans(_CoreEstimator):
    """Mini-batch k-means (lloyd's C++ core): scikit-learn's MiniBatchKMeans interface.

    Differences: init is "auto" (the default: as KMeans's), "k-means++", "k-means||",
    "random", an array of starting centroids or a callable init(X, n_clusters,
    random_state) as scikit-learn's; n_init
    defaults to 3 (scikit-learn 1.2's default, "auto" from 1.4); n_threads (0: every
    core); verbose prints on stderr.
    """

    _param_names = ("n_clusters", "init", "max_iter", "batch_size", "verbose", "compute_labels", "random_state", "tol",
                    "max_no_improvement", "init_size", "n_init", "reassignment_ratio", "n_threads")

    def __init__(self, n_clusters=8, *, init="auto", max_iter=100, batch_size=1024, verbose=0,
                 compute_labels=True, random_state=None, tol=0.0, max_no_improvement=10, init_size=None, n_init=3,
                 reassignment_ratio=0.01, n_threads=0):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.n_threads = n_threads

    def _new_core(self, dtype):
        _check_int("n_clusters", self.n_clusters, 1)
        _check_int("max_iter", self.max_iter, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("n_init", self.n_init, 1)
        _check_int("n_threads", self.n_threads, 0)
        if self.max_no_improvement is not None:
            _check_int("max_no_improvement", self.max_no_improvement, 0)
        if self.init_size is not None:
            _check_int("init_size", self.init_size, 1)
        seeding = self.init if isinstance(self.init, str) else "k-means++"  # else: given centroids
        _check_choice("init", seeding, _INITS)
        for name in ("tol", "reassignment_ratio"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"{name}={value!r} must be a number >= 0")
        cls = _core.MiniBatch32 if dtype == np.float32 else _core.MiniBatch64
        return cls(int(self.n_clusters), int(self.batch_size), int(self.max_iter), float(self.tol),
                   int(self.max_no_improvement or 0), seeding, int(self.init_size or 0), int(self.n_init),
                   float(self.reassignment_ratio), _seed(self.random_state), int(self.n_threads), bool(self.verbose))

    def fit(self, X, y=None, sample_weight=None):
        """Fits on X by mini-batches; returns self."""
        X = _as_rows(X)
        core = self._new_core(X.dtype)
        _, init_centroids = _starting_centroids(self, X)
        centroids, labels, inertia, steps, converged = core.fit(X, init_centroids,
                                                                _weights(sample_weight, X.shape[0], X.dtype))
        self._core = core
        self.cluster_centers_ = centroids
        if self.compute_labels:
            self.labels_ = labels
            self.inertia_ = float(inertia)
        self.n_steps_ = int(steps)
        self.n_iter_ = int(np.ceil(steps * min(self.batch_size, X.shape[0]) / X.shape[0]))
        self.converged_ = bool(converged)
        self.n_features_in_ = X.shape[1]
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step on the rows of X (the first call starts from init: seeds from these
        rows, or takes the given centroids); returns self."""
        if hasattr(self, "_core"):
            X = self._fitted_rows(X)
            core = self._core
        else:
            X = _as_rows(X)
            core = self._new_core(X.dtype)
            _, init_centroids = _starting_centroids(self, X)
            if init_centroids is not None:
                core.start_from(init_centroids)
        w = _weights(sample_weight, X.shape[0], X.dtype)
        core.partial_fit(X, w)
        self._core = core
        self.cluster_centers_ = core.centroids()
        self.n_steps_ = int(core.n_steps())
        self.n_features_in_ = X.shape[1]
        if self.compute_labels:  # under the moved centroids, as scikit-learn
            labels, inertia = core.labels_and_inertia(X, w)
            self.labels_ = labels
            self.inertia_ = float(inertia)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """fit(X), then the labels of its rows."""
        self.fit(X, sample_weight=sample_weight)
        return self.labels_ if self.compute_labels else self.predict(X)

    def transform(self, X):
        """Euclidean distance of each row to each centroid (n_samples x n_clusters)."""
        X = self._fitted_rows(X)
        bad = np.argwhere(~np.isfinite(X))
        if bad.size:  # the core's message, for the one method computed here
            i, j = bad[0]
            raise ValueError(f"X({i}, {j}) {'is NaN' if np.isnan(X[i, j]) else '= ' + str(X[i, j])}: values must be finite")
        C = self.cluster_centers_
        D = (X * X).sum(axis=1)[:, None] - 2 * X @ C.T + (C * C).sum(axis=1)[None, :]
        return np.sqrt(np.maximum(D, 0), dtype=X.dtype)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X under the centroids."""
        X = self._fitted_rows(X)
        return -float(self._core.labels_and_inertia(X, _weights(sample_weight, X.shape[0], X.dtype))[1])


def _scored(X, labels):
    X = _as_rows(X)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise ValueError(f"labels must be 1-D with one value per row of X ({X.shape[0]}), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels have dtype {labels.dtype}: need integers")
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.int32).max):
        raise ValueError("labels must be in [0, 2**31 - 1]")
    return X, np.ascontiguousarray(labels, dtype=np.int32)


def silhouette_score(X, labels, *, sample_size=None, random_state=None, n_threads=0):
    """Mean silhouette coefficient (Euclidean), as sklearn.metrics.silhouette_score:
    exact over all rows, or over a random sample of sample_size rows."""
    X, labels = _scored(X, labels)
    if sample_size is not None:
        _check_int("sample_size", sample_size, 1)
    return float(_core.silhouette_score(X, labels, int(sample_size or 0), _seed(random_state), int(n_threads)))


def calinski_harabasz_score(X, labels):
    """Calinski-Harabasz index (variance ratio), as sklearn.metrics.calinski_harabasz_score."""
    return float(_core.calinski_harabasz_score(*_scored(X, labels)))


def davies_bouldin_score(X, labels):
    """Davies-Bouldin index, as sklearn.metrics.davies_bouldin_score."""
    return float(_core.davies_bouldin_score(*_scored(X, labels)))
