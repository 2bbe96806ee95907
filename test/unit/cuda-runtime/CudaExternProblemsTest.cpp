//===- CudaExternProblemsTest.cpp - Extern checks, strides, library search (host only) ===//
#include "Cuda/CudaExternProblems.h"
#include "Cuda/CudaLibrarySearch.h"

#include "simclr/Support/Vocabulary.h"

#include <gtest/gtest.h>

#include <random>

namespace simclr::runtime::cuda {
namespace {

using artifact::Buffer;
using artifact::ScheduleEntry;

/// The flat offset of element (i0, i1, i2, i3) under `strides`.
int64_t offsetOf(const Dims4 &strides, const Dims4 &index) {
  return index[0] * strides[0] + index[1] * strides[1] + index[2] * strides[2] +
         index[3] * strides[3];
}

TEST(CudaStrides, ActivationStridesMatchTheLayoutsOffsets) {
  const Dims4 dims = {2, 5, 3, 4};
  for (Layout layout : {Layout::kPlain, Layout::kNhwc}) {
    Expected<Dims4> strides = activationStrides(layout, dims);
    ASSERT_TRUE(strides) << strides.status().message();
    // Every element where Vocabulary.h's layoutOffset (the reference) puts it.
    for (int64_t n = 0; n < dims[0]; ++n)
      for (int64_t c = 0; c < dims[1]; ++c)
        for (int64_t h = 0; h < dims[2]; ++h)
          for (int64_t w = 0; w < dims[3]; ++w)
            ASSERT_EQ(offsetOf(*strides, {n, c, h, w}),
                      layoutOffset(layout, dims, {n, c, h, w}))
                << layoutName(layout) << " at " << n << c << h << w;
  }
  EXPECT_EQ(*activationStrides(Layout::kPlain, dims), (Dims4{60, 12, 4, 1}));
  EXPECT_EQ(*activationStrides(Layout::kNhwc, dims), (Dims4{60, 1, 20, 5}));
  Expected<Dims4> blocked = activationStrides(Layout::kNChw8c, {1, 8, 2, 2});
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.status().message(),
            "layout nChw8c is not one the CUDA target runs (nchw or nhwc)");
}

TEST(CudaStrides, FilterStrides) {
  const Dims4 dims = {4, 3, 5, 7}; // K, C, R, S
  EXPECT_EQ(filterStrides(FilterLayout::kOihw, dims), (Dims4{105, 35, 7, 1}));
  EXPECT_EQ(filterStrides(FilterLayout::kKrsc, dims), (Dims4{105, 1, 21, 3}));
  // KRSC: (k, r, s, c) row-major.
  Dims4 krsc = filterStrides(FilterLayout::kKrsc, dims);
  EXPECT_EQ(offsetOf(krsc, {1, 2, 3, 4}), ((1 * 5 + 3) * 7 + 4) * 3 + 2);
}

/// Buffers for an extern entry, kept alive with the pointers to them.
struct Operands {
  std::vector<Buffer> storage;
  std::vector<const Buffer *> pointers() const {
    std::vector<const Buffer *> result;
    for (const Buffer &b : storage)
      result.push_back(&b);
    return result;
  }
  void add(const std::string &name, std::vector<int64_t> shape,
           Layout layout = Layout::kPlain) {
    Buffer b;
    b.name = name;
    b.shape = std::move(shape);
    b.layout = layout;
    storage.push_back(b);
  }
};

ScheduleEntry externEntry(const std::string &name,
                          artifact::AttrMap attrs = {}) {
  ScheduleEntry e;
  e.kind = artifact::EntryKind::kExtern;
  e.name = name;
  e.numInputs = 2;
  e.numOutputs = 1;
  e.operands = {0, 1, 2};
  e.attrs = std::move(attrs);
  return e;
}

TEST(CudaConvProblem, ReadsEachDirectionsOperands) {
  artifact::AttrMap attrs = {{"stride", std::vector<int64_t>{2, 2}},
                             {"padding", std::vector<int64_t>{1, 1}}};
  Operands forward;
  forward.add("x", {8, 3, 32, 32}, Layout::kPlain);
  forward.add("w", {64, 3, 3, 3});
  forward.add("y", {8, 64, 16, 16}, Layout::kNhwc);
  Expected<ConvProblem> p =
      parseConvProblem(externEntry("conv2d", attrs), forward.pointers());
  ASSERT_TRUE(p) << p.status().message();
  EXPECT_EQ(p->direction, ConvDirection::kForward);
  EXPECT_EQ(p->xOperand, 0u);
  EXPECT_EQ(p->wOperand, 1u);
  EXPECT_EQ(p->yOperand, 2u);
  EXPECT_EQ(p->y, (Dims4{8, 64, 16, 16}));
  EXPECT_EQ(p->xLayout, Layout::kPlain);
  EXPECT_EQ(p->yLayout, Layout::kNhwc);
  EXPECT_EQ(p->stride, (std::array<int64_t, 2>{2, 2}));

  Operands filter; // (dy, x, dw)
  filter.add("dy", {8, 64, 16, 16}, Layout::kNhwc);
  filter.add("x", {8, 3, 32, 32});
  filter.add("dw", {64, 3, 3, 3});
  p = parseConvProblem(externEntry("conv2d_backward_filter", attrs),
                       filter.pointers());
  ASSERT_TRUE(p) << p.status().message();
  EXPECT_EQ(p->direction, ConvDirection::kBackwardFilter);
  EXPECT_EQ(p->yOperand, 0u);
  EXPECT_EQ(p->xOperand, 1u);
  EXPECT_EQ(p->wOperand, 2u);

  Operands data; // (dy, w, dx)
  data.add("dy", {8, 64, 16, 16}, Layout::kNhwc);
  data.add("w", {64, 3, 3, 3});
  data.add("dx", {8, 3, 32, 32}, Layout::kNhwc);
  p = parseConvProblem(externEntry("conv2d_backward_input", attrs),
                       data.pointers());
  ASSERT_TRUE(p) << p.status().message();
  EXPECT_EQ(p->xOperand, 2u);
  EXPECT_EQ(p->xLayout, Layout::kNhwc);
}

TEST(CudaConvProblem, RefusesWhatCuDnnCannotRun) {
  Operands wrongY;
  wrongY.add("x", {2, 3, 8, 8});
  wrongY.add("w", {4, 3, 3, 3});
  wrongY.add("y", {2, 4, 8, 8});
  Expected<ConvProblem> p =
      parseConvProblem(externEntry("conv2d"), wrongY.pointers());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.status().message(),
            "output y (operand 2, 'y', [2, 4, 8, 8]) should be [2, 4, 6, 6] "
            "for input x (operand 0, 'x', [2, 3, 8, 8]) and filter w "
            "(operand 1, 'w', [4, 3, 3, 3])");

  Operands blocked;
  blocked.add("x", {2, 8, 8, 8}, Layout::kNChw8c);
  blocked.add("w", {8, 8, 1, 1});
  blocked.add("y", {2, 8, 8, 8}, Layout::kNChw8c);
  p = parseConvProblem(externEntry("conv2d"), blocked.pointers());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.status().message(),
            "input x (operand 0, 'x', [2, 8, 8, 8]): layout nChw8c is not one "
            "the CUDA target runs (nchw or nhwc)");

  Operands nhwcFilter;
  nhwcFilter.add("x", {2, 3, 8, 8});
  nhwcFilter.add("w", {4, 3, 1, 1}, Layout::kNhwc);
  nhwcFilter.add("y", {2, 4, 8, 8});
  p = parseConvProblem(externEntry("conv2d"), nhwcFilter.pointers());
  ASSERT_FALSE(p);
  EXPECT_NE(p.status().message().find("must be plain OIHW, not nhwc"),
            std::string::npos);

  Operands f64 = wrongY;
  f64.storage[0].dtype = DType::kF64;
  p = parseConvProblem(externEntry("conv2d"), f64.pointers());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.status().message(), "operand 0 ('x') is f64, expected f32");
}

/// Naive column-major C (m x n, ldc) = op(A) op(B), as cuBLASLt defines
/// it: the reference the swapped description is checked against.
std::vector<float> columnMajorReference(const ColumnMajorGemm &g,
                                        const std::vector<float> &a,
                                        const std::vector<float> &b) {
  std::vector<float> c(static_cast<size_t>(g.ldc * g.n), 0.0f);
  auto at = [](const std::vector<float> &m, int64_t ld, bool t, int64_t i,
               int64_t j) { return t ? m[i * ld + j] : m[j * ld + i]; };
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < g.k; ++p)
        sum += double(at(a, g.lda, g.transposeA, i, p)) *
               at(b, g.ldb, g.transposeB, p, j);
      c[j * g.ldc + i] = static_cast<float>(sum);
    }
  return c;
}

TEST(CudaMatmulProblem, SwappedColumnMajorGemmComputesTheRowMajorProduct) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1, 1);
  const int64_t m = 5, n = 7, k = 3;
  for (int transposeA = 0; transposeA < 2; ++transposeA)
    for (int transposeB = 0; transposeB < 2; ++transposeB) {
      Operands ops;
      ops.add("a", transposeA ? std::vector<int64_t>{k, m}
                              : std::vector<int64_t>{m, k});
      ops.add("b", transposeB ? std::vector<int64_t>{n, k}
                              : std::vector<int64_t>{k, n});
      ops.add("c", {m, n});
      Expected<MatmulProblem> p = parseMatmulProblem(
          externEntry("matmul", {{"transpose_lhs", int64_t{transposeA}},
                                 {"transpose_rhs", int64_t{transposeB}}}),
          ops.pointers());
      ASSERT_TRUE(p) << p.status().message();
      EXPECT_EQ(p->m, m);
      EXPECT_EQ(p->n, n);
      EXPECT_EQ(p->k, k);
      std::vector<float> a(m * k), b(k * n);
      for (float &v : a)
        v = uniform(rng);
      for (float &v : b)
        v = uniform(rng);
      // Row-major reference C = op(A) op(B).
      std::vector<float> expected(m * n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (int64_t q = 0; q < k; ++q)
            sum += double(transposeA ? a[q * m + i] : a[i * k + q]) *
                   (transposeB ? b[j * k + q] : b[q * n + j]);
          expected[i * n + j] = static_cast<float>(sum);
        }
      ColumnMajorGemm g = columnMajorGemm(*p);
      EXPECT_EQ(g.aRows * g.aCols, k * n);
      EXPECT_EQ(g.bRows * g.bCols, m * k);
      // cuBLASLt's A is our b, its B our a; its C is our row-major C.
      std::vector<float> got = columnMajorReference(g, b, a);
      ASSERT_EQ(got.size(), expected.size());
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_NEAR(got[i], expected[i], 1e-5)
            << "transposes " << transposeA << transposeB << " at " << i;
    }
}

/// cublasLtMatrixTransform's C = op(A), op = transpose, for each batch, on
/// column-major matrices as `t` describes them: the reference the
/// description is checked against.
std::vector<float> transposeAsCublasLt(const FilterTranspose &t,
                                       const std::vector<float> &from) {
  std::vector<float> to(from.size(), -1.0f);
  for (int64_t b = 0; b < t.batch; ++b)
    for (int64_t i = 0; i < t.to.rows; ++i)
      for (int64_t j = 0; j < t.to.cols; ++j)
        // C(i, j) = A(j, i).
        to[b * t.batchStride + j * t.to.ld + i] =
            from[b * t.batchStride + i * t.from.ld + j];
  return to;
}

TEST(CudaFilterTranspose, OihwToKrscAndBackAsTheStridesSay) {
  const Dims4 dims = {4, 3, 2, 5}; // K, C, R, S
  const int64_t size = dims[0] * dims[1] * dims[2] * dims[3];
  std::vector<float> oihw(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i)
    oihw[i] = static_cast<float>(i);
  FilterTranspose forward = filterTranspose(dims, /*toKrsc=*/true);
  EXPECT_EQ(forward.batch, 4);
  EXPECT_EQ(forward.from.rows * forward.from.cols, forward.batchStride);
  EXPECT_EQ(forward.to.rows, forward.from.cols);
  std::vector<float> krsc = transposeAsCublasLt(forward, oihw);
  Dims4 oihwStrides = filterStrides(FilterLayout::kOihw, dims);
  Dims4 krscStrides = filterStrides(FilterLayout::kKrsc, dims);
  for (int64_t k = 0; k < dims[0]; ++k)
    for (int64_t c = 0; c < dims[1]; ++c)
      for (int64_t r = 0; r < dims[2]; ++r)
        for (int64_t s = 0; s < dims[3]; ++s)
          ASSERT_EQ(krsc[offsetOf(krscStrides, {k, c, r, s})],
                    oihw[offsetOf(oihwStrides, {k, c, r, s})])
              << k << c << r << s;
  EXPECT_EQ(transposeAsCublasLt(filterTranspose(dims, /*toKrsc=*/false), krsc),
            oihw);
}

TEST(CudaMatmulProblem, RefusesMismatchedShapes) {
  Operands ops;
  ops.add("a", {5, 3});
  ops.add("b", {4, 7});
  ops.add("c", {5, 7});
  Expected<MatmulProblem> p =
      parseMatmulProblem(externEntry("matmul"), ops.pointers());
  ASSERT_FALSE(p);
  EXPECT_NE(p.status().message().find("inner dimensions differ"),
            std::string::npos);
}

TEST(CudaLibrarySearch, EnvironmentDirectoriesThenTheLoaderThenTheToolkit) {
  EXPECT_EQ(cudaLibraryCandidates("libcudnn.so.9", "/a/lib::/b/lib/"),
            (std::vector<std::string>{"/a/lib/libcudnn.so.9",
                                      "/b/lib/libcudnn.so.9", "libcudnn.so.9",
                                      "/usr/local/cuda/lib64/libcudnn.so.9"}));
  EXPECT_EQ(cudaLibraryCandidates("libcuda.so.1", nullptr),
            (std::vector<std::string>{"libcuda.so.1",
                                      "/usr/local/cuda/lib64/libcuda.so.1"}));
  EXPECT_EQ(describeLibrarySearch(nullptr),
            "SIMCLR_CUDA_LIBRARY_PATH (unset), the loader's path "
            "(LD_LIBRARY_PATH, ld.so.cache), /usr/local/cuda/lib64");
  EXPECT_EQ(directoryOf("/x/y/libcudnn.so.9"), "/x/y");
  EXPECT_EQ(directoryOf("libcudnn.so.9"), "");
}

} // namespace
} // namespace simclr::runtime::cuda
