// A small fork-join pool for the forward pass: Run(fn) calls fn(thread_index, n_threads) on every
// thread (the caller is thread 0) and returns when all have finished.
//
// Dispatch costs a few hundred nanoseconds: workers spin briefly on an epoch counter before they
// sleep (std::atomic::wait), which matters when a decode step runs ~200 small matrix products.
//
// Thread safety: Run() must not be called concurrently or re-entrantly (one forward pass at a time
// per pool). The destructor joins the workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace dv::cpu {

class WorkerPool {
 public:
  // n_threads >= 1 (the calling thread counts as one).
  explicit WorkerPool(int n_threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return n_threads_; }

  using Task = std::function<void(int thread_index, int n_threads)>;
  void Run(const Task& task);

  // Splits [0, n) into size() contiguous ranges, rounded to `granule`; [begin,end) of thread t.
  static void Split(int64_t n, int thread_index, int n_threads, int64_t granule, int64_t* begin, int64_t* end);

 private:
  void WorkerLoop(int index);

  const int n_threads_;
  const Task* task_ = nullptr;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

}  // namespace dv::cpu
