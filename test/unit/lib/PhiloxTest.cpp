//===- PhiloxTest.cpp - Tests of Philox-4x32-10 and ImageStream -----------===//
//
// The generator is pinned to Random123's published known-answer vectors
// (kat_vectors, philox4x32_10), so any change to the rounds, constants or
// word order fails here before it silently changes every augmentation.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/Philox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace simclr {
namespace {

TEST(PhiloxTest, KnownAnswerZero) {
  PhiloxBlock out = philox4x32(RngKey{{0, 0}}, {0, 0, 0, 0});
  EXPECT_EQ(out,
            (PhiloxBlock{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
}

TEST(PhiloxTest, KnownAnswerAllOnes) {
  PhiloxBlock out =
      philox4x32(RngKey{{0xffffffffu, 0xffffffffu}},
                 {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu});
  EXPECT_EQ(out,
            (PhiloxBlock{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
}

TEST(PhiloxTest, KnownAnswerPiDigits) {
  PhiloxBlock out =
      philox4x32(RngKey{{0xa4093822u, 0x299f31d0u}},
                 {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u});
  EXPECT_EQ(out,
            (PhiloxBlock{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(PhiloxTest, KeyFromSeedSplitsLowAndHigh) {
  RngKey key = keyFromSeed(0x0123456789abcdefull);
  EXPECT_EQ(key.words[0], 0x89abcdefu);
  EXPECT_EQ(key.words[1], 0x01234567u);
}

TEST(PhiloxTest, FoldInIsPhiloxOfTheTag) {
  RngKey key{{0xa4093822u, 0x299f31d0u}};
  uint64_t tag = 0x85a308d3243f6a88ull;
  PhiloxBlock block = philox4x32(key, {0x243f6a88u, 0x85a308d3u, 0, 0});
  RngKey folded = foldIn(key, tag);
  EXPECT_EQ(folded.words[0], block[0]);
  EXPECT_EQ(folded.words[1], block[1]);
}

TEST(PhiloxTest, FoldInIsDeterministicAndDiffersPerTag) {
  RngKey key = keyFromSeed(42);
  EXPECT_EQ(foldIn(key, 0), foldIn(key, 0));
  std::set<std::pair<uint32_t, uint32_t>> keys;
  for (uint64_t tag : {0ull, 1ull, 2ull, 1ull << 32, ~0ull}) {
    RngKey folded = foldIn(key, tag);
    EXPECT_NE(folded, key) << "tag " << tag;
    keys.insert({folded.words[0], folded.words[1]});
  }
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_NE(foldIn(key, 1), foldIn(keyFromSeed(43), 1));
}

TEST(PhiloxTest, StreamWordsFollowTheCounterLayout) {
  RngKey key{{7, 9}};
  uint64_t image = 0x100000003ull;
  ImageStream stream(key, image);
  std::vector<uint32_t> words;
  for (int d = 0; d < 9; ++d)
    words.push_back(stream.nextWord());
  EXPECT_EQ(stream.drawsConsumed(), 9u);
  for (uint32_t blockIndex = 0; blockIndex < 3; ++blockIndex) {
    PhiloxBlock block = philox4x32(key, {3, 1, blockIndex, 0});
    for (uint32_t w = 0; w < 4 && blockIndex * 4 + w < words.size(); ++w)
      EXPECT_EQ(words[blockIndex * 4 + w], block[w])
          << "draw " << blockIndex * 4 + w;
  }
}

TEST(PhiloxTest, UniformIsTheTop24BitsOfTheWord) {
  ImageStream words(keyFromSeed(5), 2), uniforms(keyFromSeed(5), 2);
  for (int d = 0; d < 8; ++d) {
    uint32_t word = words.nextWord();
    double u = uniforms.uniform();
    EXPECT_EQ(u, std::ldexp(static_cast<double>(word >> 8), -24));
    // Exactly representable in float: a float kernel sees the same value.
    EXPECT_EQ(static_cast<double>(static_cast<float>(u)), u);
  }
}

TEST(PhiloxTest, UniformLiesInUnitIntervalWithSaneMoments) {
  constexpr int kDraws = 100000;
  // The mean of n uniforms has standard deviation sqrt(1/12/n) ~ 9.1e-4;
  // 5e-3 is over five of them, so a correct generator never fails.
  constexpr double kMeanTolerance = 5e-3;
  ImageStream stream(keyFromSeed(2024), 0);
  double sum = 0, sumSquares = 0;
  for (int i = 0; i < kDraws; ++i) {
    double u = stream.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sumSquares += u * u;
  }
  EXPECT_NEAR(sum / kDraws, 0.5, kMeanTolerance);
  EXPECT_NEAR(sumSquares / kDraws, 1.0 / 3.0, kMeanTolerance);
}

TEST(PhiloxTest, UniformRangeScalesTheDraw) {
  ImageStream a(keyFromSeed(8), 1), b(keyFromSeed(8), 1);
  for (int i = 0; i < 16; ++i) {
    double u = a.uniform();
    EXPECT_EQ(b.uniform(-2.0, 3.0), -2.0 + 5.0 * u);
  }
}

TEST(PhiloxTest, RandintIsInclusiveAndHitsEveryValue) {
  ImageStream stream(keyFromSeed(77), 4);
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 7000; ++i) {
    int64_t value = stream.randint(-3, 3);
    ASSERT_GE(value, -3);
    ASSERT_LE(value, 3);
    ++hits[static_cast<size_t>(value + 3)];
  }
  for (size_t v = 0; v < hits.size(); ++v)
    EXPECT_GT(hits[v], 800) << "value " << static_cast<int>(v) - 3;
  EXPECT_EQ(stream.randint(5, 5), 5);
  EXPECT_EQ(stream.drawsConsumed(), 7001u);
}

TEST(PhiloxTest, RandintFormula) {
  ImageStream a(keyFromSeed(3), 0), b(keyFromSeed(3), 0);
  for (int i = 0; i < 32; ++i) {
    double u = a.uniform();
    EXPECT_EQ(b.randint(10, 19), 10 + static_cast<int64_t>(std::floor(u * 10)));
  }
}

TEST(PhiloxTest, StreamsDependOnKeyAndImageOnly) {
  ImageStream a(keyFromSeed(1), 0), again(keyFromSeed(1), 0),
      otherImage(keyFromSeed(1), 1), otherKey(keyFromSeed(2), 0);
  uint32_t first = a.nextWord();
  EXPECT_EQ(again.nextWord(), first);
  EXPECT_NE(otherImage.nextWord(), first);
  EXPECT_NE(otherKey.nextWord(), first);
}

} // namespace
} // namespace simclr
