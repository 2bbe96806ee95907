//===- CompileArtifact.cpp - A spec through simclrc's pipeline, in process ===//
#include "CompileArtifact.h"

#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Frontend/GraphBuilder.h"
#include "simclr/Target/Artifact.h"
#include "simclr/Target/Pipeline.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>

namespace simclr::testing {

std::shared_ptr<const runtime::Artifact>
compileArtifact(mlir::MLIRContext &context, const frontend::TrainingSpec &spec,
                bool fused, const std::string &dir) {
  namespace sk = mlir::simclr_kernel;
  context.loadDialect<mlir::simclr::SimclrDialect, mlir::func::FuncDialect,
                      mlir::memref::MemRefDialect, sk::KernelDialect>();
  frontend::BuildOptions options;
  options.viewsAsInput = true;
  auto module = frontend::buildSimclrModule(context, spec, options);
  EXPECT_TRUE(mlir::succeeded(module));
  if (mlir::failed(module))
    return nullptr;
  sk::TargetOptions targetOptions;
  targetOptions.kernelIncludeDirectory = SIMCLR_KERNEL_INCLUDE_DIR;
  std::string error;
  std::unique_ptr<sk::Target> target = sk::createTarget("cpu", targetOptions, error);
  EXPECT_TRUE(target) << error;
  if (!target)
    return nullptr;
  mlir::PassManager pm(&context);
  sk::addTrainStepPasses(pm);
  if (fused)
    sk::addFusionPasses(pm);
  sk::addKernelPasses(pm, fused, *target);
  EXPECT_TRUE(mlir::succeeded(pm.run(**module)));
  sk::ArtifactOptions artifactOptions;
  artifactOptions.outputDirectory = dir;
  artifactOptions.cacheDirectory = "";
  artifactOptions.specName = spec.name;
  artifactOptions.trainingJson = "{}";
  sk::ArtifactReport report;
  EXPECT_TRUE(mlir::succeeded(
      sk::writeArtifact(**module, *target, artifactOptions, report)));
  auto artifact = runtime::Artifact::load(dir);
  EXPECT_TRUE(artifact.hasValue()) << artifact.status().message();
  return artifact.hasValue() ? *artifact : nullptr;
}

std::string scratchDirectory(const std::string &name) {
  const char *root = std::getenv("SIMCLR_TEST_TMPDIR");
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string instance = std::string(info->name()) + "-" +
                         (info->value_param() ? info->value_param() : "");
  for (char &c : instance)
    if (!isalnum(static_cast<unsigned char>(c)))
      c = '_';
  std::string dir = std::string(root ? root : "/tmp") + "/compiled-" +
                    instance + "-" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

} // namespace simclr::testing
