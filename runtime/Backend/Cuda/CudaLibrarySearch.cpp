//===- CudaLibrarySearch.cpp - Where the CUDA libraries are looked for ----===//
#include "Cuda/CudaLibrarySearch.h"

namespace simclr::runtime::cuda {

std::vector<std::string> cudaLibraryCandidates(std::string_view soname,
                                               const char *searchPath) {
  std::vector<std::string> candidates;
  std::string_view path = searchPath ? searchPath : "";
  while (!path.empty()) {
    size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    if (!dir.empty()) {
      std::string candidate(dir);
      if (candidate.back() != '/')
        candidate += '/';
      candidates.push_back(candidate + std::string(soname));
    }
    if (colon == std::string_view::npos)
      break;
    path.remove_prefix(colon + 1);
  }
  candidates.emplace_back(soname);
  candidates.push_back(std::string(kToolkitLibraryDir) + "/" +
                       std::string(soname));
  return candidates;
}

std::string describeLibrarySearch(const char *searchPath) {
  std::string variable = std::string(kLibraryPathVariable) + " (" +
                         (searchPath && *searchPath ? searchPath : "unset") +
                         ")";
  return variable + ", the loader's path (LD_LIBRARY_PATH, ld.so.cache), " +
         kToolkitLibraryDir;
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

} // namespace simclr::runtime::cuda
