//===- Philox.cpp - Philox-4x32-10 and the per-image random streams -------===//
//
// The round function and constants follow Random123's philox.h (Salmon et
// al., SC'11, section 3.3):
//   (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2          (64-bit products)
//   c' = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
// and between rounds the key is bumped by the Weyl constants.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/Philox.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace simclr {
namespace {

/// Philox-4x32 round multipliers (Random123's PHILOX_M4x32_0 and _1).
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
/// Key schedule increments (Random123's PHILOX_W32_0 and _1: the golden
/// ratio and sqrt(3) - 1, as 32-bit fractions).
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
/// The round count of Philox-4x32-10, the recommended variant.
constexpr int kPhiloxRounds = 10;

/// 2^-24: scales the 24 high bits of a word into [0, 1).
constexpr double kUniformScale = 1.0 / 16777216.0;
/// A word keeps its top 24 bits for uniform(): float's significand width.
constexpr int kUniformDroppedBits = 8;

constexpr int kWordBits = 32;

uint32_t lo32(uint64_t value) { return static_cast<uint32_t>(value); }
uint32_t hi32(uint64_t value) {
  return static_cast<uint32_t>(value >> kWordBits);
}

PhiloxBlock philoxRound(const PhiloxBlock &c, const RngKey &key) {
  uint64_t product0 = static_cast<uint64_t>(kPhiloxM0) * c[0];
  uint64_t product1 = static_cast<uint64_t>(kPhiloxM1) * c[2];
  return {hi32(product1) ^ c[1] ^ key.words[0], lo32(product1),
          hi32(product0) ^ c[3] ^ key.words[1], lo32(product0)};
}

} // namespace

PhiloxBlock philox4x32(RngKey key, PhiloxBlock counter) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round != 0) {
      key.words[0] += kPhiloxW0;
      key.words[1] += kPhiloxW1;
    }
    counter = philoxRound(counter, key);
  }
  return counter;
}

RngKey keyFromSeed(uint64_t seed) { return RngKey{{lo32(seed), hi32(seed)}}; }

RngKey foldIn(RngKey key, uint64_t tag) {
  PhiloxBlock out = philox4x32(key, {lo32(tag), hi32(tag), 0, 0});
  return RngKey{{out[0], out[1]}};
}

uint32_t ImageStream::nextWord() {
  uint64_t wanted = draws / kPhiloxWords;
  assert(wanted <= std::numeric_limits<uint32_t>::max() &&
         "ImageStream: more than 2^34 draws for one image");
  if (!blockValid || wanted != blockIndex) {
    block = philox4x32(
        key, {lo32(image), hi32(image), static_cast<uint32_t>(wanted), 0});
    blockIndex = wanted;
    blockValid = true;
  }
  uint32_t word = block[draws % kPhiloxWords];
  ++draws;
  return word;
}

double ImageStream::uniform() {
  return static_cast<double>(nextWord() >> kUniformDroppedBits) * kUniformScale;
}

double ImageStream::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

int64_t ImageStream::randint(int64_t lo, int64_t hi) {
  assert(lo <= hi && "ImageStream::randint: empty range");
  int64_t span = hi - lo;
  double scaled = std::floor(uniform() * static_cast<double>(span + 1));
  int64_t offset = static_cast<int64_t>(scaled);
  return lo + (offset < span ? offset : span);
}

} // namespace simclr
