"""lloyd: fast exact k-means (C++17, SIMD, threads) with scikit-learn's interface.

    import lloyd
    km = lloyd.KMeans(n_clusters=8, random_state=0).fit(X)
    km.labels_, km.cluster_centers_, km.inertia_, km.predict(Y)
"""
from ._core import version as __version__
from ._kmeans import (
    KMeans,
    MiniBatchKMeans,
    NotFittedError,
    calinski_harabasz_score,
    davies_bouldin_score,
    kmeans_plusplus,
    silhouette_score,
)

__all__ = ["KMeans", "MiniBatchKMeans", "NotFittedError", "kmeans_plusplus", "silhouette_score",
           "calinski_harabasz_score", "davies_bouldin_score", "__version__"]
