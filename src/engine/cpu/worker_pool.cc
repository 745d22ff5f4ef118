#include "engine/cpu/worker_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DV_CPU_RELAX() _mm_pause()
#else
#define DV_CPU_RELAX() ((void)0)
#endif

namespace dv::cpu {
namespace {
constexpr int kSpinIterations = 20000;  // ~ tens of microseconds before sleeping
}

WorkerPool::WorkerPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

WorkerPool::~WorkerPool() {
  stop_.store(true, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  epoch_.notify_all();
  for (auto& t : workers_) t.join();
}

void WorkerPool::Run(const Task& task) {
  if (n_threads_ == 1) {
    task(0, 1);
    return;
  }
  task_ = &task;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  epoch_.notify_all();
  task(0, n_threads_);
  int spins = 0;
  while (pending_.load(std::memory_order_acquire) != 0) {
    if (++spins < kSpinIterations) {
      DV_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  task_ = nullptr;
}

void WorkerPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    uint64_t now;
    while ((now = epoch_.load(std::memory_order_acquire)) == seen) {
      if (++spins < kSpinIterations) {
        DV_CPU_RELAX();
      } else {
        epoch_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    (*task_)(index, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void WorkerPool::Split(int64_t n, int thread_index, int n_threads, int64_t granule, int64_t* begin,
                       int64_t* end) {
  const int64_t units = (n + granule - 1) / granule;
  const int64_t per = units / n_threads, extra = units % n_threads;
  const int64_t first = thread_index * per + std::min<int64_t>(thread_index, extra);
  const int64_t count = per + (thread_index < extra ? 1 : 0);
  *begin = std::min(n, first * granule);
  *end = std::min(n, (first + count) * granule);
}

}  // namespace dv::cpu
