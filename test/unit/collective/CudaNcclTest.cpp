//===- CudaNcclTest.cpp - NCCL by dlopen, without a GPU -------------------===//
#include "Cuda/CudaNccl.h"

#include <gtest/gtest.h>

namespace simclr::runtime::cuda {
namespace {

TEST(CudaNccl, MissingLibraryIsOneLine) {
  Expected<std::unique_ptr<NcclApi>> api =
      openNcclLibrary("/nonexistent/libnccl.so.2");
  ASSERT_FALSE(api);
  EXPECT_EQ(api.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(api.status().message().rfind("NCCL unavailable: /nonexistent/", 0), 0u)
      << api.status().message();
  EXPECT_EQ(api.status().message().find('\n'), std::string::npos);
}

TEST(CudaNccl, LibraryWithoutNcclNamesTheMissingFunction) {
  Expected<std::unique_ptr<NcclApi>> api = openNcclLibrary("libc.so.6");
  ASSERT_FALSE(api);
  EXPECT_NE(api.status().message().find("lacks ncclGetVersion"),
            std::string::npos)
      << api.status().message();
}

TEST(CudaNccl, LoadsEveryFunctionWhereInstalled) {
  Expected<const NcclApi *> api = ncclLibrary();
  if (!api) {
    EXPECT_EQ(api.status().message().rfind("NCCL unavailable: ", 0), 0u);
    GTEST_SKIP() << api.status().message();
  }
  // NCCL_VERSION_CODE: major * 10000 + minor * 100 + patch since 2.9.
  EXPECT_GE((*api)->version, 20900) << (*api)->path;
  EXPECT_NE((*api)->ncclAllReduce, nullptr);
  EXPECT_NE((*api)->ncclAllGather, nullptr);
  EXPECT_STREQ((*api)->ncclGetErrorString(ncclInvalidArgument),
               "invalid argument (run with NCCL_DEBUG=WARN for details)");
}

} // namespace
} // namespace simclr::runtime::cuda
