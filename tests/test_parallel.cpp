#include <catch2/catch.hpp>
#include <lloyd/detail/parallel.hpp>
#include <lloyd/lloyd.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__unix__)
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

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

TEST_CASE("PoolLease lends the process's shared pool to one call at a time", "[parallel]") {
  using lloyd::detail::PoolLease;
  std::unique_ptr<ThreadPool> own_a, own_b;
  ThreadPool* shared = nullptr;
  {
    PoolLease a;
    ThreadPool& p = a.get(3, own_a);
    shared = &p;
    REQUIRE(p.size() == 3);
    REQUIRE_FALSE(own_a);  // the shared pool, not a new one of the caller's
    {
      PoolLease b;  // held by a: b gets its caller's own pool, and both work at once
      ThreadPool& q = b.get(3, own_b);
      REQUIRE(own_b);
      REQUIRE(&q == own_b.get());
      std::atomic<std::size_t> on_p{0}, on_q{0};
      std::thread other([&] { q.parallel_for(200, [&](std::size_t, std::size_t) { on_q += 1; }); });
      p.parallel_for(200, [&](std::size_t, std::size_t) { on_p += 1; });
      other.join();
      REQUIRE(on_p.load() == 200);
      REQUIRE(on_q.load() == 200);
    }
  }
  {
    PoolLease c;  // a returned it: the same pool, its threads still there
    REQUIRE(&c.get(3, own_a) == shared);
    REQUIRE_FALSE(own_a);
  }
  {
    PoolLease d;  // one thread needs no threads: the caller's own
    ThreadPool& r = d.get(1, own_a);
    REQUIRE(r.size() == 1);
    REQUIRE(&r == own_a.get());
  }
  {
    PoolLease e;  // another size: the shared pool is made again at that size
    ThreadPool& s = e.get(2, own_b);
    REQUIRE(s.size() == 2);
    REQUIRE(&s != own_b.get());
    std::atomic<std::size_t> hits{0};
    s.parallel_for(50, [&](std::size_t, std::size_t) { hits += 1; });
    REQUIRE(hits.load() == 50);
  }
}

// k = 6 on two threads: 3000 x 64 rows are enough for a fit to use both (fit_threads).
lloyd::Params two_thread_fit(std::uint64_t seed) {
  lloyd::Params p;
  p.n_clusters = 6;
  p.n_threads = 2;
  p.seed = seed;
  return p;
}

TEST_CASE("fits from several threads at once give the results of fits one after another", "[parallel]") {
  // Two callers fitting at the same time: one borrows the shared pool, the other uses its
  // model's own; a fit's results never depend on which.
  const auto X = lloyd::make_blobs<double>(3000, 64, 6, 1.0, 11).X;
  const lloyd::Params p = two_thread_fit(5);
  const auto alone = lloyd::KMeans<double>(p).fit(X);
  std::vector<lloyd::Result<double>> results(2);
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c)
    callers.emplace_back([&, c] {
      lloyd::KMeans<double> km(p);
      for (int rep = 0; rep < 5; ++rep) results[static_cast<std::size_t>(c)] = km.fit(X);
    });
  for (auto& t : callers) t.join();
  for (const auto& r : results) {
    REQUIRE(r.labels == alone.labels);
    REQUIRE(r.inertia == alone.inertia);
    for (std::size_t i = 0; i < alone.centroids.rows(); ++i)
      for (std::size_t j = 0; j < alone.centroids.cols(); ++j) REQUIRE(r.centroids(i, j) == alone.centroids(i, j));
  }
}

#if defined(__unix__)
TEST_CASE("after fork() a child's fits neither hang nor differ, and its exit does not wait for threads it lacks",
          "[fork]") {
  // The parent's fit leaves the shared pool with a helper thread; the child's copy of the
  // pool has no threads: it must be abandoned, neither used nor joined. (A hang here is
  // the failure; ctest's timeout reports it.)
  const auto X = lloyd::make_blobs<double>(3000, 64, 6, 1.0, 12).X;
  const lloyd::Params p = two_thread_fit(9);
  const auto parent = lloyd::KMeans<double>(p).fit(X);
  for (int fit_in_child = 1; fit_in_child >= 0; --fit_in_child) {
    std::cout.flush();
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      if (fit_in_child) {
        const auto child = lloyd::KMeans<double>(p).fit(X);
        code = child.labels == parent.labels && child.inertia == parent.inertia ? 0 : 3;
      }
      std::exit(code);  // runs the static destructors, the shared pool's among them
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO("fit in the child: " << fit_in_child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
}
#endif

TEST_CASE("a fit from an iteration callback, while its caller holds the shared pool, uses its own", "[parallel]") {
  const auto X = lloyd::make_blobs<double>(3000, 64, 6, 1.0, 13).X;
  lloyd::Params inner = two_thread_fit(2);
  const auto alone = lloyd::KMeans<double>(inner).fit(X);
  lloyd::Params outer = two_thread_fit(3);
  outer.n_clusters = 4;
  std::vector<lloyd::Result<double>> nested;
  outer.on_iteration = [&](const lloyd::IterationStats&) { nested.push_back(lloyd::KMeans<double>(inner).fit(X)); };
  const auto with_nested = lloyd::KMeans<double>(outer).fit(X);
  outer.on_iteration = nullptr;
  const auto plain = lloyd::KMeans<double>(outer).fit(X);
  REQUIRE_FALSE(nested.empty());
  for (const auto& r : nested) {
    REQUIRE(r.labels == alone.labels);
    REQUIRE(r.inertia == alone.inertia);
  }
  REQUIRE(with_nested.labels == plain.labels);
  REQUIRE(with_nested.inertia == plain.inertia);
}
