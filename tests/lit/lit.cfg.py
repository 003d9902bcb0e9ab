# lit configuration for kiln's IR and CLI tests.
import os
import lit.formats

config.name = "kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "tests", "lit")

# Every kiln command compiles for real: the object cache is off.
config.environment["KILN_CACHE"] = "off"

tools = os.path.join(config.kiln_obj_root, "tools")
config.environment["PATH"] = os.pathsep.join(
    [tools, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%npy", config.python + " " +
                             os.path.join(config.kiln_src_root, "tests", "tools", "npy.py")))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%exit", config.python + " " +
                             os.path.join(config.kiln_src_root, "tests", "tools", "expect_exit.py")))
config.substitutions.append(("%kiln_bin", tools))
config.substitutions.append(("%kiln_examples", os.path.join(config.kiln_obj_root, "examples")))
# ONNX's node tests (Debian's libonnx-testdata, which scripts/setup.sh installs).
config.substitutions.append(("%onnx_node", "/usr/share/libonnx-testdata/data/node"))
import shutil
if shutil.which("dot"):
    config.available_features.add("graphviz")
