//===- Philox.h - Counter-based random numbers (Philox-4x32-10) -*- C++ -*-===//
//
// Randomness in simclrc is explicit: every random op takes a key
// (!simclr.rng_key), and image n of a batch draws from Philox-4x32-10 under
// that key with counter n. A draw is therefore a pure function of (key,
// image index, draw index): results are bit-identical for any thread count,
// batch split or resume point, and the reference kernels (Augment.h), the
// Halide kernels and the CUDA kernels can all reproduce them.
//
// Philox-4x32-10 is the generator of Salmon, Moraes, Dror and Shaw, "Parallel
// random numbers: as easy as 1, 2, 3" (SC'11), as in Random123; its
// known-answer vectors are pinned in test/unit/lib/PhiloxTest.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_PHILOX_H
#define SIMCLR_SUPPORT_PHILOX_H

#include <array>
#include <cstdint>

namespace simclr {

/// Number of 32-bit words in a Philox-4x32 key (!simclr.rng_key).
constexpr int kRngKeyWords = 2;
/// Number of 32-bit words in a Philox-4x32 counter and in each output block.
constexpr int kPhiloxWords = 4;

/// The runtime value of an !simclr.rng_key: a Philox-4x32 key (k0, k1).
struct RngKey {
  uint32_t words[kRngKeyWords];
};

inline bool operator==(const RngKey &a, const RngKey &b) {
  return a.words[0] == b.words[0] && a.words[1] == b.words[1];
}
inline bool operator!=(const RngKey &a, const RngKey &b) { return !(a == b); }

/// A Philox-4x32 counter or output block (c0, c1, c2, c3).
using PhiloxBlock = std::array<uint32_t, kPhiloxWords>;

/// Philox-4x32-10: the 10-round bijection of `counter` under `key`.
PhiloxBlock philox4x32(RngKey key, PhiloxBlock counter);

/// The key of a 64-bit seed: (low 32 bits, high 32 bits).
RngKey keyFromSeed(uint64_t seed);

/// simclr.rng_fold_in: the first two words of
/// philox4x32(key, (lo32(tag), hi32(tag), 0, 0)), a key independent of `key`
/// and of every other tag.
RngKey foldIn(RngKey key, uint64_t tag);

/// The random stream of image `n` under `key`. Draw d (0, 1, 2, ...) is word
/// d mod 4 of philox4x32(key, (lo32(n), hi32(n), d / 4, 0)), so draw d never
/// depends on how many draws other images or other ops consumed. Every
/// derived draw (uniform, randint) consumes exactly one word.
class ImageStream {
public:
  ImageStream(RngKey key, uint64_t imageIndex) : key(key), image(imageIndex) {}

  /// The next 32-bit word of the stream.
  uint32_t nextWord();

  /// (word >> 8) * 2^-24: a multiple of 2^-24 in [0, 1). Its 24 bits are
  /// exactly representable in float, so a float kernel draws the same value.
  double uniform();

  /// lo + (hi - lo) * uniform(), in double.
  double uniform(double lo, double hi);

  /// An integer in [lo, hi] (inclusive, lo <= hi):
  /// lo + min(floor(uniform() * (hi - lo + 1)), hi - lo). With 24 random
  /// bits it is uniform only up to rounding for spans beyond 2^24, far above
  /// any image extent.
  int64_t randint(int64_t lo, int64_t hi);

  /// How many words this stream has handed out.
  uint64_t drawsConsumed() const { return draws; }

private:
  RngKey key;
  uint64_t image;
  uint64_t draws = 0;
  /// The Philox block holding draws [4 * blockIndex, 4 * blockIndex + 4).
  PhiloxBlock block{};
  uint64_t blockIndex = 0;
  bool blockValid = false;
};

} // namespace simclr

#endif // SIMCLR_SUPPORT_PHILOX_H
