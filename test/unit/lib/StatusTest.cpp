//===- StatusTest.cpp - Tests for Status and Expected ---------------------===//
#include "simclr/Support/Status.h"

#include <gtest/gtest.h>

namespace simclr {
namespace {

Expected<int> parsePositive(int value) {
  if (value <= 0)
    return invalidArgument("value " + std::to_string(value) + " is not positive");
  return value;
}

Status chain(int value) {
  Expected<int> parsed = parsePositive(value);
  if (!parsed)
    return parsed.takeStatus().withContext("chain");
  SIMCLR_RETURN_IF_ERROR(*parsed > 100 ? invalidArgument("too big") : Status::ok());
  return Status::ok();
}

TEST(StatusTest, OkStatusHasNoMessage) {
  Status status;
  EXPECT_TRUE(status.isOk());
  EXPECT_EQ(status.toString(), "ok");
}

TEST(StatusTest, ErrorCarriesCodeAndContext) {
  Status status = chain(-3);
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "chain: value -3 is not positive");
  EXPECT_EQ(status.toString(), "invalid-argument: chain: value -3 is not positive");
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  EXPECT_TRUE(chain(7).isOk());
  Status tooBig = chain(101);
  EXPECT_EQ(tooBig.message(), "too big");
}

TEST(StatusTest, ExpectedHoldsValue) {
  Expected<int> value = parsePositive(4);
  ASSERT_TRUE(value.hasValue());
  EXPECT_EQ(*value, 4);
}

} // namespace
} // namespace simclr
