//===- fma_peak.h - The CPU's measured FMA throughput ---------------*- C++ -*-===//
//
// Benchmarks report GFLOP/s as a fraction of what this machine's FMA units
// can do, measured here rather than taken from a data sheet.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_BENCH_FMA_PEAK_H
#define SIMCLR_BENCH_FMA_PEAK_H

/// FMA peak in GFLOP/s of `threads` threads running independent chains of the
/// widest FMA the CPU has (AVX-512 or AVX2); 0 without AVX2+FMA. `*isa` names
/// the instruction set used.
double measureFmaPeak(int threads, const char **isa);

#endif // SIMCLR_BENCH_FMA_PEAK_H
