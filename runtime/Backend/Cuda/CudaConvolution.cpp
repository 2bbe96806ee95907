//===- CudaConvolution.cpp - The convolution externs through cuDNN 9's graph API ===//
//
// Planning a call, in order:
//   1. the graph with the filter as stored (OIHW): tensors x, w, y by
//      dimensions and strides, the convolution, the one operation;
//   2. heuristics (mode A, then fallback), each engine config in their
//      order: its engine's numerical notes checked, then the execution
//      plan finalized; the first that passes wins;
//   3. only when nothing passed and an activation is channels-last: 1 and
//      2 again with a KRSC filter (a copy in the workspace).
//
//===----------------------------------------------------------------------===//
#include "Cuda/CudaConvolution.h"

#include <array>
#include <cstdlib>

namespace simclr::runtime::cuda {
namespace {

/// The tensors' unique ids in the graph and the variant pack.
constexpr int64_t kUidX = 1, kUidW = 2, kUidY = 3;
/// What cuDNN may assume of every tensor address: the plan aligns every
/// buffer to at least 64 bytes, the filter copy is aligned to
/// kWorkspaceAlignment; 16 is what cuDNN's vectorized engines ask.
constexpr int64_t kTensorAlignment = 16;
/// Alignment of the pieces of a call's workspace (cudaMalloc's own).
constexpr size_t kWorkspaceAlignment = 256;
constexpr int64_t kSpatialDims = 2;

size_t alignUp(size_t bytes) {
  return (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment *
         kWorkspaceAlignment;
}

Expected<CudnnDescriptor> create(const CudnnApi &api,
                                 cudnnBackendDescriptorType_t type) {
  cudnnBackendDescriptor_t descriptor = nullptr;
  SIMCLR_CUDNN_CHECK(api, cudnnBackendCreateDescriptor(type, &descriptor));
  return CudnnDescriptor(&api, descriptor);
}

Status set(const CudnnApi &api, const CudnnDescriptor &d,
           cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
           int64_t count, const void *values) {
  SIMCLR_CUDNN_CHECK(
      api, cudnnBackendSetAttribute(d.get(), name, type, count, values));
  return Status::ok();
}

Status finalize(const CudnnApi &api, const CudnnDescriptor &d) {
  SIMCLR_CUDNN_CHECK(api, cudnnBackendFinalize(d.get()));
  return Status::ok();
}

Expected<CudnnDescriptor> tensor(const CudnnApi &api, int64_t uid,
                                 const Dims4 &dims, const Dims4 &strides) {
  Expected<CudnnDescriptor> t = create(api, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  if (!t)
    return t;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int64_t alignment = kTensorAlignment;
  SIMCLR_RETURN_IF_ERROR(set(api, *t, CUDNN_ATTR_TENSOR_DATA_TYPE,
                             CUDNN_TYPE_DATA_TYPE, 1, &type));
  SIMCLR_RETURN_IF_ERROR(set(api, *t, CUDNN_ATTR_TENSOR_DIMENSIONS,
                             CUDNN_TYPE_INT64, 4, dims.data()));
  SIMCLR_RETURN_IF_ERROR(set(api, *t, CUDNN_ATTR_TENSOR_STRIDES,
                             CUDNN_TYPE_INT64, 4, strides.data()));
  SIMCLR_RETURN_IF_ERROR(
      set(api, *t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid));
  SIMCLR_RETURN_IF_ERROR(set(api, *t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT,
                             CUDNN_TYPE_INT64, 1, &alignment));
  SIMCLR_RETURN_IF_ERROR(finalize(api, *t));
  return t;
}

/// Whether an engine's numerical notes allow it (the header's rules).
bool acceptable(const cudnnBackendNumericalNote_t *notes, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    switch (notes[i]) {
    case CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC:
    case CUDNN_NUMERICAL_NOTE_TENSOR_CORE:
    case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS:
    case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION:
      return false;
    default:
      break;
    }
  return true;
}

const char *directionName(ConvDirection direction) {
  switch (direction) {
  case ConvDirection::kForward:
    return "forward";
  case ConvDirection::kBackwardData:
    return "backward-data";
  case ConvDirection::kBackwardFilter:
    return "backward-filter";
  }
  return "?";
}

/// The graph of one convolution and the engine chosen for it.
struct Candidate {
  std::vector<CudnnDescriptor> graph;
  CudnnDescriptor plan;
  size_t workspace = 0;
  int64_t engineIndex = -1;
};

/// Steps 1 and 2 of the file comment for one filter layout; no value (and
/// an OK status in `why`) when no engine passes.
Expected<bool> chooseEngine(const CudnnApi &api, cudnnHandle_t handle,
                            const ConvProblem &p, FilterLayout filterLayout,
                            Candidate &out, std::string &why) {
  out = Candidate();
  Expected<Dims4> xStrides = activationStrides(p.xLayout, p.x);
  Expected<Dims4> yStrides = activationStrides(p.yLayout, p.y);
  if (!xStrides)
    return xStrides.takeStatus();
  if (!yStrides)
    return yStrides.takeStatus();
  Expected<CudnnDescriptor> x = tensor(api, kUidX, p.x, *xStrides);
  if (!x)
    return x.takeStatus();
  Expected<CudnnDescriptor> w =
      tensor(api, kUidW, p.w, filterStrides(filterLayout, p.w));
  if (!w)
    return w.takeStatus();
  Expected<CudnnDescriptor> y = tensor(api, kUidY, p.y, *yStrides);
  if (!y)
    return y.takeStatus();

  Expected<CudnnDescriptor> conv =
      create(api, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  if (!conv)
    return conv.takeStatus();
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  int64_t dims = kSpatialDims;
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE,
                             CUDNN_TYPE_DATA_TYPE, 1, &compute));
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE,
                             CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS,
                             CUDNN_TYPE_INT64, 1, &dims));
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_DILATIONS,
                             CUDNN_TYPE_INT64, kSpatialDims,
                             p.dilation.data()));
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES,
                             CUDNN_TYPE_INT64, kSpatialDims, p.stride.data()));
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS,
                             CUDNN_TYPE_INT64, kSpatialDims, p.padding.data()));
  SIMCLR_RETURN_IF_ERROR(set(api, *conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS,
                             CUDNN_TYPE_INT64, kSpatialDims, p.padding.data()));
  SIMCLR_RETURN_IF_ERROR(finalize(api, *conv));

  // The operation: its type and attribute names per direction.
  struct OperationNames {
    cudnnBackendDescriptorType_t type;
    cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
  };
  static constexpr OperationNames kNames[] = {
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA},
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA},
      {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
       CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA}};
  const OperationNames &names = kNames[static_cast<int>(p.direction)];
  Expected<CudnnDescriptor> op = create(api, names.type);
  if (!op)
    return op.takeStatus();
  cudnnBackendDescriptor_t xd = x->get(), wd = w->get(), yd = y->get(),
                           cd = conv->get();
  // y = alpha * conv + beta * y, with beta = 0: the output is overwritten.
  float alpha = 1.0f, beta = 0.0f;
  SIMCLR_RETURN_IF_ERROR(
      set(api, *op, names.x, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &xd));
  SIMCLR_RETURN_IF_ERROR(
      set(api, *op, names.w, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &wd));
  SIMCLR_RETURN_IF_ERROR(
      set(api, *op, names.y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &yd));
  SIMCLR_RETURN_IF_ERROR(
      set(api, *op, names.conv, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cd));
  SIMCLR_RETURN_IF_ERROR(
      set(api, *op, names.alpha, CUDNN_TYPE_FLOAT, 1, &alpha));
  SIMCLR_RETURN_IF_ERROR(set(api, *op, names.beta, CUDNN_TYPE_FLOAT, 1, &beta));
  SIMCLR_RETURN_IF_ERROR(finalize(api, *op));

  Expected<CudnnDescriptor> graph =
      create(api, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  if (!graph)
    return graph.takeStatus();
  cudnnBackendDescriptor_t od = op->get();
  SIMCLR_RETURN_IF_ERROR(set(api, *graph, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                             CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &od));
// The handle attributes are deprecated in cuDNN 9.x (plans may be made
// from device properties instead) but still what ties them to a device.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SIMCLR_RETURN_IF_ERROR(set(api, *graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE,
                             CUDNN_TYPE_HANDLE, 1, &handle));
  SIMCLR_RETURN_IF_ERROR(finalize(api, *graph));
  cudnnBackendDescriptor_t gd = graph->get();

  std::string rejected;
  for (cudnnBackendHeurMode_t heurMode :
       {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    Expected<CudnnDescriptor> heuristics =
        create(api, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    if (!heuristics)
      return heuristics.takeStatus();
    SIMCLR_RETURN_IF_ERROR(set(api, *heuristics,
                               CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &gd));
    SIMCLR_RETURN_IF_ERROR(set(api, *heuristics, CUDNN_ATTR_ENGINEHEUR_MODE,
                               CUDNN_TYPE_HEUR_MODE, 1, &heurMode));
    if (api.cudnnBackendFinalize(heuristics->get()) != CUDNN_STATUS_SUCCESS)
      continue; // no heuristics of this mode for this graph
    int64_t count = 0;
    SIMCLR_CUDNN_CHECK(api,
                       cudnnBackendGetAttribute(
                           heuristics->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                           CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
    std::vector<CudnnDescriptor> configs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < count; ++i) {
      Expected<CudnnDescriptor> config =
          create(api, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      if (!config)
        return config.takeStatus();
      raw.push_back(config->get());
      configs.push_back(std::move(*config));
    }
    int64_t returned = 0;
    SIMCLR_CUDNN_CHECK(
        api, cudnnBackendGetAttribute(
                 heuristics->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                 CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &returned, raw.data()));
    for (int64_t i = 0; i < returned; ++i) {
      Expected<CudnnDescriptor> engine =
          create(api, CUDNN_BACKEND_ENGINE_DESCRIPTOR);
      if (!engine)
        return engine.takeStatus();
      cudnnBackendDescriptor_t ed = engine->get();
      int64_t got = 0;
      SIMCLR_CUDNN_CHECK(api, cudnnBackendGetAttribute(
                                  raw[i], CUDNN_ATTR_ENGINECFG_ENGINE,
                                  CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got, &ed));
      std::array<cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_TYPE_COUNT>
          notes{};
      int64_t noteCount = 0;
      SIMCLR_CUDNN_CHECK(
          api, cudnnBackendGetAttribute(ed, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                        CUDNN_TYPE_NUMERICAL_NOTE, notes.size(),
                                        &noteCount, notes.data()));
      int64_t index = -1;
      api.cudnnBackendGetAttribute(ed, CUDNN_ATTR_ENGINE_GLOBAL_INDEX,
                                   CUDNN_TYPE_INT64, 1, &got, &index);
      if (!acceptable(notes.data(), noteCount)) {
        rejected += " " + std::to_string(index) + "(notes)";
        continue;
      }
      Expected<CudnnDescriptor> plan =
          create(api, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      if (!plan)
        return plan.takeStatus();
      SIMCLR_RETURN_IF_ERROR(set(api, *plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE,
                                 CUDNN_TYPE_HANDLE, 1, &handle));
      SIMCLR_RETURN_IF_ERROR(set(api, *plan,
                                 CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw[i]));
      if (api.cudnnBackendFinalize(plan->get()) != CUDNN_STATUS_SUCCESS) {
        rejected += " " + std::to_string(index) + "(plan)";
        continue;
      }
      int64_t workspace = 0;
      SIMCLR_CUDNN_CHECK(api, cudnnBackendGetAttribute(
                                  plan->get(),
                                  CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                  CUDNN_TYPE_INT64, 1, &got, &workspace));
      out.graph.push_back(std::move(*x));
      out.graph.push_back(std::move(*w));
      out.graph.push_back(std::move(*y));
      out.graph.push_back(std::move(*conv));
      out.graph.push_back(std::move(*op));
      out.graph.push_back(std::move(*graph));
      out.graph.push_back(std::move(configs[i]));
      out.plan = std::move(*plan);
      out.workspace = static_cast<size_t>(workspace);
      out.engineIndex = index;
      return true;
    }
  }
#pragma GCC diagnostic pop
  why = "engines rejected:" + (rejected.empty() ? " none offered" : rejected);
  return false;
}

} // namespace

CudnnDescriptor &CudnnDescriptor::operator=(CudnnDescriptor &&other) noexcept {
  if (this != &other) {
    if (descriptor_)
      api_->cudnnBackendDestroyDescriptor(descriptor_);
    api_ = other.api_;
    descriptor_ = other.descriptor_;
    other.descriptor_ = nullptr;
  }
  return *this;
}

CudnnDescriptor::~CudnnDescriptor() {
  if (descriptor_)
    api_->cudnnBackendDestroyDescriptor(descriptor_);
}

Expected<std::unique_ptr<CudnnConvolution>> CudnnConvolution::plan(
    const CudnnApi &cudnn, cudnnHandle_t handle, const CublasLtApi &cublasLt,
    cublasLtHandle_t cublasLtHandle, const ConvProblem &problem) {
  std::unique_ptr<CudnnConvolution> call(new CudnnConvolution(cudnn, handle));
  call->problem_ = problem;
  bool channelsLast =
      problem.xLayout == Layout::kNhwc || problem.yLayout == Layout::kNhwc;
  // SIMCLR_CUDNN_FILTER_COPY=1: channels-last calls take the KRSC copy even
  // where an engine takes the OIHW filter (the device test runs both).
  const char *forceCopy = std::getenv("SIMCLR_CUDNN_FILTER_COPY");
  bool tryOihw = !(channelsLast && forceCopy && std::string(forceCopy) == "1");
  Candidate chosen;
  std::string why = "OIHW filter skipped (SIMCLR_CUDNN_FILTER_COPY=1)";
  Expected<bool> found = false;
  if (tryOihw)
    found =
        chooseEngine(cudnn, handle, problem, FilterLayout::kOihw, chosen, why);
  if (!found)
    return found.takeStatus();
  FilterLayout filterLayout = FilterLayout::kOihw;
  if (!*found && channelsLast) {
    std::string whyOihw = why;
    found =
        chooseEngine(cudnn, handle, problem, FilterLayout::kKrsc, chosen, why);
    if (!found)
      return found.takeStatus();
    why = "OIHW filter: " + whyOihw + "; KRSC filter: " + why;
    filterLayout = FilterLayout::kKrsc;
  }
  if (!*found)
    return unavailable(std::string("cuDNN has no deterministic float32 ") +
                       directionName(problem.direction) +
                       " convolution engine without TF32 for these shapes (" +
                       why + ")");
  call->graph_ = std::move(chosen.graph);
  call->plan_ = std::move(chosen.plan);
  call->engineWorkspace_ = chosen.workspace;
  call->engine_ = "engine " + std::to_string(chosen.engineIndex) + " (" +
                  (filterLayout == FilterLayout::kOihw ? "OIHW" : "KRSC") +
                  " filter)";
  if (filterLayout == FilterLayout::kKrsc) {
    bool toKrsc = problem.direction != ConvDirection::kBackwardFilter;
    Expected<std::unique_ptr<LtFilterTransform>> transform =
        LtFilterTransform::plan(cublasLt, cublasLtHandle, problem.w, toKrsc);
    if (!transform)
      return transform.takeStatus();
    call->filterTransform_ = std::move(*transform);
    call->filterCopyOffset_ = alignUp(call->engineWorkspace_);
    call->filterCopyBytes_ = static_cast<size_t>(problem.w[0] * problem.w[1] *
                                                 problem.w[2] * problem.w[3]) *
                             sizeof(float);
  }
  return call;
}

size_t CudnnConvolution::workspaceBytes() const {
  return filterTransform_ ? filterCopyOffset_ + alignUp(filterCopyBytes_)
                          : engineWorkspace_;
}

Status CudnnConvolution::bind(const std::vector<void *> &operands,
                              void *workspace) {
  void *w = operands[problem_.wOperand];
  if (filterTransform_) {
    filter_ = w;
    filterCopy_ = static_cast<char *>(workspace) + filterCopyOffset_;
    w = filterCopy_;
  }
  std::array<int64_t, 3> uids = {kUidX, kUidW, kUidY};
  std::array<void *, 3> pointers = {operands[problem_.xOperand], w,
                                    operands[problem_.yOperand]};
  Expected<CudnnDescriptor> pack =
      create(cudnn_, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  if (!pack)
    return pack.takeStatus();
  SIMCLR_RETURN_IF_ERROR(set(cudnn_, *pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS,
                             CUDNN_TYPE_INT64, 3, uids.data()));
  SIMCLR_RETURN_IF_ERROR(set(cudnn_, *pack,
                             CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                             CUDNN_TYPE_VOID_PTR, 3, pointers.data()));
  SIMCLR_RETURN_IF_ERROR(set(cudnn_, *pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE,
                             CUDNN_TYPE_VOID_PTR, 1, &workspace));
  SIMCLR_RETURN_IF_ERROR(finalize(cudnn_, *pack));
  variantPack_ = std::move(*pack);
  return Status::ok();
}

Status CudnnConvolution::run(CUstream stream) const {
  bool transposeAfter = problem_.direction == ConvDirection::kBackwardFilter;
  if (filterTransform_ && !transposeAfter)
    SIMCLR_RETURN_IF_ERROR(filterTransform_->run(stream, filter_, filterCopy_));
  SIMCLR_CUDNN_CHECK(
      cudnn_, cudnnBackendExecute(handle_, plan_.get(), variantPack_.get()));
  if (filterTransform_ && transposeAfter)
    SIMCLR_RETURN_IF_ERROR(filterTransform_->run(stream, filterCopy_,
                                                 const_cast<void *>(filter_)));
  return Status::ok();
}

} // namespace simclr::runtime::cuda
