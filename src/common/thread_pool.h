// A fixed-size pool of worker threads.
//
// Thread safety: Submit() and ParallelFor() may be called from any thread, including from tasks
// running on the pool (ParallelFor from a worker runs the work inline to avoid deadlock).
// The destructor finishes every task already submitted, then joins the workers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace dv {

class ThreadPool {
 public:
  // `num_threads` == 0 means one per hardware thread.
  explicit ThreadPool(size_t num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }

  // Queues `fn`; the future carries its result or exception.
  template <typename F>
  auto Submit(F&& fn) -> std::future<std::invoke_result_t<std::decay_t<F>>> {
    using R = std::invoke_result_t<std::decay_t<F>>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> fut = task->get_future();
    Enqueue([task] { (*task)(); });
    return fut;
  }

  // Calls fn(begin, end) over disjoint sub-ranges covering [0, n), at most size()+1 of them,
  // using the workers and the calling thread; returns when all are done. The first exception
  // thrown by fn is rethrown here after every sub-range has finished.
  void ParallelFor(size_t n, const std::function<void(size_t begin, size_t end)>& fn);

 private:
  void Enqueue(std::function<void()> task);
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace dv
