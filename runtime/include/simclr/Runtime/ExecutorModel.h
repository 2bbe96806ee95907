//===- ExecutorModel.h - A compiled artifact as a StepModel ------*- C++ -*-===//
//
// Adapts runtime::Executor (Executor.h) to the training loop's StepModel.
// Built as the separate library SimclrTrainExecutor, only when the executor
// library (SimclrExecutor) is.
//
// Ownership: the adapter borrows the Executor, which must outlive it.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_EXECUTORMODEL_H
#define SIMCLR_RUNTIME_EXECUTORMODEL_H

#include "simclr/Runtime/Executor.h"
#include "simclr/Runtime/StepModel.h"

namespace simclr {

class ExecutorModel final : public StepModel {
public:
  explicit ExecutorModel(runtime::Executor &executor) : executor(executor) {}

  Status trainStep(std::span<const float> views, int64_t step) override;
  float lastLoss() const override;
  float lastLearningRate() const override;
  Status saveState(const std::string &path,
                   const StateMetadata &metadata) const override;
  Status loadState(const std::string &path) override;
  Status checkStateFile(const std::string &path) const override;
  std::string identity() const override;

private:
  runtime::Executor &executor;
};

} // namespace simclr

#endif // SIMCLR_RUNTIME_EXECUTORMODEL_H
