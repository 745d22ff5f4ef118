// The machine's own limits, against which the engine's figures are read (docs/BENCHMARKS.md):
//   * BM_StreamRead: memory bandwidth of a plain streaming read of 1 GiB (2 MiB huge pages, as the
//     engine holds weights, or 4 KiB pages), split over 1 or 2 threads — the ceiling of decode speed;
//   * BM_Vpdpbusd: throughput of independent VPDPBUSD instructions (256- and 512-bit, 24
//     accumulator chains) — the ceiling of the int8 products in the quantized matrix kernels.
//
//   ./build/bin/bench_machine --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sys/mman.h>

#include <cstring>
#include <thread>
#include <vector>

#include "engine/cpu/cpu_features.h"

namespace {

constexpr size_t kStreamBytes = size_t{1} << 30;

uint8_t* StreamBuffer(bool huge_pages) {
  static uint8_t* buffers[2] = {nullptr, nullptr};
  uint8_t*& b = buffers[huge_pages ? 1 : 0];
  if (b == nullptr) {
    void* p = ::mmap(nullptr, kStreamBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    ::madvise(p, kStreamBytes, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    std::memset(p, 1, kStreamBytes);
    b = static_cast<uint8_t*>(p);
  }
  return b;
}

__attribute__((target("avx2"))) uint64_t SumBytes(const uint8_t* p, size_t n) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 128) {
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

// args: threads, huge pages (0/1). Wall time; bytes/s = bytes read.
void BM_StreamRead(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  uint8_t* buf = StreamBuffer(state.range(1) != 0);
  if (buf == nullptr || !dv::cpu::Features().avx2) {
    state.SkipWithError("no 1 GiB buffer or no AVX2");
    return;
  }
  std::vector<uint64_t> sums(threads);
  for (auto _ : state) {
    std::vector<std::thread> pool;
    const size_t part = kStreamBytes / threads;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sums[t] = SumBytes(buf + t * part, part); });
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kStreamBytes));
}
BENCHMARK(BM_StreamRead)->Args({1, 1})->Args({2, 1})->Args({1, 0})->Args({2, 0})->UseRealTime()->Unit(benchmark::kMillisecond);

// 24 independent accumulator chains of n VPDPBUSD each; returns a lane so the work is kept.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) int32_t Vpdpbusd512(int64_t n) {
  __m512i acc[24];
  for (int k = 0; k < 24; ++k) acc[k] = _mm512_set1_epi32(k);
  __m512i a = _mm512_set1_epi8(3);
  const __m512i b = _mm512_set1_epi8(5);
  for (int64_t i = 0; i < n; ++i) {
#pragma GCC unroll 24
    for (int k = 0; k < 24; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
    __asm__ volatile("" : "+v"(a));  // keeps the loop from being folded
  }
  int32_t s = 0;
  for (int k = 0; k < 24; ++k) {
    int32_t lanes[16];
    std::memcpy(lanes, &acc[k], sizeof lanes);
    s += lanes[0];
  }
  return s;
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) int32_t Vpdpbusd256(int64_t n) {
  __m256i acc[24];
  for (int k = 0; k < 24; ++k) acc[k] = _mm256_set1_epi32(k);
  __m256i a = _mm256_set1_epi8(3);
  const __m256i b = _mm256_set1_epi8(5);
  for (int64_t i = 0; i < n; ++i) {
#pragma GCC unroll 24
    for (int k = 0; k < 24; ++k) acc[k] = _mm256_dpbusd_epi32(acc[k], a, b);
    __asm__ volatile("" : "+v"(a));
  }
  int32_t s = 0;
  for (int k = 0; k < 24; ++k) {
    int32_t lanes[8];
    std::memcpy(lanes, &acc[k], sizeof lanes);
    s += lanes[0];
  }
  return s;
}

// arg: vector width in bits. ops/s = VPDPBUSD instructions per second on one thread.
void BM_Vpdpbusd(benchmark::State& state) {
  if (!dv::cpu::Features().avx512_vnni) {
    state.SkipWithError("no AVX-512 VNNI");
    return;
  }
  constexpr int64_t kIterations = 1 << 20;
  int32_t out = 0;
  for (auto _ : state) {
    out = state.range(0) == 512 ? Vpdpbusd512(kIterations) : Vpdpbusd256(kIterations);
    benchmark::DoNotOptimize(out);
  }
  state.counters["ops/s"] = benchmark::Counter(24.0 * kIterations * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Vpdpbusd)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
