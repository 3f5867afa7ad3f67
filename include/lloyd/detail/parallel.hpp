// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The one parallel-for of the library: a small pool of persistent std::threads.
//
// A fit creates one pool and reuses it for every iteration, so no thread is spawned
// per iteration. The calling thread works too (worker 0). Tasks are claimed from an
// atomic counter, so which worker runs which task varies from run to run: callers
// make results independent of that by writing each task's output to its own slot and
// reducing the slots in task order (see the chunked reductions in lloyd.hpp).
//
// Idle workers spin briefly before sleeping on a condition variable, which keeps the
// hand-off between back-to-back iterations in the microseconds on small problems.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define LLOYD_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define LLOYD_CPU_RELAX() asm volatile("yield" ::: "memory")
#else
#define LLOYD_CPU_RELAX() ((void)0)
#endif

namespace lloyd {
namespace detail {

/// Number of threads meant by a Params::n_threads value (0 = all hardware threads).
inline std::size_t resolve_thread_count(int n_threads) {
  if (n_threads < 0) throw std::invalid_argument("lloyd: n_threads=" + std::to_string(n_threads) + " must be >= 0");
  if (n_threads > 0) return static_cast<std::size_t>(n_threads);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// How many workers each call starts: each public call owns one ThreadPool (KMeans::fit
// borrows the process's shared one, PoolLease below), sized by one of these rules (the
// public seedings of init.hpp take n_threads as given; fit_batch runs small problems one
// per worker, batch.hpp). They decide speed only; results never
// depend on the number of threads (partitions.hpp).

/// A fit (KMeans, mpi::fit on this rank's rows, MiniBatchKMeans::fit) of rows x cols
/// values into k clusters: Params::n_threads, but no more than one per 64 rows, and one
/// in all for a small fit, under 2^17 values and 2^23 multiply-adds per Lloyd pass
/// (rows x k x cols). There a pass lasts tens of microseconds and sharing it costs
/// about as much as it saves. Measured with the shared pool warm (PoolLease), float64,
/// k-means++, whole fits on a 2-core VM, one thread against two: 3000 x 100, k = 5:
/// 0.51 against 0.31 ms; 4000 x 50, k = 10: 0.86 / 0.56 ms; 2000 x 32, k = 20: 0.61 /
/// 0.65 ms; 2000 x 16, k = 50: 2.77 / 2.83 ms.
inline std::size_t fit_threads(int n_threads, std::size_t rows, std::size_t cols, std::size_t k) {
  const std::size_t threads = resolve_thread_count(n_threads);
  const double values = double(rows) * double(cols);
  if (values < double(std::size_t(1) << 17) && values * double(k) < double(std::size_t(1) << 23)) return 1;
  return std::min(threads, std::max<std::size_t>(1, rows / 64));
}

/// One mini-batch step (MiniBatchKMeans::partial_fit): no more than one per 256 rows, a
/// step being short and frequent.
inline std::size_t step_threads(int n_threads, std::size_t rows) {
  return std::min(resolve_thread_count(n_threads), std::max<std::size_t>(1, rows / 256));
}

/// A pass of about `work` multiply-adds (predict, transform, score): one thread below
/// 2^22, where starting more costs more than it saves.
inline std::size_t work_threads(int n_threads, std::size_t work) {
  return work < (std::size_t(1) << 22) ? 1 : resolve_thread_count(n_threads);
}

/// One worker's own T, on cache lines that no other worker's shares. Per-worker scratch
/// kept side by side in a vector shares a line where one worker's ends and the next
/// one's begins, and a worker updating its own (a vector's end pointer at each
/// push_back) then keeps taking that line from the worker reading the other half (false
/// sharing: Hamerly's lists of failed rows cost it 7-10 % of a 2-thread fit at d = 2 and
/// 8). The per-worker structs of the library are aligned so themselves.
template <class T>
struct alignas(64) PerWorker {
  T value;
};

class ThreadPool {
 public:
  /// A pool of n_threads workers in all: the caller plus n_threads - 1 background threads.
  explicit ThreadPool(std::size_t n_threads = 1) {
    const std::size_t n = std::min<std::size_t>(std::max<std::size_t>(1, n_threads), helper_mask);
    threads_.reserve(n - 1);
    try {
      for (std::size_t i = 1; i < n; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
    } catch (...) {
      shutdown();
      throw;
    }
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { shutdown(); }

  /// Workers in all, including the calling thread.
  std::size_t size() const noexcept { return threads_.size() + 1; }

  /// Runs fn(task, worker) for every task in [0, n_tasks) and returns when all are done.
  /// `worker` is in [0, size()) and unique among concurrently running calls, so it can
  /// index per-worker scratch space. The first exception thrown by a task is rethrown
  /// here after the others have stopped. Not reentrant: fn must not call parallel_for.
  template <class F>
  void parallel_for(std::size_t n_tasks, F&& fn) {
    if (n_tasks == 0) return;
    if (threads_.empty() || n_tasks == 1) {
      for (std::size_t t = 0; t < n_tasks; ++t) fn(t, std::size_t(0));
      return;
    }
    using Fn = std::remove_reference_t<F>;
    job_fn_ = [](void* ctx, std::size_t task, std::size_t worker) { (*static_cast<Fn*>(ctx))(task, worker); };
    job_ctx_ = static_cast<void*>(std::addressof(fn));
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    // Only as many helpers as there are tasks beyond the caller's first.
    const std::size_t helpers = std::min(threads_.size(), n_tasks - 1);
    pending_.store(helpers, std::memory_order_relaxed);
    {
      // One word carries both the job counter and how many helpers it wants, so a
      // worker reads a consistent pair.
      std::lock_guard<std::mutex> lock(mutex_);
      const std::uint64_t counter = (generation_.load(std::memory_order_relaxed) >> helper_bits) + 1;
      generation_.store((counter << helper_bits) | helpers, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks(0);
    wait_for_helpers();
    job_fn_ = nullptr;
    job_ctx_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int spin_rounds = 4000;  // about 10-40 microseconds of pause instructions
  static constexpr unsigned helper_bits = 16;
  static constexpr std::uint64_t helper_mask = (std::uint64_t(1) << helper_bits) - 1;

  void run_tasks(std::size_t worker) {
    for (;;) {
      const std::size_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_tasks_) return;
      try {
        job_fn_(job_ctx_, t, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
        next_task_.store(n_tasks_, std::memory_order_relaxed);  // skip what is left
      }
    }
  }

  void wait_for_helpers() {
    for (int i = 0; i < spin_rounds; ++i) {
      if (pending_.load(std::memory_order_acquire) == 0) return;
      LLOYD_CPU_RELAX();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }

  void worker_loop(std::size_t id) {
    std::uint64_t seen = 0;
    for (;;) {
      std::uint64_t gen = generation_.load(std::memory_order_acquire);
      for (int i = 0; gen == seen && i < spin_rounds; ++i) {
        LLOYD_CPU_RELAX();
        gen = generation_.load(std::memory_order_acquire);
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
        if (stop_) return;
        gen = generation_.load(std::memory_order_acquire);
      }
      seen = gen;
      if (id > (gen & helper_mask)) continue;  // this job has too few tasks to need us
      run_tasks(id);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  void shutdown() noexcept {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> next_task_{0};
  std::atomic<std::size_t> pending_{0};
  std::size_t n_tasks_ = 0;
  void (*job_fn_)(void*, std::size_t, std::size_t) = nullptr;
  void* job_ctx_ = nullptr;
  std::mutex error_mutex_;
  std::exception_ptr error_;
  bool stop_ = false;
};

/// This process's id (0 where there is no fork() to worry about).
inline long process_id() noexcept {
#if defined(__unix__) || defined(__APPLE__)
  return static_cast<long>(::getpid());
#else
  return 0;
#endif
}

/// The loan of a pool for one call (KMeans::fit): the process's shared pool if no other
/// call holds it, else the caller's own. The shared pool's threads outlive the
/// call, so a process pays for starting them once, not per fit (3000 x 100, k = 5, two
/// threads: 0.50 ms a fit starting them, 0.35 ms with them waiting; they sleep between
/// calls after a few microseconds of spinning). It is made again when a call wants
/// another size, and abandoned (never joined) in a child process after fork(), whose
/// copy has none of its threads. Calls from several threads at once are safe, and so is
/// a call made while the same thread holds a lease (a fit from an iteration callback):
/// the later call finds the pool taken and uses its own.
class PoolLease {
 public:
  PoolLease() = default;
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;
  ~PoolLease() {
    if (held_) shared().taken.store(false, std::memory_order_release);
  }

  /// A pool of n_threads workers for the rest of this lease's life: the shared one, or
  /// else `own` (made, or made again, at that size). One thread needs no threads: `own`.
  ThreadPool& get(std::size_t n_threads, std::unique_ptr<ThreadPool>& own) {
    const std::size_t n = std::max<std::size_t>(1, n_threads);
    if (n > 1) {
      Shared& s = shared();
      if (held_ || !s.taken.exchange(true, std::memory_order_acquire)) {
        held_ = true;
        const long pid = process_id();
        if (s.pool && s.pid != pid) (void)s.pool.release();  // made before a fork(): not ours to join
        if (!s.pool || s.pool->size() != n) {
          s.pool.reset();
          s.pool = std::make_unique<ThreadPool>(n);
          s.pid = pid;
        }
        return *s.pool;
      }
    }
    if (!own || own->size() != n) own = std::make_unique<ThreadPool>(n);
    return *own;
  }

 private:
  struct Shared {
    std::atomic<bool> taken{false};  // by a lease; only its holder touches pool and pid
    std::unique_ptr<ThreadPool> pool;
    long pid = 0;
    ~Shared() {
      if (pool && pid != process_id()) (void)pool.release();  // exit() in a forked child
    }
  };
  static Shared& shared() {
    static Shared s;
    return s;
  }
  bool held_ = false;
};

}  // namespace detail
}  // namespace lloyd
