// The machine's own limits, against which the engine's figures are read (docs/BENCHMARKS.md):
//   * BM_StreamRead: memory bandwidth of a plain streaming read of 1 GiB (2 MiB huge pages, as the
//     engine holds weights, or 4 KiB pages), split over 1 or 2 threads — the ceiling of decode speed;
//   * BM_VectorOps: throughput of independent VPDPBUSD (256- and 512-bit) and 512-bit FMA, alone
//     and mixed — the ceiling of the int8 products in the quantized matrix kernels, and which
//     other instructions share their pipes.
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

// Throughput of independent vector instructions, written in assembly with fixed registers (from
// C++ intrinsics GCC kept the accumulators in memory, which measured the stores instead):
// 16 accumulators zmm0..15 (or ymm), inputs zmm30/31.
#define DV_REG16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DV_REG8(X) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define DV_DPBUSD_Z(i) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define DV_DPBUSD_Y(i) "vpdpbusd %%ymm30, %%ymm31, %%ymm" #i "\n\t"
#define DV_FMA_Z(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define DV_PACK_Z(i) "vpackssdw %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define DV_AND_Z(i) "vpandq %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define DV_BCASTQ_Z(i) "vpbroadcastq " #i "*8(%0), %%zmm" #i "\n\t"
#define DV_STORE_Z(i) "vmovdqu64 %%zmm30, " #i "*64(%1)\n\t"
#define DV_REG4(X) X(16) X(17) X(18) X(19)
#define DV_CLOBBERS                                                                                            \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23"

enum VectorLoop {
  kDpbusd256,
  kDpbusd512,
  kFma512,
  kDpbusdFma512,
  kDpbusdPack512,
  kDpbusdAnd512,     // + 16 VPANDQ
  kDpbusdBcast512,   // + 16 VPBROADCASTQ from memory
  kDpbusdStore512,   // + 4 512-bit stores
};

// Runs n iterations of the loop body; returns the VPDPBUSD (or FMA) instructions per iteration.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) int VectorLoopRun(VectorLoop loop, int64_t n) {
  __asm__ volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31" ::: "xmm30", "xmm31");
  alignas(64) static uint8_t src[256], dst[2048];
  for (int64_t i = 0; i < n; ++i) {
    switch (loop) {
      case kDpbusd256: __asm__ volatile(DV_REG16(DV_DPBUSD_Y)::: DV_CLOBBERS); break;
      case kDpbusd512: __asm__ volatile(DV_REG16(DV_DPBUSD_Z)::: DV_CLOBBERS); break;
      case kFma512: __asm__ volatile(DV_REG16(DV_FMA_Z)::: DV_CLOBBERS); break;
      case kDpbusdFma512: __asm__ volatile(DV_REG16(DV_DPBUSD_Z) DV_REG8(DV_FMA_Z)::: DV_CLOBBERS); break;
      case kDpbusdPack512: __asm__ volatile(DV_REG16(DV_DPBUSD_Z) DV_REG8(DV_PACK_Z)::: DV_CLOBBERS); break;
      case kDpbusdAnd512:
        __asm__ volatile(DV_REG16(DV_DPBUSD_Z) DV_REG8(DV_AND_Z) DV_REG8(DV_AND_Z)::: DV_CLOBBERS);
        break;
      case kDpbusdBcast512:
        __asm__ volatile(DV_REG16(DV_DPBUSD_Z) DV_REG8(DV_BCASTQ_Z) DV_REG8(DV_BCASTQ_Z)::"r"(src), "r"(dst) : DV_CLOBBERS, "memory");
        break;
      case kDpbusdStore512:
        __asm__ volatile(DV_REG16(DV_DPBUSD_Z) DV_REG4(DV_STORE_Z)::"r"(src), "r"(dst) : DV_CLOBBERS, "memory");
        break;
    }
  }
  return 16;
}

// arg: VectorLoop. ops/s = the loop's 16 VPDPBUSD (or FMA) per iteration, per second, one thread.
// The mixed loops add other instructions per iteration: if ops/s drops, they compete for the same
// execution resources. On Zen 4: FMA yes, pack no, 16 VPANDQ no, broadcast loads no, and four
// 512-bit stores cost about as much as six VPDPBUSD (the panel kernels avoid stores for that).
void BM_VectorOps(benchmark::State& state) {
  if (!dv::cpu::Features().avx512_vnni) {
    state.SkipWithError("no AVX-512 VNNI");
    return;
  }
  constexpr int64_t kIterations = 1 << 20;
  const auto loop = static_cast<VectorLoop>(state.range(0));
  int per_iteration = 0;
  for (auto _ : state) per_iteration = VectorLoopRun(loop, kIterations);
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(per_iteration) * kIterations * state.iterations(), benchmark::Counter::kIsRate);
  static const char* const kNames[] = {"vpdpbusd ymm", "vpdpbusd zmm", "vfmadd zmm", "vpdpbusd zmm + 8 vfmadd",
                                       "vpdpbusd zmm + 8 vpackssdw", "vpdpbusd zmm + 16 vpandq",
                                       "vpdpbusd zmm + 16 vpbroadcastq m64", "vpdpbusd zmm + 4 stores zmm"};
  state.SetLabel(kNames[state.range(0)]);
}
BENCHMARK(BM_VectorOps)->DenseRange(kDpbusd256, kDpbusdStore512)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
