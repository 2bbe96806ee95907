//===- ExecutorModel.cpp - A compiled artifact as a StepModel -------------===//
#include "simclr/Runtime/ExecutorModel.h"

namespace simclr {

Status ExecutorModel::trainStep(std::span<const float> views, int64_t step) {
  return executor.trainStep(views, step);
}

float ExecutorModel::lastLoss() const { return executor.lastLoss(); }

float ExecutorModel::lastLearningRate() const {
  return executor.lastLearningRate();
}

Status ExecutorModel::saveState(const std::string &path,
                                const StateMetadata &metadata) const {
  return executor.saveState(path, metadata);
}

Status ExecutorModel::loadState(const std::string &path) {
  return executor.loadState(path);
}

Status ExecutorModel::checkStateFile(const std::string &path) const {
  return executor.checkStateFile(path);
}

std::string ExecutorModel::identity() const {
  return executor.artifact().identity();
}

} // namespace simclr
