# lit configuration of simclrc's IR and tool tests.
import os
import sys

import lit.formats

config.name = "simclrc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.simclr_binary_dir, "test")
# GoogleTest sources and spec inputs are not lit tests.
config.excludes = ["unit", "Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]

# Our tools first, then FileCheck, not and count from LLVM 19.
config.environment["PATH"] = os.pathsep.join(
    [config.simclr_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)
config.substitutions.append(("%examples", os.path.join(config.simclr_source_dir, "examples")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Frontend", "Inputs")))
# Python helpers of the tests (standard library only): lit's own interpreter.
config.substitutions.append(("%python", sys.executable))
# simclrc compiles CUDA kernels (NVRTC was found at configure time).
if getattr(config, "simclr_have_nvrtc", False):
    config.available_features.add("nvrtc")
