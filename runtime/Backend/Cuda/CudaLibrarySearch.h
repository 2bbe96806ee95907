//===- CudaLibrarySearch.h - Where the CUDA libraries are looked for -*- C++ -*-===//
//
// Pure host code (no CUDA headers), so the search order is tested on any
// machine: CudaLibraries.cpp opens the candidates in this order and reports
// all of them when none opens.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDALIBRARYSEARCH_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDALIBRARYSEARCH_H

#include <string>
#include <string_view>
#include <vector>

namespace simclr::runtime::cuda {

/// The environment variable naming extra directories (colon-separated) to
/// look for the CUDA libraries in before the loader's own search: where
/// pip's nvidia-* wheels put them on a machine that has them only there.
inline constexpr char kLibraryPathVariable[] = "SIMCLR_CUDA_LIBRARY_PATH";
/// The toolkit's library directory, tried last.
inline constexpr char kToolkitLibraryDir[] = "/usr/local/cuda/lib64";

/// The sonames opened (CUDA 13, cuDNN 9).
inline constexpr char kDriverLibrary[] = "libcuda.so.1";
inline constexpr char kCudnnLibrary[] = "libcudnn.so.9";
inline constexpr char kCublasLtLibrary[] = "libcublasLt.so.13";
/// cuDNN 9's sub-libraries, which libcudnn.so.9 opens by soname.
inline constexpr const char *kCudnnSubLibraries[] = {
    "libcudnn_graph.so.9",
    "libcudnn_ops.so.9",
    "libcudnn_cnn.so.9",
    "libcudnn_heuristic.so.9",
    "libcudnn_engines_precompiled.so.9",
    "libcudnn_engines_runtime_compiled.so.9"};

/// What dlopen is given, in order, for library `soname`: DIR/soname for
/// each non-empty DIR of `searchPath` (the variable's value; may be null),
/// then the bare soname (the loader's search), then
/// kToolkitLibraryDir/soname.
std::vector<std::string> cudaLibraryCandidates(std::string_view soname,
                                               const char *searchPath);

/// "SIMCLR_CUDA_LIBRARY_PATH (dirs or 'unset'), the loader's path
/// (LD_LIBRARY_PATH, ld.so.cache), /usr/local/cuda/lib64": where a library
/// was looked for, for the one-line message when it was not found.
std::string describeLibrarySearch(const char *searchPath);

/// The directory part of `path` ("" for a bare name).
std::string directoryOf(const std::string &path);

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDALIBRARYSEARCH_H
