#include <catch2/catch.hpp>
#include <lloyd/detail/parallel.hpp>

#include <atomic>
#include <stdexcept>
#include <vector>

using lloyd::detail::ThreadPool;

TEST_CASE("parallel_for runs every task exactly once", "[parallel]") {
  for (std::size_t threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    REQUIRE(pool.size() == threads);
    for (std::size_t n_tasks : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> hits(n_tasks);
      for (auto& h : hits) h = 0;
      pool.parallel_for(n_tasks, [&](std::size_t t, std::size_t) { hits[t].fetch_add(1); });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("parallel_for gives concurrently running tasks distinct worker slots", "[parallel]") {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> busy(pool.size());
  for (auto& b : busy) b = 0;
  std::atomic<bool> overlap{false}, out_of_range{false};
  for (int round = 0; round < 50; ++round) {
    pool.parallel_for(64, [&](std::size_t, std::size_t w) {
      if (w >= pool.size()) {
        out_of_range = true;
        return;
      }
      if (busy[w].fetch_add(1) != 0) overlap = true;
      volatile double x = 0;
      for (int i = 0; i < 1000; ++i) x = x + i;
      busy[w].fetch_sub(1);
    });
  }
  REQUIRE_FALSE(out_of_range.load());
  REQUIRE_FALSE(overlap.load());
}

TEST_CASE("parallel_for rethrows a task's exception and stays usable", "[parallel]") {
  ThreadPool pool(3);
  REQUIRE_THROWS_AS(pool.parallel_for(100,
                                      [&](std::size_t t, std::size_t) {
                                        if (t == 37) throw std::runtime_error("task 37 failed");
                                      }),
                    std::runtime_error);
  std::atomic<std::size_t> sum{0};
  pool.parallel_for(100, [&](std::size_t t, std::size_t) { sum += t; });
  REQUIRE(sum.load() == 4950);
}

TEST_CASE("parallel_for survives many back-to-back small jobs", "[parallel]") {
  ThreadPool pool(2);
  std::atomic<std::size_t> total{0};
  for (int job = 0; job < 20000; ++job) pool.parallel_for(3, [&](std::size_t, std::size_t) { total += 1; });
  REQUIRE(total.load() == 60000);
}

TEST_CASE("n_threads = 0 resolves to at least one thread; negative is rejected", "[parallel]") {
  REQUIRE(lloyd::detail::resolve_thread_count(0) >= 1);
  REQUIRE(lloyd::detail::resolve_thread_count(3) == 3);
  REQUIRE_THROWS_AS(lloyd::detail::resolve_thread_count(-1), std::invalid_argument);
}
