//===- CudaConvolution.h - The convolution externs through cuDNN 9's graph API -*- C++ -*-===//
//
// conv2d, conv2d_backward_input and conv2d_backward_filter are each a
// one-operation cuDNN graph (the backend C API: the legacy convolution
// entry points are deprecated in cuDNN 9, cudnn-frontend is not
// installed): tensors described by dimensions and strides (the buffers'
// own layouts, CudaExternProblems.h), float data with float compute, the
// engine the first of cuDNN's heuristics (CUDNN_HEUR_MODE_A, then the
// fallback list) that
//   - is deterministic (no CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC: a resumed
//     run must be bit-identical to a straight one),
//   - does not use tensor cores on float data (CUDNN_NUMERICAL_NOTE_
//     TENSOR_CORE, _DOWN_CONVERT_INPUTS, _REDUCED_PRECISION_REDUCTION:
//     TF32 would break the 1e-4 comparisons),
//   - and whose execution plan finalizes.
// When no engine takes the state's OIHW filter next to channels-last
// activations, the call uses a KRSC copy of the filter in its workspace,
// transposed by cuBLASLt (LtFilterTransform) before the call (forward,
// backward data) or back into the OIHW gradient after it (backward filter).
//
// Ownership: a CudnnConvolution owns its descriptors; the cuDNN and
// cuBLASLt handles belong to the CudaBackend and outlive it.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDACONVOLUTION_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDACONVOLUTION_H

#include "Cuda/CudaExternProblems.h"
#include "Cuda/CudaLibraries.h"
#include "Cuda/CudaMatmul.h"

#include <memory>
#include <string>
#include <vector>

namespace simclr::runtime::cuda {

/// A cuDNN backend descriptor, destroyed with its owner.
class CudnnDescriptor {
public:
  CudnnDescriptor() = default;
  CudnnDescriptor(const CudnnApi *api, cudnnBackendDescriptor_t descriptor)
      : api_(api), descriptor_(descriptor) {}
  CudnnDescriptor(CudnnDescriptor &&other) noexcept {
    *this = std::move(other);
  }
  CudnnDescriptor &operator=(CudnnDescriptor &&other) noexcept;
  ~CudnnDescriptor();
  cudnnBackendDescriptor_t get() const { return descriptor_; }

private:
  const CudnnApi *api_ = nullptr;
  cudnnBackendDescriptor_t descriptor_ = nullptr;
};

class CudnnConvolution {
public:
  /// Builds the graph of `problem` and chooses its engine.
  static Expected<std::unique_ptr<CudnnConvolution>>
  plan(const CudnnApi &cudnn, cudnnHandle_t handle, const CublasLtApi &cublasLt,
       cublasLtHandle_t cublasLtHandle, const ConvProblem &problem);

  /// The engine's workspace plus, when it takes a KRSC filter, the copy.
  size_t workspaceBytes() const;
  /// "engine 12 (OIHW filter)": what was chosen, for messages.
  const std::string &engineDescription() const { return engine_; }

  /// Binds the operands (x, w, y as the problem's operand indices say) and
  /// the workspace: the variant pack, built once.
  Status bind(const std::vector<void *> &operands, void *workspace);
  /// Enqueues the call on `stream` (the cuDNN handle's stream).
  Status run(CUstream stream) const;

private:
  CudnnConvolution(const CudnnApi &cudnn, cudnnHandle_t handle)
      : cudnn_(cudnn), handle_(handle) {}

  const CudnnApi &cudnn_;
  cudnnHandle_t handle_;
  ConvProblem problem_;
  /// The tensors, operation and graph the plan was made from (kept for
  /// as long as the plan), then the plan and its variant pack.
  std::vector<CudnnDescriptor> graph_;
  CudnnDescriptor plan_, variantPack_;
  size_t engineWorkspace_ = 0;
  std::string engine_;
  /// Set when the engine takes a KRSC filter: the transpose, and the
  /// copy's place in the workspace (after the engine's own).
  std::unique_ptr<LtFilterTransform> filterTransform_;
  size_t filterCopyOffset_ = 0, filterCopyBytes_ = 0;
  const void *filter_ = nullptr;
  void *filterCopy_ = nullptr;
};

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDACONVOLUTION_H
