//===- fma_peak.cpp - The CPU's measured FMA throughput -------------------===//
#include "fma_peak.h"

#include <chrono>
#include <cstdint>
#include <immintrin.h>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Independent FMA chains in the peak loop: 2 FMA ports x 4 cycles latency on
/// recent x86 cores need 8 in flight. With AVX-512, 16 leave margin in the 32
/// zmm registers; AVX2 has 16 ymm registers, two of which hold the
/// constants, so 12 chains (16 spilled to the stack and measured half the
/// peak on an AMD EPYC Zen 3).
constexpr int kFmaChains512 = 16;
constexpr int kFmaChains256 = 12;
/// FMA iterations per peak measurement (~0.1 s at 3 GHz).
constexpr int64_t kFmaIterations = 20'000'000;

/// Sum of every lane of every chain, so that none is optimized away.
template <typename V, int Lanes, int Chains> float sumChains(const V *acc) {
  float total = 0;
  for (int c = 0; c < Chains; ++c)
    for (int l = 0; l < Lanes; ++l)
      total += acc[c][l];
  return total;
}

// acc * a + b with a just under 1 stays bounded and never denormal.
__attribute__((target("avx512f"))) float fmaChains512(int64_t iterations) {
  __m512 acc[kFmaChains512];
  for (int c = 0; c < kFmaChains512; ++c)
    acc[c] = _mm512_set1_ps(0.001f * static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < kFmaChains512; ++c)
      acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  return sumChains<__m512, 16, kFmaChains512>(acc);
}

__attribute__((target("avx2,fma"))) float fmaChains256(int64_t iterations) {
  __m256 acc[kFmaChains256];
  for (int c = 0; c < kFmaChains256; ++c)
    acc[c] = _mm256_set1_ps(0.001f * static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < kFmaChains256; ++c)
      acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  return sumChains<__m256, 8, kFmaChains256>(acc);
}

} // namespace

double measureFmaPeak(int threads, const char **isa) {
  bool avx512 = __builtin_cpu_supports("avx512f");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx512 && !avx2) {
    *isa = "none";
    return 0;
  }
  *isa = avx512 ? "AVX-512 (16 floats)" : "AVX2 (8 floats)";
  int lanes = avx512 ? 16 : 8;
  std::vector<float> sinks(threads);
  auto body = [&](int t) {
    sinks[t] =
        avx512 ? fmaChains512(kFmaIterations) : fmaChains256(kFmaIterations);
  };
  body(0); // warm-up: frequency ramp
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(body, t);
  for (std::thread &thread : pool)
    thread.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  volatile float sink = sinks[0]; // keeps the chains from being optimized away
  (void)sink;
  int chains = avx512 ? kFmaChains512 : kFmaChains256;
  return 2.0 * lanes * chains * kFmaIterations * threads / seconds / 1e9;
}
