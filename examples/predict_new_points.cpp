// Fit once, then label new points (concurrently, if you like: predict() is const).
#include <lloyd/lloyd.hpp>

#include <cstdio>
#include <thread>
#include <vector>

int main() {
  const auto train = lloyd::make_blobs<double>(5000, 2, 4, 0.5, /*seed=*/3);
  lloyd::Params p;
  p.n_clusters = 4;
  p.seed = 1;
  lloyd::KMeans<double> km(p);
  km.fit(train.X);

  // New points: exactly the true centres, which must land in four different clusters.
  const lloyd::Matrix<double>& centres = train.centers;
  const std::vector<std::int32_t> labels = km.predict(centres);
  const lloyd::Matrix<double> distances = km.transform(centres);  // 4 x 4 Euclidean distances
  for (std::size_t i = 0; i < 4; ++i)
    std::printf("centre (%.2f, %.2f) -> cluster %d at distance %.3f\n", centres(i, 0), centres(i, 1), labels[i],
                distances(i, static_cast<std::size_t>(labels[i])));

  // predict() may run from several threads at once on a fitted model.
  std::vector<std::int32_t> a, b;
  std::thread t1([&] { a = km.predict(train.X); }), t2([&] { b = km.predict(train.X); });
  t1.join();
  t2.join();

  bool distinct = true;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = i + 1; j < 4; ++j) distinct = distinct && labels[i] != labels[j];
  std::printf("four distinct clusters: %s; concurrent predictions agree: %s\n", distinct ? "yes" : "no", a == b ? "yes" : "no");
  return distinct && a == b ? 0 : 1;
}
