//===- CommonFlags.h - Flag names shared by every simclr tool ----*- C++ -*-===//
//
// The compiler tools parse flags with llvm::cl (so MLIR's own flags work)
// and the runtime tools with CLI11 (no LLVM there); both take the names and
// help texts of the flags they share from here, so `-o`, `--seed`,
// `--device` and `--threads` mean the same everywhere.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_COMMONFLAGS_H
#define SIMCLR_SUPPORT_COMMONFLAGS_H

namespace simclr::flags {

struct FlagInfo {
  /// The name without dashes; one letter means a short flag (-o).
  const char *name;
  const char *help;
};

inline constexpr FlagInfo kOutput = {"o", "Output file or directory ('-' is stdout)"};
inline constexpr FlagInfo kSeed = {"seed", "Seed of every random choice (initialization, augmentation, shuffling)"};
inline constexpr FlagInfo kDevice = {"device", "Where to run: 'cpu' or 'cuda[:N]'"};
inline constexpr FlagInfo kThreads = {"threads", "Worker threads (0: one per core)"};

} // namespace simclr::flags

#endif // SIMCLR_SUPPORT_COMMONFLAGS_H
