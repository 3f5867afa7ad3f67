// Golden results of single-process fits: every algorithm, metric and seeding, float and
// double, weights, restarts, relocation into empty clusters, rescaled data, k = 1 and
// k = n, mini-batch, fit_batch and the public seedings (see golden.hpp).
//
// golden_fit FILE            compare with FILE (exit 1 on any difference)
// golden_fit --record FILE   write FILE
#include "golden.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

using lloyd::Algorithm;
using lloyd::Init;
using lloyd::Metric;

const char* name_of(Algorithm a) {
  switch (a) {
    case Algorithm::Lloyd: return "lloyd";
    case Algorithm::Elkan: return "elkan";
    case Algorithm::Hamerly: return "hamerly";
    case Algorithm::Yinyang: return "yinyang";
    case Algorithm::Exponion: return "exponion";
    default: return "auto";
  }
}

template <class T>
const char* type_name() {
  return sizeof(T) == 4 ? "f32" : "f64";
}

template <class T>
std::vector<T> uneven_weights(std::size_t n) {
  std::vector<T> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = static_cast<T>(i % 7 == 3 ? 0.0 : 0.25 + 0.37 * static_cast<double>(i % 11));
  return w;
}

// k starting centroids of X's width: the first `near` are rows 0, 100, 200, ... of X, the
// others far from the data (base + step c + j), so that clusters start empty.
template <class T>
lloyd::Matrix<T> far_start(const lloyd::Matrix<T>& X, std::size_t k, std::size_t near, double base, double step) {
  lloyd::Matrix<T> C0(k, X.cols());
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < X.cols(); ++j)
      C0(c, j) = c < near ? X(c * 100, j) : static_cast<T>(base + step * static_cast<double>(c) + j);
  return C0;
}

template <class T>
void single_process(golden::Book& book) {
  const std::string t = type_name<T>();
  const auto blobs = lloyd::make_blobs<T>(3001, 13, 9, 1.5, 7);
  const auto wide = lloyd::make_blobs<T>(20000, 40, 60, 2.0, 11);

  auto fit = [&](const std::string& name, const lloyd::Matrix<T>& X, lloyd::Params p) {
    p.n_threads = 2;
    lloyd::KMeans<T> km(p);
    const auto r = km.fit(X);
    book.put(t + "." + name, golden::hash_result(r));
    golden::Hash h;  // predict and score of the fitted model on the training rows
    h.add_vector(km.predict(X));
    h.add(km.score(X));
    book.put(t + "." + name + ".predict", h.value());
  };

  // Every algorithm x metric (Dot runs Lloyd whatever is asked).
  for (Algorithm a : {Algorithm::Auto, Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Elkan, Algorithm::Yinyang}) {
    lloyd::Params p;
    p.n_clusters = 9;
    p.seed = 3;
    p.algorithm = a;
    fit(std::string("blobs.") + name_of(a), blobs.X, p);
    p.metric = Metric::Cosine;
    fit(std::string("blobs.cosine.") + name_of(a), blobs.X, p);
    p.n_clusters = 60;
    p.metric = Metric::SquaredEuclidean;
    fit(std::string("wide.") + name_of(a), wide.X, p);
  }
  {
    lloyd::Params p;
    p.n_clusters = 9;
    p.seed = 5;
    p.metric = Metric::Dot;
    fit("blobs.dot", blobs.X, p);
  }
  // Seedings.
  for (Init init : {Init::Random, Init::KMeansParallel, Init::Auto}) {
    lloyd::Params p;
    p.n_clusters = init == Init::Auto ? 130 : 60;
    p.seed = 9;
    p.init = init;
    fit(std::string("wide.init") + std::to_string(static_cast<int>(init)), wide.X, p);
  }
  // Restarts; stopping rules.
  {
    lloyd::Params p;
    p.n_clusters = 9;
    p.seed = 1;
    p.n_init = 3;
    fit("blobs.n_init3", blobs.X, p);
    p.n_init = 1;
    p.tol = 0;
    p.inertia_tol = 1e-3;
    fit("blobs.inertia_tol", blobs.X, p);
    p.inertia_tol = 0;
    p.run_till_max_iter = true;
    p.max_iter = 7;
    fit("blobs.till_max_iter", blobs.X, p);
    p.run_till_max_iter = false;
    p.n_clusters = 1;
    fit("blobs.k1", blobs.X, p);
  }
  // k = n, with duplicate rows.
  {
    lloyd::Matrix<T> X(40, 5);
    for (std::size_t i = 0; i < 40; ++i)
      for (std::size_t j = 0; j < 5; ++j) X(i, j) = static_cast<T>((i % 30) * 0.5 + j);
    lloyd::Params p;
    p.n_clusters = 40;
    fit("k_equals_n", X, p);
  }
  // Weights (some zero), with every seeding and a bounded algorithm.
  for (Init init : {Init::KMeansPlusPlus, Init::KMeansParallel, Init::Random}) {
    const auto w = uneven_weights<T>(blobs.X.rows());
    lloyd::Params p;
    p.n_clusters = 9;
    p.seed = 4;
    p.init = init;
    p.algorithm = Algorithm::Hamerly;
    p.n_threads = 2;
    lloyd::KMeans<T> km(p);
    book.put(t + ".weights.init" + std::to_string(static_cast<int>(init)), golden::hash_result(km.fit(blobs.X, w)));
    golden::Hash h;
    h.add(km.score(blobs.X, w));
    book.put(t + ".weights.init" + std::to_string(static_cast<int>(init)) + ".score", h.value());
  }
  // Relocation: starting centroids far from the data leave clusters empty.
  for (Algorithm a : {Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Elkan, Algorithm::Yinyang}) {
    const lloyd::Matrix<T> C0 = far_start(blobs.X, 9, 3, 1000.0, 10.0);
    lloyd::Params p;
    p.n_clusters = 9;
    p.algorithm = a;
    p.n_threads = 2;
    lloyd::KMeans<T> km(p);
    book.put(t + ".relocation." + name_of(a), golden::hash_result(km.fit(blobs.X, C0)));
  }
  // Magnitudes that need rescaling (squares would overflow / sink into subnormals).
  for (double scale : {1e30, 1e-30}) {
    lloyd::Matrix<T> X(blobs.X.rows(), blobs.X.cols());
    for (std::size_t i = 0; i < X.rows(); ++i)
      for (std::size_t j = 0; j < X.cols(); ++j) X(i, j) = static_cast<T>(static_cast<double>(blobs.X(i, j)) * scale);
    lloyd::Params p;
    p.n_clusters = 9;
    p.seed = 2;
    fit(std::string("scaled") + (scale > 1 ? "_up" : "_down"), X, p);
  }
  // Mini-batch and fit_batch.
  {
    lloyd::MiniBatchParams mp;
    mp.n_clusters = 60;
    mp.batch_size = 512;
    mp.seed = 5;
    mp.n_threads = 2;
    lloyd::MiniBatchKMeans<T> mb(mp);
    book.put(t + ".minibatch", golden::hash_result(mb.fit(wide.X)));
    lloyd::Params p;
    p.n_clusters = 5;
    p.seed = 8;
    p.n_threads = 2;
    const auto many = lloyd::fit_batch<T>(lloyd::MatrixView<const T>(blobs.X.data(), 3000, 13, blobs.X.stride()), 6, p);
    golden::Hash h;
    for (const auto& r : many) h.add(golden::hash_result(r));
    book.put(t + ".fit_batch", h.value());
  }
  // Sorted-mode updates (k x d too large for per-task slots; cluster_sums.hpp), d not a
  // multiple of any vector width: every algorithm (the bounded ones re-sum the clusters
  // their moved rows touched), weights with zeros, cosine, relocation.
  {
    const auto many = lloyd::make_blobs<T>(4000, 37, 40, 1.0, 13);
    const auto w = uneven_weights<T>(many.X.rows());
    for (Algorithm a : {Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Exponion, Algorithm::Elkan,
                        Algorithm::Yinyang}) {
      lloyd::Params p;
      p.n_clusters = 120;
      p.seed = 6;
      p.algorithm = a;
      fit(std::string("sorted.") + name_of(a), many.X, p);
      p.n_threads = 2;
      lloyd::KMeans<T> km(p);
      book.put(t + ".sorted.weights." + name_of(a), golden::hash_result(km.fit(many.X, w)));
      if (a == Algorithm::Lloyd || a == Algorithm::Hamerly) {
        p.metric = Metric::Cosine;
        fit(std::string("sorted.cosine.") + name_of(a), many.X, p);
      }
    }
    const lloyd::Matrix<T> C0 = far_start(many.X, 120, 30, 500.0, 3.0);
    lloyd::Params p;
    p.n_clusters = 120;
    p.n_threads = 2;
    lloyd::KMeans<T> km(p);
    book.put(t + ".sorted.relocation", golden::hash_result(km.fit(many.X, C0)));
  }
  // The public seedings.
  {
    const auto w = uneven_weights<T>(wide.X.rows());
    golden::Hash h;
    auto add = [&](const lloyd::Seeding<T>& s) {
      h.add_matrix<T>(s.centroids);
      h.add_vector(s.indices);
    };
    add(lloyd::kmeans_plusplus<T>(wide.X, 60, 3));
    add(lloyd::kmeans_plusplus<T>(wide.X, 60, 3, &w, 2));
    add(lloyd::kmeans_parallel<T>(wide.X, 200, 4));
    add(lloyd::kmeans_parallel<T>(wide.X, 200, 4, &w, 2));
    add(lloyd::random_rows<T>(wide.X, 60, 5));
    add(lloyd::random_rows<T>(wide.X, 60, 5, &w));
    book.put(t + ".seedings", h.value());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool record = argc == 3 && std::string(argv[1]) == "--record";
  if (argc != 2 && !record) {
    std::fprintf(stderr, "usage: golden_fit [--record] FILE\n");
    return 2;
  }
  golden::Book book;
  single_process<float>(book);
  single_process<double>(book);
  return book.finish(argv[argc - 1], record);
}
