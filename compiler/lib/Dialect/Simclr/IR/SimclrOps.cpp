//===- SimclrOps.cpp - Verifiers and type inference of simclr ops ---------===//
//
// Every constraint an op's ODS description states is checked here (or by
// ODS itself), with a diagnostic that names the operand or attribute and the
// offending values. Ops whose result shape follows from their operands infer
// it (InferTypeOpAdaptor), so builders need no result types and a written
// result type that disagrees is reported by the InferTypeOpInterface verifier.
// simclr.fusion's verifier is in SimclrFusionOps.cpp.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "VerifierSupport.h"
#include "simclr/Support/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"


using namespace mlir;
using namespace mlir::simclr;
using ::simclr::formatShape;

namespace {

/// Numbers in diagnostics as people write them ("0.5", not "5.000000e-01").
std::string num(double value) { return ::simclr::formatNumber(value); }

LogicalResult verifyProbability(Operation *op, double p) {
  if (p < 0.0 || p > 1.0)
    return op->emitOpError() << "probability p = " << num(p)
                             << " must be in [0, 1]";
  return success();
}

/// Checks `lo <= hi` with `lo > 0` (or `lo >= 0` when `allowZero`) and, when
/// `upper` is given, `hi <= upper`.
LogicalResult verifyRange(Operation *op, StringRef name, ArrayRef<double> range,
                          bool allowZero, std::optional<double> upper) {
  double lo = range[0], hi = range[1];
  bool lowOk = allowZero ? lo >= 0.0 : lo > 0.0;
  if (!lowOk || lo > hi || (upper && hi > *upper)) {
    InFlightDiagnostic diag = op->emitOpError()
                              << name << " = [" << num(lo) << ", " << num(hi)
                              << "] must satisfy 0 " << (allowZero ? "<=" : "<")
                              << " lo <= hi";
    if (upper)
      diag << " <= " << num(*upper);
    return diag;
  }
  return success();
}

/// The C of an NCHW or N x C tensor.
int64_t channelsOf(Type type) { return cast<RankedTensorType>(type).getDimSize(1); }

/// Checks that `vector` is a 1-D tensor of `expected` entries.
LogicalResult verifyPerChannel(Operation *op, StringRef name, Type vector,
                               int64_t expected) {
  auto type = cast<RankedTensorType>(vector);
  if (type.getDimSize(0) != expected)
    return op->emitOpError() << name << " has " << type.getDimSize(0)
                             << " entries but the input has " << expected
                             << " channels";
  return success();
}

/// Size of a convolution or pooling window's output along one dimension
/// (floor mode), as torch computes it.
int64_t windowOutputSize(int64_t input, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t dilation) {
  int64_t span = input + 2 * padding - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  return span / stride + 1;
}

} // namespace

/// Checks that `op`'s operands compose (through `inferFn`) and that its
/// written result types are the inferred ones.
template <typename OpT, typename InferFn>
LogicalResult verifyInferredResults(OpT op, InferFn inferFn) {
  SmallVector<Type, 3> inferred;
  if (failed(inferFn(typename OpT::Adaptor(op), [&] { return op.emitOpError(); },
                     inferred)))
    return failure();
  if (TypeRange(inferred) != op->getResultTypes()) {
    InFlightDiagnostic diag = op.emitOpError() << "result type(s) ";
    llvm::interleaveComma(op->getResultTypes(), diag);
    diag << " differ from the inferred ";
    llvm::interleaveComma(inferred, diag);
    return diag;
  }
  return success();
}

/// Defines inferReturnTypes and isCompatibleReturnTypes of a
/// Simclr_InferredOp from its inference function. While building, an op
/// with inconsistent operands gets a placeholder result type; verification
/// defers to verify() (verifyInferredResults), which reports the problem.
#define SIMCLR_DEFINE_DEFERRED_INFERENCE(OpT, inferFn)                         \
  LogicalResult OpT::inferReturnTypes(                                         \
      MLIRContext *context, std::optional<Location> location, Adaptor adaptor, \
      SmallVectorImpl<Type> &inferredReturnTypes) {                            \
    if (failed(inferFn(adaptor, nullptr, inferredReturnTypes)))                \
      inferredReturnTypes.assign(1, NoneType::get(context));                   \
    return success();                                                          \
  }                                                                            \
  bool OpT::isCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {    \
    return true;                                                               \
  }

//===----------------------------------------------------------------------===//
// Randomness and input conversion
//===----------------------------------------------------------------------===//

LogicalResult ImageToFloatOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (in.getShape() != out.getShape())
    return emitOpError() << "result shape " << formatShape(out.getShape())
                         << " differs from input shape "
                         << formatShape(in.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// Augmentations
//===----------------------------------------------------------------------===//

/// Result types of RandomResizedCropOp; reports inconsistent operands through `emitError`.
static LogicalResult inferRandomResizedCrop(RandomResizedCropOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!input || input.getRank() != 4)
    return failWith(emitError, "expected an NCHW input");
  ArrayRef<int64_t> size = adaptor.getSize();
  inferredReturnTypes.push_back(RankedTensorType::get(
      {input.getDimSize(0), input.getDimSize(1), size[0], size[1]},
      input.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(RandomResizedCropOp, inferRandomResizedCrop)

LogicalResult RandomResizedCropOp::verify() {
  if (failed(verifyInferredResults(*this, inferRandomResizedCrop)))
    return failure();
  if (failed(verifyRange(*this, "scale", getScale(), /*allowZero=*/false, 1.0)))
    return failure();
  return verifyRange(*this, "ratio", getRatio(), /*allowZero=*/false,
                     std::nullopt);
}

LogicalResult HorizontalFlipOp::verify() { return verifyProbability(*this, getP().convertToDouble()); }

/// Largest hue shift torchvision's ColorJitter accepts: half a turn.
constexpr double kMaxHueShift = 0.5;

LogicalResult ColorJitterOp::verify() {
  if (failed(verifyProbability(*this, getP().convertToDouble())))
    return failure();
  struct Factor {
    StringRef name;
    double value;
  };
  for (Factor factor : {Factor{"brightness", getBrightness().convertToDouble()},
                        Factor{"contrast", getContrast().convertToDouble()},
                        Factor{"saturation", getSaturation().convertToDouble()}})
    if (factor.value < 0.0)
      return emitOpError() << factor.name << " = " << num(factor.value)
                           << " must be >= 0";
  double hue = getHue().convertToDouble();
  if (hue < 0.0 || hue > kMaxHueShift)
    return emitOpError() << "hue = " << num(hue) << " must be in [0, 0.5]";
  int64_t channels = channelsOf(getInput().getType());
  if (channels != 1 && channels != 3)
    return emitOpError() << "expects 1 or 3 channels, got " << channels;
  if (channels == 1 && (getSaturation().convertToDouble() > 0.0 || hue > 0.0))
    return emitOpError()
           << "saturation and hue need 3 channels; the input has 1";
  return success();
}

LogicalResult RandomGrayscaleOp::verify() {
  if (failed(verifyProbability(*this, getP().convertToDouble())))
    return failure();
  int64_t channels = channelsOf(getInput().getType());
  if (channels != 3)
    return emitOpError() << "expects 3 channels, got " << channels;
  return success();
}

LogicalResult GaussianBlurOp::verify() {
  if (failed(verifyProbability(*this, getP().convertToDouble())))
    return failure();
  int64_t kernel = getKernelSizeAttr().getInt();
  if (kernel < 1 || kernel % 2 == 0)
    return emitOpError() << "kernel_size = " << kernel
                         << " must be odd and positive";
  if (failed(verifyRange(*this, "sigma", getSigma(), /*allowZero=*/false,
                         std::nullopt)))
    return failure();
  auto input = cast<RankedTensorType>(getInput().getType());
  // Reflect padding of radius r needs r < side: K <= 2 * side - 1.
  int64_t side = std::min(input.getDimSize(2), input.getDimSize(3));
  if (kernel > 2 * side - 1)
    return emitOpError() << "kernel_size = " << kernel
                         << " is too large for a " << input.getDimSize(2)
                         << "x" << input.getDimSize(3)
                         << " image (reflect padding needs kernel_size <= "
                         << 2 * side - 1 << ")";
  return success();
}

LogicalResult NormalizeOp::verify() {
  int64_t channels = channelsOf(getInput().getType());
  if (static_cast<int64_t>(getMean().size()) != channels ||
      static_cast<int64_t>(getStd().size()) != channels)
    return emitOpError() << "mean and std need " << channels
                         << " entries (one per channel), got "
                         << getMean().size() << " and " << getStd().size();
  for (auto [c, std] : llvm::enumerate(getStd()))
    if (!(std > 0.0))
      return emitOpError() << "std[" << c << "] = " << num(std) << " must be > 0";
  return success();
}

//===----------------------------------------------------------------------===//
// Encoder
//===----------------------------------------------------------------------===//

/// The output type of conv2d(input, filter[, bias]); shared by conv2d and
/// its two gradient ops, which check the forward shapes they stand for.
static FailureOr<RankedTensorType>
convolutionResultType(Type inputType, Type filterType, Type biasType,
                      ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                      ArrayRef<int64_t> dilation, int64_t groups,
                      EmitErrorFn emitError) {
  auto input = dyn_cast<RankedTensorType>(inputType);
  auto filter = dyn_cast<RankedTensorType>(filterType);
  if (!input || !filter || input.getRank() != 4 || filter.getRank() != 4)
    return failWith(emitError, "expected NCHW input and FCHW filter");
  int64_t channels = input.getDimSize(1), filters = filter.getDimSize(0);
  if (groups <= 0 || channels % groups != 0 || filters % groups != 0)
    return failWith(emitError, "groups = ", groups,
                    " must divide the input channels (", channels,
                    ") and the filters (", filters, ")");
  if (filter.getDimSize(1) != channels / groups)
    return failWith(emitError, "filter has ", filter.getDimSize(1),
                    " input channels per group; the input gives ", channels,
                    "/", groups, " = ", channels / groups);
  if (input.getElementType() != filter.getElementType())
    return failWith(emitError, "input and filter element types differ");
  if (biasType) {
    auto bias = cast<RankedTensorType>(biasType);
    if (bias.getDimSize(0) != filters || bias.getElementType() != input.getElementType())
      return failWith(emitError, "bias must be a ", filters,
                      "-entry tensor of the input's element type");
  }
  SmallVector<int64_t, 2> spatial;
  for (int i = 0; i < 2; ++i) {
    int64_t size = windowOutputSize(input.getDimSize(2 + i), filter.getDimSize(2 + i),
                                    stride[i], padding[i], dilation[i]);
    if (size < 1)
      return failWith(emitError, "a ", filter.getDimSize(2), "x",
                      filter.getDimSize(3), " filter (dilation ", dilation[0], "x",
                      dilation[1], ", padding ", padding[0], "x", padding[1],
                      ") does not fit the ", input.getDimSize(2), "x",
                      input.getDimSize(3), " input");
    spatial.push_back(size);
  }
  return RankedTensorType::get({input.getDimSize(0), filters, spatial[0], spatial[1]},
                               input.getElementType());
}

/// Result type of Conv2DOp; reports inconsistent operands through `emitError`.
static LogicalResult inferConv2D(Conv2DOp::Adaptor adaptor, EmitErrorFn emitError,
                                 SmallVectorImpl<Type> &inferredReturnTypes) {
  Value bias = adaptor.getBias();
  FailureOr<RankedTensorType> type = convolutionResultType(
      adaptor.getInput().getType(), adaptor.getFilter().getType(),
      bias ? bias.getType() : Type(), adaptor.getStride(), adaptor.getPadding(),
      adaptor.getDilation(), adaptor.getGroupsAttr().getInt(), emitError);
  if (failed(type))
    return failure();
  inferredReturnTypes.push_back(*type);
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(Conv2DOp, inferConv2D)

LogicalResult Conv2DOp::verify() {
  return verifyInferredResults(*this, inferConv2D);
}

/// Result types of BatchNormTrainOp; reports inconsistent operands through `emitError`.
static LogicalResult inferBatchNormTrain(BatchNormTrainOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!input || input.getRank() < 2)
    return failWith(emitError, "expected an N x C or NCHW input");
  auto stats = RankedTensorType::get({input.getDimSize(1)}, input.getElementType());
  inferredReturnTypes.append({input, stats, stats});
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(BatchNormTrainOp, inferBatchNormTrain)

LogicalResult BatchNormTrainOp::verify() {
  if (failed(verifyInferredResults(*this, inferBatchNormTrain)))
    return failure();
  int64_t channels = channelsOf(getInput().getType());
  if (failed(verifyPerChannel(*this, "scale", getScale().getType(), channels)) ||
      failed(verifyPerChannel(*this, "shift", getShift().getType(), channels)))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "epsilon must be > 0";
  return success();
}

LogicalResult BatchNormInferenceOp::verify() {
  if (failed(verifyPerChannel(*this, "scale", getScale().getType(),
                              channelsOf(getInput().getType()))))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "epsilon must be > 0";
  return success();
}

LogicalResult RunningStatsUpdateOp::verify() {
  double momentum = getMomentum().convertToDouble();
  if (momentum < 0.0 || momentum > 1.0)
    return emitOpError() << "momentum = " << num(momentum) << " must be in [0, 1]";
  // The unbiased correction count / (count - 1) needs two elements.
  int64_t count = getCountAttr().getInt();
  if (count < 2)
    return emitOpError() << "count = " << count
                         << " must be >= 2 for the unbiased variance";
  return success();
}

/// The output type of max_pool2d(input); shared with its gradient op.
static FailureOr<RankedTensorType>
poolResultType(Type inputType, ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
               ArrayRef<int64_t> padding, EmitErrorFn emitError) {
  auto input = dyn_cast<RankedTensorType>(inputType);
  if (!input || input.getRank() != 4)
    return failWith(emitError, "expected an NCHW input");
  SmallVector<int64_t, 2> spatial;
  for (int i = 0; i < 2; ++i) {
    // torch requires a window to overlap the input by at least half.
    if (padding[i] > kernel[i] / 2)
      return failWith(emitError, "padding ", padding[i],
                      " exceeds half the kernel size ", kernel[i]);
    int64_t size = windowOutputSize(input.getDimSize(2 + i), kernel[i], stride[i],
                                    padding[i], /*dilation=*/1);
    if (size < 1)
      return failWith(emitError, "a ", kernel[0], "x", kernel[1],
                      " window does not fit the ", input.getDimSize(2), "x",
                      input.getDimSize(3), " input");
    spatial.push_back(size);
  }
  return RankedTensorType::get(
      {input.getDimSize(0), input.getDimSize(1), spatial[0], spatial[1]},
      input.getElementType());
}

/// Result type of MaxPool2DOp; reports inconsistent operands through `emitError`.
static LogicalResult inferMaxPool2D(MaxPool2DOp::Adaptor adaptor, EmitErrorFn emitError,
                                    SmallVectorImpl<Type> &inferredReturnTypes) {
  FailureOr<RankedTensorType> type =
      poolResultType(adaptor.getInput().getType(), adaptor.getKernel(),
                     adaptor.getStride(), adaptor.getPadding(), emitError);
  if (failed(type))
    return failure();
  inferredReturnTypes.push_back(*type);
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(MaxPool2DOp, inferMaxPool2D)

LogicalResult MaxPool2DOp::verify() {
  return verifyInferredResults(*this, inferMaxPool2D);
}

/// Result types of GlobalAvgPoolOp; reports inconsistent operands through `emitError`.
static LogicalResult inferGlobalAvgPool(GlobalAvgPoolOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!input || input.getRank() != 4)
    return failWith(emitError, "expected an NCHW input");
  inferredReturnTypes.push_back(RankedTensorType::get(
      {input.getDimSize(0), input.getDimSize(1)}, input.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(GlobalAvgPoolOp, inferGlobalAvgPool)

LogicalResult GlobalAvgPoolOp::verify() {
return verifyInferredResults(*this, inferGlobalAvgPool);
}

/// Result type of LinearOp; reports inconsistent operands through `emitError`.
static LogicalResult inferLinear(LinearOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  auto weight = dyn_cast<RankedTensorType>(adaptor.getWeight().getType());
  if (!input || !weight || input.getRank() != 2 || weight.getRank() != 2)
    return failWith(emitError, "expected 2-D input and weight");
  if (input.getDimSize(1) != weight.getDimSize(1))
    return failWith(emitError, "input has ", input.getDimSize(1),
                             " features but the weight (M x K) expects ",
                             weight.getDimSize(1));
  if (input.getElementType() != weight.getElementType())
    return failWith(emitError, "input and weight element types differ");
  int64_t outputs = weight.getDimSize(0);
  if (Value bias = adaptor.getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getDimSize(0) != outputs ||
        biasType.getElementType() != input.getElementType())
      return failWith(emitError, "bias must be a ", outputs,
                               "-entry tensor of the input's element type");
  }
  inferredReturnTypes.push_back(RankedTensorType::get(
      {input.getDimSize(0), outputs}, input.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(LinearOp, inferLinear)

LogicalResult LinearOp::verify() {
  return verifyInferredResults(*this, inferLinear);
}

LogicalResult ReshapeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "cannot change the element type";
  if (in.getNumElements() != out.getNumElements())
    return emitOpError() << "cannot reshape " << formatShape(in.getShape())
                         << " (" << in.getNumElements() << " elements) to "
                         << formatShape(out.getShape()) << " ("
                         << out.getNumElements() << " elements)";
  return success();
}

/// Result type of ConcatOp; reports inconsistent operands through `emitError`.
static LogicalResult inferConcat(ConcatOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return failWith(emitError, "needs at least one input");
  auto first = dyn_cast<RankedTensorType>(inputs.front().getType());
  if (!first)
    return failWith(emitError, "expected ranked tensors");
  int64_t dim = adaptor.getDimAttr().getInt();
  if (dim >= first.getRank())
    return failWith(emitError, "dim = ", dim, " is out of range for rank ",
                             first.getRank());
  SmallVector<int64_t> shape(first.getShape());
  for (auto [index, value] : llvm::enumerate(inputs.drop_front())) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || type.getRank() != first.getRank() ||
        type.getElementType() != first.getElementType())
      return failWith(emitError, "input ", index + 1,
                               " differs in rank or element type from input 0");
    for (int64_t d = 0; d < first.getRank(); ++d) {
      if (d == dim)
        continue;
      if (type.getDimSize(d) != first.getDimSize(d))
        return failWith(emitError, "input ", index + 1, " has size ",
                                 type.getDimSize(d), " in dimension ", d,
                                 " where input 0 has ", first.getDimSize(d));
    }
    shape[dim] += type.getDimSize(dim);
  }
  inferredReturnTypes.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(ConcatOp, inferConcat)

LogicalResult ConcatOp::verify() {
  return verifyInferredResults(*this, inferConcat);
}

//===----------------------------------------------------------------------===//
// Projection head and loss
//===----------------------------------------------------------------------===//

LogicalResult L2NormalizeOp::verify() {
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "epsilon must be > 0";
  return success();
}

/// NT-Xent and its primitives need 2N rows with N >= 2: every anchor then
/// has its positive and at least 2N - 2 = 2 negatives.
constexpr int64_t kMinNtXentRows = 4;

/// Result types of NtXentOp; reports inconsistent operands through `emitError`.
static LogicalResult inferNtXent(NtXentOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getEmbeddings().getType());
  if (!input)
    return failWith(emitError, "expected a ranked tensor");
  inferredReturnTypes.push_back(RankedTensorType::get({}, input.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(NtXentOp, inferNtXent)

LogicalResult NtXentOp::verify() {
  if (failed(verifyInferredResults(*this, inferNtXent)))
    return failure();
  int64_t rows = cast<RankedTensorType>(getEmbeddings().getType()).getDimSize(0);
  if (rows % 2 != 0 || rows < kMinNtXentRows)
    return emitOpError() << "expects 2N rows (two views of N images) with "
                            "N >= 2, got "
                         << rows << " rows";
  if (!(getTemperature().convertToDouble() > 0.0))
    return emitOpError() << "temperature must be > 0";
  return success();
}

/// Result type of MatmulOp; reports inconsistent operands through `emitError`.
static LogicalResult inferMatmul(MatmulOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto lhs = dyn_cast<RankedTensorType>(adaptor.getLhs().getType());
  auto rhs = dyn_cast<RankedTensorType>(adaptor.getRhs().getType());
  if (!lhs || !rhs || lhs.getRank() != 2 || rhs.getRank() != 2)
    return failWith(emitError, "expected 2-D operands");
  bool transposeLhs = adaptor.getTransposeLhs(), transposeRhs = adaptor.getTransposeRhs();
  int64_t m = lhs.getDimSize(transposeLhs ? 1 : 0);
  int64_t k = lhs.getDimSize(transposeLhs ? 0 : 1);
  int64_t kRhs = rhs.getDimSize(transposeRhs ? 1 : 0);
  int64_t p = rhs.getDimSize(transposeRhs ? 0 : 1);
  if (k != kRhs)
    return failWith(emitError, "contracting sizes differ: ", k, " vs ", kRhs);
  if (lhs.getElementType() != rhs.getElementType())
    return failWith(emitError, "operand element types differ");
  inferredReturnTypes.push_back(RankedTensorType::get({m, p}, lhs.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(MatmulOp, inferMatmul)

LogicalResult MatmulOp::verify() {
  return verifyInferredResults(*this, inferMatmul);
}

LogicalResult MaskedScaledLogSoftmaxOp::verify() {
  auto type = cast<RankedTensorType>(getInput().getType());
  if (type.getDimSize(0) != type.getDimSize(1) || type.getDimSize(0) < 2)
    return emitOpError() << "expects a square input of size >= 2, got "
                         << formatShape(type.getShape());
  if (!(getScale().convertToDouble() > 0.0))
    return emitOpError() << "scale must be > 0";
  return success();
}

/// Result type of GatherPositivesOp; reports inconsistent operands through `emitError`.
static LogicalResult inferGatherPositives(GatherPositivesOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto type = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!type || type.getRank() != 2)
    return failWith(emitError, "expected a 2-D input");
  int64_t rows = type.getDimSize(0);
  if (rows != type.getDimSize(1) || rows % 2 != 0 || rows < kMinNtXentRows)
    return failWith(emitError, "expects a 2N x 2N input with N >= 2, got ",
                    formatShape(type.getShape()));
  inferredReturnTypes.push_back(RankedTensorType::get({rows}, type.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(GatherPositivesOp, inferGatherPositives)

LogicalResult GatherPositivesOp::verify() {
  return verifyInferredResults(*this, inferGatherPositives);
}

/// Result types of ReduceMeanOp; reports inconsistent operands through `emitError`.
static LogicalResult inferReduceMean(ReduceMeanOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto type = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() < 1)
    return failWith(emitError, "expects a non-empty static tensor");
  inferredReturnTypes.push_back(RankedTensorType::get({}, type.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(ReduceMeanOp, inferReduceMean)

LogicalResult ReduceMeanOp::verify() {
return verifyInferredResults(*this, inferReduceMean);
}

//===----------------------------------------------------------------------===//
// Gradient helpers and adjoints
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "cannot change the element type";
  if (in.getRank() == 1 && (out.getRank() < 2 || out.getDimSize(1) != in.getDimSize(0)))
    return emitOpError() << "a 1-D input of " << in.getDimSize(0)
                         << " entries needs a result with as many channels in dimension 1, got "
                         << out;
  return success();
}

LogicalResult SliceOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  int64_t dim = getDimAttr().getInt(), offset = getOffsetAttr().getInt();
  if (in.getElementType() != out.getElementType() || in.getRank() != out.getRank())
    return emitOpError() << "result must have the input's rank and element type";
  if (dim >= in.getRank())
    return emitOpError() << "dim = " << dim << " is out of range for rank " << in.getRank();
  for (int64_t d = 0; d < in.getRank(); ++d)
    if (d != dim && in.getDimSize(d) != out.getDimSize(d))
      return emitOpError() << "result size " << out.getDimSize(d) << " in dimension " << d
                           << " differs from the input's " << in.getDimSize(d);
  if (offset + out.getDimSize(dim) > in.getDimSize(dim))
    return emitOpError() << "range [" << offset << ", " << offset + out.getDimSize(dim)
                         << ") exceeds the input's size " << in.getDimSize(dim)
                         << " in dimension " << dim;
  return success();
}

/// Result type of SumToChannelsOp.
static LogicalResult inferSumToChannels(SumToChannelsOp::Adaptor adaptor,
                                        EmitErrorFn emitError,
                                        SmallVectorImpl<Type> &inferredReturnTypes) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!input || input.getRank() < 2)
    return failWith(emitError, "expected an N x C or NCHW input");
  inferredReturnTypes.push_back(
      RankedTensorType::get({input.getDimSize(1)}, input.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(SumToChannelsOp, inferSumToChannels)

LogicalResult SumToChannelsOp::verify() {
  return verifyInferredResults(*this, inferSumToChannels);
}

/// Checks that conv2d(input, filter) with `op`'s attributes has the shape of
/// `gradOutput`: the forward convolution a gradient op stands for.
template <typename OpT>
static LogicalResult verifyConvolutionGradient(OpT op, Type inputType, Type filterType) {
  FailureOr<RankedTensorType> forward = convolutionResultType(
      inputType, filterType, Type(), op.getStride(), op.getPadding(), op.getDilation(),
      op.getGroupsAttr().getInt(), [&] { return op.emitOpError(); });
  if (failed(forward))
    return failure();
  if (*forward != op.getGradOutput().getType())
    return op.emitOpError() << "grad_output " << op.getGradOutput().getType()
                            << " does not match the forward convolution's output "
                            << *forward;
  return success();
}

LogicalResult Conv2DBackwardInputOp::verify() {
  return verifyConvolutionGradient(*this, getResult().getType(), getFilter().getType());
}

LogicalResult Conv2DBackwardFilterOp::verify() {
  return verifyConvolutionGradient(*this, getInput().getType(), getResult().getType());
}

/// Result types of BatchNormTrainBackwardOp.
static LogicalResult
inferBatchNormTrainBackward(BatchNormTrainBackwardOp::Adaptor adaptor,
                            EmitErrorFn emitError,
                            SmallVectorImpl<Type> &inferredReturnTypes) {
  auto grad = dyn_cast<RankedTensorType>(adaptor.getGradOutput().getType());
  if (!grad || grad.getRank() < 2)
    return failWith(emitError, "expected an N x C or NCHW grad_output");
  if (grad != adaptor.getInput().getType())
    return failWith(emitError, "grad_output and input types differ");
  auto stats = RankedTensorType::get({grad.getDimSize(1)}, grad.getElementType());
  for (Value vector : {adaptor.getScale(), adaptor.getBatchMean(), adaptor.getBatchVar()})
    if (vector.getType() != stats)
      return failWith(emitError, "scale, batch_mean and batch_var must be ", stats);
  inferredReturnTypes.append({grad, stats, stats});
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(BatchNormTrainBackwardOp, inferBatchNormTrainBackward)

LogicalResult BatchNormTrainBackwardOp::verify() {
  if (failed(verifyInferredResults(*this, inferBatchNormTrainBackward)))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "epsilon must be > 0";
  return success();
}

/// Result type of MaxPool2DBackwardOp: the input's, once the forward
/// pooling of the input is checked to give grad_output's shape.
static LogicalResult inferMaxPool2DBackward(MaxPool2DBackwardOp::Adaptor adaptor,
                                            EmitErrorFn emitError,
                                            SmallVectorImpl<Type> &inferredReturnTypes) {
  FailureOr<RankedTensorType> forward =
      poolResultType(adaptor.getInput().getType(), adaptor.getKernel(),
                     adaptor.getStride(), adaptor.getPadding(), emitError);
  if (failed(forward))
    return failure();
  if (*forward != adaptor.getGradOutput().getType())
    return failWith(emitError, "grad_output ", adaptor.getGradOutput().getType(),
                    " does not match the forward pooling's output ", *forward);
  inferredReturnTypes.push_back(adaptor.getInput().getType());
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(MaxPool2DBackwardOp, inferMaxPool2DBackward)

LogicalResult MaxPool2DBackwardOp::verify() {
  return verifyInferredResults(*this, inferMaxPool2DBackward);
}

LogicalResult GlobalAvgPoolBackwardOp::verify() {
  auto grad = cast<RankedTensorType>(getGradOutput().getType());
  auto result = cast<RankedTensorType>(getGradInput().getType());
  if (grad.getDimSize(0) != result.getDimSize(0) ||
      grad.getDimSize(1) != result.getDimSize(1) ||
      grad.getElementType() != result.getElementType())
    return emitOpError() << "result " << result << " does not pool to grad_output " << grad;
  return success();
}

/// Result type of GatherPositivesBackwardOp.
static LogicalResult
inferGatherPositivesBackward(GatherPositivesBackwardOp::Adaptor adaptor,
                             EmitErrorFn emitError,
                             SmallVectorImpl<Type> &inferredReturnTypes) {
  auto grad = dyn_cast<RankedTensorType>(adaptor.getGradOutput().getType());
  if (!grad || grad.getRank() != 1)
    return failWith(emitError, "expected a 1-D grad_output");
  int64_t rows = grad.getDimSize(0);
  if (rows % 2 != 0 || rows < kMinNtXentRows)
    return failWith(emitError, "expects 2N entries with N >= 2, got ", rows);
  inferredReturnTypes.push_back(RankedTensorType::get({rows, rows}, grad.getElementType()));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(GatherPositivesBackwardOp, inferGatherPositivesBackward)

LogicalResult GatherPositivesBackwardOp::verify() {
  return verifyInferredResults(*this, inferGatherPositivesBackward);
}

//===----------------------------------------------------------------------===//
// Optimizers and learning-rate schedule
//===----------------------------------------------------------------------===//

/// Result types of LrScheduleOp; reports inconsistent operands through `emitError`.
static LogicalResult inferLrSchedule(LrScheduleOp::Adaptor adaptor, EmitErrorFn emitError,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  inferredReturnTypes.push_back(RankedTensorType::get({}, Float32Type::get(adaptor.getStep().getContext())));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(LrScheduleOp, inferLrSchedule)

LogicalResult LrScheduleOp::verify() {
  if (failed(verifyInferredResults(*this, inferLrSchedule)))
    return failure();
  double base = getBaseLr().convertToDouble(), final = getFinalLr().convertToDouble();
  if (!(base > 0.0))
    return emitOpError() << "base_lr = " << num(base) << " must be > 0";
  if (final < 0.0 || final > base)
    return emitOpError() << "final_lr = " << num(final) << " must be in [0, base_lr]";
  int64_t warmup = getWarmupStepsAttr().getInt();
  int64_t total = getTotalStepsAttr().getInt();
  if (total < 1 || warmup < 0 || warmup > total)
    return emitOpError() << "needs 0 <= warmup_steps (" << warmup
                         << ") <= total_steps (" << total
                         << ") and total_steps >= 1";
  if (std::optional<uint64_t> perEpoch = getStepsPerEpoch()) {
    int64_t steps = static_cast<int64_t>(*perEpoch);
    if (steps < 1 || warmup % steps != 0 || total % steps != 0)
      return emitOpError() << "steps_per_epoch (" << steps
                           << ") must be >= 1 and divide warmup_steps ("
                           << warmup << ") and total_steps (" << total << ")";
  }
  return success();
}

namespace {
LogicalResult verifyMomentumAndDecay(Operation *op, double momentum,
                                     double weightDecay) {
  if (momentum < 0.0 || momentum >= 1.0)
    return op->emitOpError() << "momentum = " << num(momentum) << " must be in [0, 1)";
  if (weightDecay < 0.0)
    return op->emitOpError() << "weight_decay = " << num(weightDecay) << " must be >= 0";
  return success();
}
} // namespace

LogicalResult SgdUpdateOp::verify() {
  return verifyMomentumAndDecay(*this, getMomentum().convertToDouble(),
                                getWeightDecay().convertToDouble());
}

LogicalResult AdamWUpdateOp::verify() {
  for (auto [name, beta] : {std::pair<StringRef, double>{"beta1", getBeta1().convertToDouble()},
                            {"beta2", getBeta2().convertToDouble()}})
    if (beta < 0.0 || beta >= 1.0)
      return emitOpError() << name << " = " << num(beta) << " must be in [0, 1)";
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "epsilon must be > 0";
  if (getWeightDecay().convertToDouble() < 0.0)
    return emitOpError() << "weight_decay must be >= 0";
  return success();
}

LogicalResult LarsUpdateOp::verify() {
  double weightDecay = getWeightDecay().convertToDouble();
  if (failed(verifyMomentumAndDecay(*this, getMomentum().convertToDouble(),
                                    weightDecay)))
    return failure();
  if (!(getTrustCoefficient().convertToDouble() > 0.0))
    return emitOpError() << "trust_coefficient must be > 0";
  if (!getLayerAdaptation() && weightDecay != 0.0)
    return emitOpError() << "weight_decay must be 0 without layer_adaptation "
                            "(SimCLR excludes biases and batch-norm parameters "
                            "from both)";
  return success();
}

#include "simclr/Dialect/Simclr/IR/SimclrEnums.cpp.inc"

#define GET_OP_CLASSES
#include "simclr/Dialect/Simclr/IR/SimclrOps.cpp.inc"
