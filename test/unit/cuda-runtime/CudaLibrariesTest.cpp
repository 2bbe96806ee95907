//===- CudaLibrariesTest.cpp - cuDNN and cuBLASLt open without a GPU ------===//
//
// The toolkit on the build machine (and CI) has cuDNN 9 and cuBLASLt but no
// GPU: opening them and resolving every function of their tables needs
// none, so the tables' symbol names are checked here, and the one-line
// error of a failing call (cudnnCreate, cublasLtCreate fail without a GPU).
//
//===----------------------------------------------------------------------===//
#include "Cuda/CudaLibraries.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace simclr::runtime::cuda {
namespace {

bool toolkitHas(const char *soname) {
  return std::filesystem::exists(std::string(kToolkitLibraryDir) + "/" +
                                 soname);
}

TEST(CudaLibraries, CudnnOpensAndResolvesEveryFunction) {
  if (!toolkitHas(kCudnnLibrary))
    GTEST_SKIP() << "no " << kCudnnLibrary << " in " << kToolkitLibraryDir;
  Expected<const CudnnApi *> cudnn = cudnnLibrary();
  ASSERT_TRUE(cudnn) << cudnn.status().message();
  EXPECT_EQ((*cudnn)->cudnnGetVersion() / 10000, size_t{CUDNN_MAJOR});
  // Without a GPU cudnnCreate fails: one line naming the call.
  if (cudaDriver())
    return;
  cudnnHandle_t handle = nullptr;
  cudnnStatus_t status = (*cudnn)->cudnnCreate(&handle);
  ASSERT_NE(status, CUDNN_STATUS_SUCCESS);
  std::string message =
      cudnnError(**cudnn, status, "cudnnCreate(&cudnnHandle_)").message();
  EXPECT_EQ(message.rfind(std::string("cudnnCreate failed: ") +
                              (*cudnn)->cudnnGetErrorString(status),
                          0),
            0u)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(CudaLibraries, CublasLtOpensAndResolvesEveryFunction) {
  if (!toolkitHas(kCublasLtLibrary))
    GTEST_SKIP() << "no " << kCublasLtLibrary << " in " << kToolkitLibraryDir;
  Expected<const CublasLtApi *> cublasLt = cublasLtLibrary();
  ASSERT_TRUE(cublasLt) << cublasLt.status().message();
  EXPECT_GT((*cublasLt)->cublasLtGetVersion(), 0u);
  // A layout is host-side: it works without a GPU.
  cublasLtMatrixLayout_t layout = nullptr;
  ASSERT_EQ(
      (*cublasLt)->cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, 4, 3, 4),
      CUBLAS_STATUS_SUCCESS);
  (*cublasLt)->cublasLtMatrixLayoutDestroy(layout);
  EXPECT_EQ(
      cublasLtError(**cublasLt, CUBLAS_STATUS_NOT_INITIALIZED,
                    "cublasLtCreate(&cublasLtHandle_)")
          .message(),
      std::string("cublasLtCreate failed: ") +
          (*cublasLt)->cublasLtGetStatusString(CUBLAS_STATUS_NOT_INITIALIZED));
}

} // namespace
} // namespace simclr::runtime::cuda
