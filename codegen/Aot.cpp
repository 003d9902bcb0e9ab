//===- Aot.cpp - objects, libraries and executables with a C header ------===//
//
// The artifact is three pieces linked into one relocatable object:
//   model.o    the compiled model (entry + <name>_workspace_size), the very
//              object the JIT loads (model.1.o ... too when its code was
//              generated in parts, codegen/ObjectBundle.h);
//   support.c  generated C: the tensor table, parameter initialisation
//              (embedded weights, or the runtime's seeded initializers),
//              loading external weights, <name>_strerror;
//   the runtime (libkiln_rt.a, C): only the members the above use.
// `ld -r` joins them and `objcopy` keeps only <name>_* global, so two
// artifacts never clash. Libraries are `ar` / `cc -shared` of that object;
// an executable adds a generated main() that reads and writes .npy files
// with the same messages as `kiln run`.
//
//===----------------------------------------------------------------------===//
#include "kiln/Aot.h"

#include "codegen/Compiler.h"
#include "codegen/ObjectBundle.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>
#include <chrono>
#include <set>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <sstream>

using namespace mlir;

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;

std::string notADirectory(const std::string &dir) {
  return "--params-dir " + dir + ": not a directory (the trained weights would be missing)";
}

std::string upper(std::string s) {
  for (char &c : s)
    c = char(std::toupper((unsigned char)c));
  return s;
}

/// A C identifier from the output file's name: libfoo.a -> foo.
std::string defaultName(const std::string &output) {
  std::string stem = llvm::sys::path::filename(output).str();
  if (size_t dot = stem.find('.'); dot != std::string::npos)
    stem = stem.substr(0, dot);
  if (stem.rfind("lib", 0) == 0 && stem.size() > 3)
    stem = stem.substr(3);
  for (char &c : stem)
    if (!std::isalnum((unsigned char)c))
      c = '_';
  if (stem.empty() || std::isdigit((unsigned char)stem[0]))
    stem = "_" + stem;
  return stem;
}

/// Where libkiln_rt.a is: beside libkiln.so (installed) or in the build tree.
std::string findRuntimeArchive() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&findRuntimeArchive), &info) && info.dli_fname) {
    llvm::SmallString<256> dir(info.dli_fname);
    llvm::sys::path::remove_filename(dir);
    // A sanitizer build's uninstrumented copy first (runtime/CMakeLists.txt).
    for (const char *rel : {"libkiln_rt_artifact.a", "../runtime/libkiln_rt_artifact.a", "libkiln_rt.a",
                            "../runtime/libkiln_rt.a", "../lib/libkiln_rt.a"}) {
      llvm::SmallString<256> p(dir);
      llvm::sys::path::append(p, rel);
      if (llvm::sys::fs::exists(p))
        return std::string(p.str());
    }
  }
  return "";
}

struct Tensor {
  TensorInfo info;
  enum Kind { Input = 0, Param = 1, Output = 2 } kind;
  std::vector<char> stored; // parameter values to embed (empty: initializer)
  std::string cName;        // the name as a C identifier, for the header's enums (cIdentifiers)
  int64_t count() const { return numElements(info.shape); }
  int64_t bytes() const { return count() * int64_t(dtypeSize(info.dtype)); }
};

/// Each tensor's name as a C identifier, unique in the artifact: every
/// character other than [A-Za-z0-9_] becomes '_', a leading digit gets a
/// '_' before it, and a clash with an earlier tensor's identifier gets
/// "_2", "_3", ... appended (docs/abi.md). `blocks.0.attn.weight` becomes
/// `blocks_0_attn_weight`; the tensor table keeps the name itself.
static void cIdentifiers(std::vector<Tensor> &tensors) {
  std::set<std::string> taken;
  for (Tensor &t : tensors) {
    std::string id;
    for (char c : t.info.name)
      id += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
    if (std::isdigit(static_cast<unsigned char>(id[0])))
      id = "_" + id;
    std::string unique = id;
    for (int k = 2; taken.count(unique); ++k)
      unique = id + "_" + std::to_string(k);
    taken.insert(unique);
    t.cName = unique;
  }
}

/// A string as a C string literal's contents (a name in the tensor table).
static std::string cEscaped(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '?') // '?': no trigraphs
      out += '\\';
    out += c;
  }
  return out;
}

/// Stored weights are raw bytes, never C source: one block per parameter,
/// each 64-byte aligned, in tensor order. Embedded, the blocks are a
/// read-only section assembled from the file with .incbin; external, the
/// file `OUT.weights` starts with a header naming each block and its
/// FNV-1a checksum (docs/abi.md).
constexpr uint64_t kWeightAlignment = 64;
constexpr uint32_t kWeightsFormatVersion = 2;

uint64_t alignUp(uint64_t v) { return (v + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment; }

/// FNV-1a, 64 bits: the same function in the generated C reader.
uint64_t fnv1a(const char *data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i)
    h = (h ^ uint8_t(data[i])) * 0x100000001b3ull;
  return h;
}

/// Offsets of the stored parameters' blocks from `base` (-1: none).
std::vector<int64_t> weightOffsets(const std::vector<Tensor> &tensors, uint64_t base, uint64_t *end) {
  std::vector<int64_t> offsets;
  uint64_t at = alignUp(base);
  for (const Tensor &t : tensors) {
    if (t.kind != Tensor::Param || t.stored.empty()) {
      offsets.push_back(-1);
      continue;
    }
    offsets.push_back(int64_t(at));
    at = alignUp(at + t.stored.size());
  }
  *end = at;
  return offsets;
}

/// Writes the stored parameters' blocks at their offsets (after `header`).
bool writeWeightBlocks(const std::string &path, const std::string &header, const std::vector<Tensor> &tensors,
                       const std::vector<int64_t> &offsets) {
  std::ofstream w(path, std::ios::binary);
  w.write(header.data(), std::streamsize(header.size()));
  uint64_t at = header.size();
  static const char zeros[kWeightAlignment] = {};
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (offsets[i] < 0)
      continue;
    w.write(zeros, std::streamsize(uint64_t(offsets[i]) - at));
    w.write(tensors[i].stored.data(), std::streamsize(tensors[i].stored.size()));
    at = uint64_t(offsets[i]) + tensors[i].stored.size();
  }
  return bool(w);
}

/// The external weights file's header: magic, version, count, then per
/// block its name, offset, size and checksum (little-endian).
std::string externalWeightsHeader(const std::vector<Tensor> &tensors, std::vector<int64_t> *offsets) {
  std::string h("KILNWTS\0", 8);
  auto u32 = [&](uint32_t v) { h.append(reinterpret_cast<const char *>(&v), 4); };
  auto u64 = [&](uint64_t v) { h.append(reinterpret_cast<const char *>(&v), 8); };
  uint32_t count = 0;
  uint64_t headerBytes = 16;
  for (const Tensor &t : tensors)
    if (t.kind == Tensor::Param && !t.stored.empty()) {
      ++count;
      headerBytes += 4 + t.info.name.size() + 24;
    }
  uint64_t end;
  *offsets = weightOffsets(tensors, headerBytes, &end);
  u32(kWeightsFormatVersion);
  u32(count);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if ((*offsets)[i] < 0)
      continue;
    const Tensor &t = tensors[i];
    u32(uint32_t(t.info.name.size()));
    h += t.info.name;
    u64(uint64_t((*offsets)[i]));
    u64(t.stored.size());
    u64(fnv1a(t.stored.data(), t.stored.size()));
  }
  return h;
}

std::string shapeList(const Shape &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out;
}

/// The C header: tensors, entry, workspace, errors, weights.
std::string header(const std::string &name, const std::vector<Tensor> &tensors, int64_t workspace,
                   const std::string &source) {
  std::string N = upper(name);
  std::ostringstream h;
  h << "/* " << name << ".h: generated by kiln from " << source << ". Do not edit.\n"
    << " *\n"
    << " * int32_t " << name << "(void *const *buffers, " << name << "_context *ctx, void *workspace)\n"
    << " * computes the model. `buffers` holds one pointer per tensor in the order\n"
    << " * of " << name << "_tensors (inputs and parameters as declared, then outputs):\n"
    << " * caller-owned, row-major, contiguous, " << 64 << "-byte aligned. `workspace` has\n"
    << " * " << name << "_workspace_size() bytes, same alignment. One context and one\n"
    << " * workspace per calling thread make calls reentrant. Returns 0 or an error\n"
    << " * code (" << name << "_strerror). Booleans are one byte per element.\n */\n"
    << "#ifndef " << N << "_H\n#define " << N << "_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
    << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
    << "enum {\n  " << N << "_OK = 0,\n  " << N << "_ERR_NULL_BUFFER = 1,\n  " << N
    << "_ERR_MISALIGNED = 2,\n  " << N << "_ERR_INDEX_RANGE = 3,\n  " << N
    << "_ERR_OUT_OF_MEMORY = 4,\n  " << N << "_ERR_IO = 5,\n  " << N << "_ERR_FORMAT = 6,\n  " << N
    << "_ERR_VERSION = 10,\n  " << N << "_ERR_CHECKSUM = 11\n};\n\n"
    << "enum { " << N << "_DTYPE_F32 = 0, " << N << "_DTYPE_F64 = 1, " << N << "_DTYPE_I32 = 2, "
    << N << "_DTYPE_I64 = 3, " << N << "_DTYPE_BOOL = 4 };\n"
    << "enum { " << N << "_INPUT = 0, " << N << "_PARAM = 1, " << N << "_OUTPUT = 2 };\n\n";
  int inputs = 0, params = 0, outputs = 0;
  for (const Tensor &t : tensors)
    (t.kind == Tensor::Input ? inputs : t.kind == Tensor::Param ? params : outputs)++;
  h << "enum {\n  " << N << "_NUM_TENSORS = " << tensors.size() << ",\n  " << N
    << "_NUM_INPUTS = " << inputs << ",\n  " << N << "_NUM_PARAMS = " << params << ",\n  " << N
    << "_NUM_OUTPUTS = " << outputs << ",\n  " << N << "_WORKSPACE_SIZE = " << workspace
    << ",\n  " << N << "_ALIGNMENT = 64\n};\n\n";
  h << "/* Each tensor: its index in `buffers`, element count and bytes; its shape. */\n";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor &t = tensors[i];
    const char *kind = t.kind == Tensor::Input ? "input" : t.kind == Tensor::Param ? "parameter" : "output";
    const std::string &id = t.cName;
    // (A name has no '/', so it cannot end the comment: nn::isTensorName.)
    h << "/* " << kind << " " << t.info.name << ": " << dtypeName(t.info.dtype) << "["
      << shapeList(t.info.shape) << "] */\n"
      << "enum { " << N << "_" << id << " = " << i << ", " << N << "_" << id
      << "_COUNT = " << t.count() << ", " << N << "_" << id << "_BYTES = " << t.bytes()
      << ", " << N << "_" << id << "_RANK = " << t.info.shape.size() << " };\n"
      << "#define " << N << "_" << id << "_SHAPE {" << (t.info.shape.empty() ? "1" : shapeList(t.info.shape))
      << "}\n";
  }
  h << "\ntypedef struct " << name << "_tensor {\n  const char *name;\n  int32_t kind;  /* "
    << N << "_INPUT, _PARAM, _OUTPUT */\n  int32_t dtype; /* " << N
    << "_DTYPE_* */\n  int32_t rank;\n  int64_t shape[16];\n  int64_t count;\n  int64_t bytes;\n} "
    << name << "_tensor;\n"
    << "extern const " << name << "_tensor " << name << "_tensors[" << N << "_NUM_TENSORS];\n\n"
    << "typedef struct " << name << "_context {\n  int32_t status;\n  int32_t num_threads;\n"
    << "  int32_t error_site;  /* " << N << "_ERR_INDEX_RANGE: the failing check (" << name << "_error_site) */\n"
    << "  int32_t reserved0;\n  int64_t error_index; /* the offending index, outside [0, error_bound) */\n"
    << "  int64_t error_bound;\n  void *reserved[3];\n} "
    << name << "_context;\n\n"
    << "int32_t " << name << "(void *const *buffers, " << name << "_context *ctx, void *workspace);\n"
    << "/* Bytes of workspace each call needs (" << N << "_WORKSPACE_SIZE). */\n"
    << "int64_t " << name << "_workspace_size(void);\n"
    << "/* Bytes of scratch each thread of a parallel loop uses (the runtime\n"
    << " * allocates it once per thread and keeps it). */\n"
    << "int64_t " << name << "_scratch_size(void);\n"
    << "const char *" << name << "_strerror(int32_t status);\n"
    << "/* The op and source position of run-time check `site` (ctx.error_site),\n"
    << " * e.g. \"nn.gather at model.mlir:5:8\"; NULL for an unknown site. */\n"
    << "const char *" << name << "_error_site(int32_t site);\n"
    << "/* Fills the parameter buffers: stored weights, or the model's seeded\n"
    << " * initializers (seed 0: the model's own seeds; otherwise mixed with `seed`).\n"
    << " * Buffers of inputs and outputs are not touched and may be NULL. */\n"
    << "int32_t " << name << "_init_params(void *const *buffers, uint64_t seed);\n"
    << "/* Reads weights written by kiln compile --weights=external into the\n"
    << " * parameter buffers. Returns 0, " << N << "_ERR_IO, " << N << "_ERR_FORMAT, " << N
    << "_ERR_VERSION (written\n * by a kiln with another weights format) or " << N
    << "_ERR_CHECKSUM (a block's bytes changed). */\n"
    << "int32_t " << name << "_load_weights(void *const *buffers, const char *path);\n\n"
    << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << N << "_H */\n";
  return h.str();
}

/// Generated C: the tensor table, init_params, load_weights, strerror.
std::string support(const std::string &name, const std::vector<Tensor> &tensors, bool external) {
  std::ostringstream c;
  c << "/* Generated by kiln: support functions of " << name << ". */\n"
    << "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n"
    << "#include \"" << name << ".h\"\n"
    << "#include \"kiln_rt.h\" /* the runtime, linked in and made local to this artifact */\n\n";
  c << "const " << name << "_tensor " << name << "_tensors[" << tensors.size() << "] = {\n";
  for (const Tensor &t : tensors) {
    c << "  {\"" << cEscaped(t.info.name) << "\", " << int(t.kind) << ", " << int(t.info.dtype) << ", "
      << t.info.shape.size() << ", {" << (t.info.shape.empty() ? "0" : shapeList(t.info.shape))
      << "}, " << t.count() << ", " << t.bytes() << "},\n";
  }
  c << "};\n\n";
  // Stored weights: raw bytes in a read-only section (weights.s, .incbin),
  // at their offsets in the block.
  uint64_t blockEnd;
  std::vector<int64_t> offsets = weightOffsets(tensors, 0, &blockEnd);
  if (!external && blockEnd > 0)
    c << "extern const unsigned char " << name << "__weight_block[];\n";
  c << "\nint32_t " << name << "_init_params(void *const *buffers, uint64_t seed) {\n"
    << "  if (!buffers)\n    return 1;\n";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor &t = tensors[i];
    if (t.kind != Tensor::Param)
      continue;
    c << "  if (!buffers[" << i << "])\n    return 1;\n";
    const ParamInit &init = t.info.init;
    std::string dtypeName = "(kiln_dtype)" + std::to_string(int(t.info.dtype));
    std::string seed = "(seed ? seed * 0x9E3779B97F4A7C15ull + " + std::to_string(init.seed) +
                       "ull : " + std::to_string(init.seed) + "ull)";
    if (!t.stored.empty()) {
      if (!external)
        c << "  memcpy(buffers[" << i << "], " << name << "__weight_block + " << offsets[i] << ", "
          << t.bytes() << ");\n";
      continue; // external: filled by load_weights
    }
    char line[256];
    switch (init.kind) {
    case ParamInit::Kind::Normal:
      std::snprintf(line, sizeof line, "  kiln_init_normal(buffers[%zu], %s, %lld, %.17g, %.17g, %s);\n", i,
                    dtypeName.c_str(), (long long)t.count(), init.a, init.b, seed.c_str());
      break;
    case ParamInit::Kind::Uniform:
      std::snprintf(line, sizeof line, "  kiln_init_uniform(buffers[%zu], %s, %lld, %.17g, %.17g, %s);\n", i,
                    dtypeName.c_str(), (long long)t.count(), init.a, init.b, seed.c_str());
      break;
    default:
      std::snprintf(line, sizeof line, "  kiln_init_fill(buffers[%zu], %s, %lld, %s);\n", i,
                    dtypeName.c_str(), (long long)t.count(), init.kind == ParamInit::Kind::Ones ? "1.0" : "0.0");
      break;
    }
    c << line;
  }
  c << "  return 0;\n}\n\n";
  // External weights (docs/abi.md): "KILNWTS\\0", version, count, then per
  // block name, offset, size and FNV-1a checksum; every stored parameter
  // must be there, whole and unchanged.
  int stored = 0;
  for (const Tensor &t : tensors)
    stored += t.kind == Tensor::Param && !t.stored.empty();
  c << "static uint64_t " << name << "__fnv1a(const unsigned char *p, uint64_t n, uint64_t h) {\n"
    << "  uint64_t i;\n  for (i = 0; i < n; ++i)\n    h = (h ^ p[i]) * 0x100000001b3ull;\n  return h;\n}\n\n";
  c << "int32_t " << name << "_load_weights(void *const *buffers, const char *path) {\n"
    << "  FILE *f;\n  char magic[8];\n  uint32_t version, count, i;\n  int loaded = 0;\n"
    << "  unsigned char seen[" << tensors.size() << "] = {0};\n"
    << "  if (!buffers || !path)\n    return 1;\n"
    << "  f = fopen(path, \"rb\");\n  if (!f)\n    return 5;\n"
    << "  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, \"KILNWTS\\0\", 8) != 0 ||\n"
    << "      fread(&version, 4, 1, f) != 1 || fread(&count, 4, 1, f) != 1) {\n    fclose(f);\n    return 6;\n  }\n"
    << "  if (version != " << kWeightsFormatVersion << ") {\n    fclose(f);\n    return 10;\n  }\n"
    << "  for (i = 0; i < count; ++i) {\n"
    << "    uint32_t length, k;\n    uint64_t offset, bytes, checksum, h = 0xcbf29ce484222325ull, done = 0;\n"
    << "    char tensorName[256];\n    unsigned char *to;\n    long next;\n    int found = -1;\n"
    << "    if (fread(&length, 4, 1, f) != 1 || length >= sizeof tensorName ||\n"
    << "        fread(tensorName, 1, length, f) != length || fread(&offset, 8, 1, f) != 1 ||\n"
    << "        fread(&bytes, 8, 1, f) != 1 || fread(&checksum, 8, 1, f) != 1) {\n"
    << "      fclose(f);\n      return 6;\n    }\n"
    << "    tensorName[length] = 0;\n"
    << "    for (k = 0; k < " << tensors.size() << "; ++k)\n"
    << "      if (" << name << "_tensors[k].kind == 1 && strcmp(" << name
    << "_tensors[k].name, tensorName) == 0)\n        found = (int)k;\n"
    << "    if (found < 0 || seen[found] || (int64_t)bytes != " << name << "_tensors[found].bytes || !buffers[found]) {\n"
    << "      fclose(f);\n      return 6;\n    }\n"
    << "    next = ftell(f);\n    to = (unsigned char *)buffers[found];\n"
    << "    if (next < 0 || fseek(f, (long)offset, SEEK_SET) != 0) {\n      fclose(f);\n      return 6;\n    }\n"
    << "    while (done < bytes) {\n"
    << "      size_t piece = bytes - done > (1u << 20) ? (size_t)1 << 20 : (size_t)(bytes - done);\n"
    << "      if (fread(to + done, 1, piece, f) != piece) {\n        fclose(f);\n        return 6;\n      }\n"
    << "      h = " << name << "__fnv1a(to + done, piece, h);\n      done += piece;\n    }\n"
    << "    if (h != checksum) {\n      fclose(f);\n      return 11;\n    }\n"
    << "    if (fseek(f, next, SEEK_SET) != 0) {\n      fclose(f);\n      return 6;\n    }\n"
    << "    seen[found] = 1;\n    ++loaded;\n"
    << "  }\n  fclose(f);\n  return loaded == " << stored << " ? 0 : 6;\n}\n\n";
  c << "const char *" << name << "_strerror(int32_t status) { return kiln_strerror(status); }\n";
  return c.str();
}

/// Generated main() of an executable: the same interface and messages as
/// `kiln run` (--input NAME=FILE.npy ... --output-dir DIR).
std::string exeMain(const std::string &name) {
  std::string src = R"(/* Generated by kiln: a standalone runner for @NAME@. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "@NAME@.h"
#include "kiln_rt.h"

/* Every name of this file at file scope starts with kiln_exe_ (artifact
   names never start with kiln_), and main() calls the entry through
   kiln_exe_entry: an artifact named like one of main()'s locals (names,
   buffers, ...) can be neither shadowed nor clash. */
static int32_t (*const kiln_exe_entry)(void *const *, @NAME@_context *, void *) = @NAME@;
static const char *kiln_exe_program = "@NAME@";

static int kiln_exe_fail(int code, const char *fmt, const char *a, const char *b, const char *c) {
  fprintf(stderr, "%s: error: ", kiln_exe_program);
  fprintf(stderr, fmt, a, b, c);
  fprintf(stderr, "\n");
  return code;
}

static void kiln_exe_type_string(const @NAME@_tensor *t, char *out, size_t size) {
  int n = snprintf(out, size, "%s[", kiln_dtype_name((kiln_dtype)t->dtype));
  for (int d = 0; d < t->rank && n > 0 && (size_t)n < size; ++d)
    n += snprintf(out + n, size - (size_t)n, d ? ", %lld" : "%lld", (long long)t->shape[d]);
  if (n > 0 && (size_t)n < size)
    snprintf(out + n, size - (size_t)n, "]");
}

static void kiln_exe_npy_type_string(const kiln_npy *a, char *out, size_t size) {
  int n = snprintf(out, size, "%s[", kiln_dtype_name(a->dtype));
  for (int d = 0; d < a->rank && n > 0 && (size_t)n < size; ++d)
    n += snprintf(out + n, size - (size_t)n, d ? ", %lld" : "%lld", (long long)a->shape[d]);
  if (n > 0 && (size_t)n < size)
    snprintf(out + n, size - (size_t)n, "]");
}

static int kiln_exe_make_dirs(const char *path) {
  char buffer[4096];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof buffer)
    return -1;
  memcpy(buffer, path, len + 1);
  for (size_t i = 1; i <= len; ++i)
    if (buffer[i] == '/' || buffer[i] == 0) {
      char saved = buffer[i];
      buffer[i] = 0;
      if (mkdir(buffer, 0777) != 0 && errno != EEXIST)
        return -1;
      buffer[i] = saved;
    }
  return 0;
}

int main(int argc, char **argv) {
  const char *names[@NAME_UPPER@_NUM_TENSORS] = {0}, *paths[@NAME_UPPER@_NUM_TENSORS] = {0};
  const char *outputDir = NULL;
  void *buffers[@NAME_UPPER@_NUM_TENSORS] = {0};
  kiln_npy loaded[@NAME_UPPER@_NUM_TENSORS];
  char expected[256], given[256], known[1024] = "";
  int status = 0;
  if (argc > 0 && argv[0]) {
    const char *slash = strrchr(argv[0], '/');
    kiln_exe_program = slash ? slash + 1 : argv[0];
  }
  memset(loaded, 0, sizeof loaded);
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i], *value = NULL;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      printf("usage: %s --input NAME=FILE.npy ... --output-dir DIR\n", kiln_exe_program);
      return 0;
    }
    if (strncmp(arg, "--input=", 8) == 0 || strncmp(arg, "--output-dir=", 13) == 0)
      value = strchr(arg, '=') + 1;
    else if ((strcmp(arg, "--input") == 0 || strcmp(arg, "--output-dir") == 0) && i + 1 < argc)
      value = argv[++i];
    else
      return kiln_exe_fail(2, "unknown option '%s'%s%s", arg, "", "");
    if (strncmp(arg, "--output-dir", 12) == 0) {
      outputDir = value;
      continue;
    }
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1])
      return kiln_exe_fail(2, "--input '%s' is not NAME=FILE.npy%s%s", value, "", "");
    int found = -1;
    for (int k = 0; k < @NAME_UPPER@_NUM_TENSORS; ++k)
      if (@NAME@_tensors[k].kind == @NAME_UPPER@_INPUT && strlen(@NAME@_tensors[k].name) == (size_t)(eq - value) &&
          strncmp(@NAME@_tensors[k].name, value, (size_t)(eq - value)) == 0)
        found = k;
    if (found < 0) {
      for (int k = 0; k < @NAME_UPPER@_NUM_TENSORS; ++k)
        if (@NAME@_tensors[k].kind == @NAME_UPPER@_INPUT) {
          if (known[0])
            strncat(known, ", ", sizeof known - strlen(known) - 1);
          strncat(known, @NAME@_tensors[k].name, sizeof known - strlen(known) - 1);
        }
      char unknownName[256];
      snprintf(unknownName, sizeof unknownName, "%.*s", (int)(eq - value), value);
      return kiln_exe_fail(1, "unknown input \"%s\" (the model's inputs: %s)%s", unknownName, known[0] ? known : "none", "");
    }
    if (names[found])
      return kiln_exe_fail(1, "input \"%s\" is given twice%s%s", @NAME@_tensors[found].name, "", "");
    names[found] = @NAME@_tensors[found].name;
    paths[found] = eq + 1;
  }
  if (!outputDir)
    return kiln_exe_fail(2, "needs --output-dir DIR%s%s%s", "", "", "");
  for (int k = 0; k < @NAME_UPPER@_NUM_TENSORS; ++k) {
    const @NAME@_tensor *t = &@NAME@_tensors[k];
    if (t->kind != @NAME_UPPER@_INPUT)
      continue;
    kiln_exe_type_string(t, expected, sizeof expected);
    if (!paths[k])
      return kiln_exe_fail(1, "missing input \"%s\" (%s)%s", t->name, expected, "");
    char err[512];
    if (kiln_npy_read(paths[k], &loaded[k], err, sizeof err) != KILN_OK)
      return kiln_exe_fail(1, "input \"%s\": %s%s", t->name, err, "");
    int same = loaded[k].dtype == (kiln_dtype)t->dtype && loaded[k].rank == t->rank;
    for (int d = 0; same && d < t->rank; ++d)
      same = loaded[k].shape[d] == t->shape[d];
    if (!same) {
      kiln_exe_npy_type_string(&loaded[k], given, sizeof given);
      return kiln_exe_fail(1, "input \"%s\": expected %s, given %s", t->name, expected, given);
    }
    buffers[k] = loaded[k].data;
  }
  for (int k = 0; k < @NAME_UPPER@_NUM_TENSORS; ++k)
    if (@NAME@_tensors[k].kind != @NAME_UPPER@_INPUT) {
      buffers[k] = kiln_alloc((size_t)@NAME@_tensors[k].bytes);
      if (!buffers[k])
        return kiln_exe_fail(1, "out of memory%s%s%s", "", "", "");
    }
  if ((status = @NAME@_init_params(buffers, 0)) != 0)
    return kiln_exe_fail(1, "initialising the parameters: %s%s%s", @NAME@_strerror(status), "", "");
  void *workspace = kiln_alloc((size_t)@NAME@_workspace_size());
  @NAME@_context ctx;
  memset(&ctx, 0, sizeof ctx);
  if ((status = kiln_exe_entry(buffers, &ctx, workspace)) != 0) {
    const char *site = ctx.error_site ? @NAME@_error_site(ctx.error_site) : NULL;
    if (status == @NAME_UPPER@_ERR_INDEX_RANGE && site) {
      fprintf(stderr, "%s: error: %s: index %lld is outside [0, %lld)\n", kiln_exe_program, site,
              (long long)ctx.error_index, (long long)ctx.error_bound);
      return 1;
    }
    return kiln_exe_fail(1, "@NAME@ failed: %s%s%s", @NAME@_strerror(status), "", "");
  }
  if (kiln_exe_make_dirs(outputDir) != 0)
    return kiln_exe_fail(1, "cannot create --output-dir '%s': %s%s", outputDir, strerror(errno), "");
  for (int k = 0; k < @NAME_UPPER@_NUM_TENSORS; ++k) {
    const @NAME@_tensor *t = &@NAME@_tensors[k];
    if (t->kind != @NAME_UPPER@_OUTPUT)
      continue;
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s.npy", outputDir, t->name);
    if (kiln_npy_write(path, (kiln_dtype)t->dtype, t->rank, t->shape, buffers[k], err, sizeof err) != KILN_OK)
      return kiln_exe_fail(1, "%s%s%s", err, "", "");
    kiln_exe_type_string(t, expected, sizeof expected);
    printf("%s: %s -> %s\n", t->name, expected, path);
  }
  for (int k = 0; k < @NAME_UPPER@_NUM_TENSORS; ++k) {
    if (@NAME@_tensors[k].kind == @NAME_UPPER@_INPUT)
      kiln_npy_free(&loaded[k]);
    else
      kiln_free(buffers[k]);
  }
  kiln_free(workspace);
  return 0;
}
)";
  auto replace = [&](const std::string &from, const std::string &to) {
    for (size_t at; (at = src.find(from)) != std::string::npos;)
      src.replace(at, from.size(), to);
  };
  replace("@NAME_UPPER@", upper(name));
  replace("@NAME@", name);
  return src;
}

/// Runs a tool; on failure returns its stderr (and the command) as an error.
std::optional<std::string> run(const std::string &tool, std::vector<std::string> args,
                               const std::string &logPath) {
  auto program = llvm::sys::findProgramByName(tool);
  if (!program)
    return "`" + tool + "` is not installed (kiln compile uses cc and binutils to write artifacts: apt-get install gcc binutils)";
  std::vector<llvm::StringRef> argv{*program};
  for (const std::string &a : args)
    argv.push_back(a);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(logPath),
                                                llvm::StringRef(logPath)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*program, argv, std::nullopt, redirects, 120, 0, &message);
  if (rc == 0)
    return std::nullopt;
  std::string command = tool;
  for (const std::string &a : args)
    command += " " + a;
  auto log = llvm::MemoryBuffer::getFile(logPath);
  return "`" + command + "` failed" + (message.empty() ? "" : ": " + message) +
         (log ? "\n" + (*log)->getBuffer().str() : "");
}

bool writeFile(const std::string &path, const std::string &data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), std::streamsize(data.size()));
  return bool(f);
}

} // namespace

Result<std::map<std::string, HostTensor>> loadParamsDir(const std::string &dir,
                                                        const std::vector<TensorInfo> &tensors) {
  std::map<std::string, HostTensor> values;
  if (dir.empty())
    return values;
  if (!llvm::sys::fs::is_directory(dir))
    return Error{notADirectory(dir)};
  std::string expected;
  for (const TensorInfo &p : tensors) {
    if (!p.isParam)
      continue;
    std::string path = dir + "/" + p.name + ".npy";
    expected += (expected.empty() ? "" : ", ") + p.name + ".npy";
    if (!llvm::sys::fs::exists(path))
      continue;
    auto value = HostTensor::loadNpy(path);
    if (!value)
      return Error{"parameter \"" + p.name + "\": " + value.error()};
    if (value->dtype() != p.dtype || value->shape() != p.shape)
      return Error{"parameter \"" + p.name + "\": expected " + dtypeName(p.dtype) + shapeString(p.shape) +
                   ", given " + value->typeString() + " in " + path};
    values.emplace(p.name, std::move(*value));
  }
  // A directory that holds none of the parameters is a mistake, not an
  // untrained model to ship.
  if (!expected.empty() && values.empty())
    return Error{"--params-dir " + dir + " holds none of the model's parameters (expected " + expected + ")"};
  return values;
}

Result<ArtifactReport> compileArtifact(const std::string &source, const std::string &sourceName,
                                       const CompileOptions &compileOptions,
                                       const ArtifactOptions &artifact) {
  ParsedSource parsed(source, sourceName);
  if (!parsed.module)
    return parsed.error("cannot parse " + sourceName);
  return compileArtifactModule(*parsed.module, sourceName, compileOptions, artifact,
                               [&](const std::string &fallback) { return parsed.error(fallback); });
}

Result<ArtifactReport> compileArtifactModule(mlir::ModuleOp module, const std::string &sourceName,
                                             const CompileOptions &compileOptions, const ArtifactOptions &artifact,
                                             const std::function<Error(const std::string &)> &failWith) {
  auto start = Clock::now();
  const std::string &kind = artifact.kind;
  if (kind != "obj" && kind != "static-lib" && kind != "shared-lib" && kind != "exe")
    return Error{"unknown artifact kind '" + kind + "' (obj, static-lib, shared-lib, exe)"};
  if (artifact.output.empty())
    return Error{"an artifact needs an output file (-o)"};
  ArtifactReport report;
  report.name = artifact.name.empty() ? defaultName(artifact.output) : artifact.name;
  const std::string &name = report.name;
  bool identifier = !name.empty() && (std::isalpha((unsigned char)name[0]) || name[0] == '_') &&
                    std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; });
  if (!identifier)
    return Error{"--name '" + name + "' is not a C identifier"};
  if (name == "main")
    return Error{"--name main would clash with a C program's main(); choose another name"};
  // The artifact's symbols are NAME and NAME_*: kiln's runtime owns kiln_*,
  // and a C keyword cannot name a function.
  if (name == "kiln" || name.rfind("kiln_", 0) == 0)
    return Error{"the artifact name '" + name + "' is reserved (kiln's runtime uses kiln_*); " +
                 (artifact.name.empty() ? "name the output file otherwise or " : "") + "choose another --name"};
  static const char *const keywords[] = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
      "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict",
      "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
      "unsigned", "void", "volatile", "while", "bool", "true", "false", "class", "namespace",
      "new", "delete", "template", "this", "operator", "private", "public", "protected", "virtual"};
  for (const char *keyword : keywords)
    if (name == keyword)
      return Error{"the artifact name '" + name + "' is a C or C++ keyword; " +
                   (artifact.name.empty() ? "name the output file otherwise or " : "") + "choose another --name"};
  // Before the long compile (loadParamsDir checks it again).
  if (!artifact.paramsDir.empty() && !llvm::sys::fs::is_directory(artifact.paramsDir))
    return Error{notADirectory(artifact.paramsDir)};

  // Compile the model to an object, with the signature of its entry.
  CompileOptions options = compileOptions;
  options.symbol = name;
  nn::Signature signature;
  CompileReport compileReport;
  auto codegenStart = Clock::now();
  auto object = lowerAndEmit(module, "obj", options, &signature, &compileReport);
  if (failed(object))
    return failWith("compilation of " + sourceName + " failed");
  double codegenSeconds = std::chrono::duration<double>(Clock::now() - codegenStart).count();
  double phasesSeconds = 0;
  for (auto &[phase, s] : compileReport.phaseSeconds)
    phasesSeconds += s;
  report.phaseSeconds = compileReport.phaseSeconds;
  report.phaseSeconds.push_back(
      {compileReport.fromCache ? "object from the cache" : "codegen", codegenSeconds - phasesSeconds});
  report.workspaceBytes = compileReport.workspaceBytes;
  report.kernels = compileReport.kernels;

  // The tensors, with stored parameter values.
  std::vector<Tensor> tensors;
  std::vector<TensorInfo> infos = describe(signature);
  auto trained = loadParamsDir(artifact.paramsDir, infos);
  if (!trained)
    return Error{trained.error()};
  for (size_t i = 0; i < infos.size(); ++i) {
    Tensor t{infos[i], i >= signature.args.size() ? Tensor::Output
                       : infos[i].isParam         ? Tensor::Param
                                                  : Tensor::Input,
             {}, {}};
    if (t.kind == Tensor::Param) {
      if (auto it = trained->find(t.info.name); it != trained->end()) {
        const HostTensor &value = it->second;
        t.stored.assign((const char *)value.data(), (const char *)value.data() + value.bytes());
      } else if (t.info.init.kind == ParamInit::Kind::Values && t.info.init.tensor) {
        const HostTensor &value = *t.info.init.tensor;
        t.stored.assign((const char *)value.data(), (const char *)value.data() + value.bytes());
      }
      report.weightBytes += int64_t(t.stored.size());
    }
    tensors.push_back(std::move(t));
  }
  cIdentifiers(tensors);

  // Write the pieces into a temporary directory and join them.
  llvm::SmallString<128> dir;
  if (auto ec = llvm::sys::fs::createUniqueDirectory("kiln-aot", dir))
    return Error{"cannot create a temporary directory: " + ec.message()};
  std::string d(dir.str());
  auto cleanup = [&] { llvm::sys::fs::remove_directories(d); };
  std::string headerText = header(name, tensors, report.workspaceBytes, sourceName);
  bool external = artifact.externalWeights;
  // The model's code: one object, or several generated at once (joined
  // by `ld -r` below with the rest).
  auto modelParts = unbundleObjects(*object);
  if (!modelParts) {
    cleanup();
    return Error{"the compiled model: " + llvm::toString(modelParts.takeError())};
  }
  std::vector<std::string> objects;
  for (size_t i = 0; i < modelParts->size(); ++i) {
    std::string path = d + "/model" + (i ? "." + std::to_string(i) : std::string()) + ".o";
    if (!writeFile(path, (*modelParts)[i].str())) {
      cleanup();
      return Error{"cannot write temporary files in " + d};
    }
    objects.push_back(path);
  }
  if (!writeFile(d + "/" + name + ".h", headerText) || !writeFile(d + "/support.c", support(name, tensors, external))) {
    cleanup();
    return Error{"cannot write temporary files in " + d};
  }
  std::string runtime = findRuntimeArchive();
  if (runtime.empty()) {
    cleanup();
    return Error{"cannot find libkiln_rt.a beside libkiln.so"};
  }
  llvm::SmallString<256> runtimeInclude(runtime);
  llvm::sys::path::remove_filename(runtimeInclude);
  std::string log = d + "/tool.log";
  objects.push_back(d + "/support.o");
  uint64_t blockEnd;
  std::vector<int64_t> blockOffsets = weightOffsets(tensors, 0, &blockEnd);
  if (!external && blockEnd > 0) {
    // The weights as raw bytes in a read-only section of their own object.
    std::string asmText = "\t.section .rodata.kiln_weights,\"a\",@progbits\n\t.balign " +
                          std::to_string(kWeightAlignment) + "\n\t.globl " + name + "__weight_block\n" +
                          name + "__weight_block:\n\t.incbin \"" + d + "/weights.bin\"\n" +
                          "\t.section .note.GNU-stack,\"\",@progbits\n";
    if (!writeWeightBlocks(d + "/weights.bin", "", tensors, blockOffsets) ||
        !writeFile(d + "/weights.s", asmText)) {
      cleanup();
      return Error{"cannot write the weights in " + d};
    }
    objects.push_back(d + "/weights.o");
  }
  // A ThreadSanitizer build instruments every piece with clang's TSan (the
  // kernels' instrumentation is LLVM 19's; gcc's libtsan is an older one).
  bool tsan = options.threadSanitizer;
  const std::string cc = tsan ? "clang-19" : "cc";
  std::vector<std::string> ccFlags{"-std=c99", "-O2", "-fPIC", "-ffp-contract=off", "-I", d};
  if (tsan)
    ccFlags.insert(ccFlags.end(), {"-fsanitize=thread", "-g"});
  auto linkStart = Clock::now();
  // kiln_rt.h: installed beside include/, or in the source tree's runtime/.
  std::vector<std::string> includes;
  for (const char *rel : {"../include", "../../runtime", "../../../runtime"}) {
    llvm::SmallString<256> p(runtimeInclude);
    llvm::sys::path::append(p, rel);
    includes.push_back("-I");
    includes.push_back(std::string(p.str()));
  }
  includes.push_back("-I");
  includes.push_back(KILN_RUNTIME_SOURCE_DIR);
  ccFlags.insert(ccFlags.end(), includes.begin(), includes.end());
  std::vector<std::string> supportCompile = ccFlags;
  supportCompile.insert(supportCompile.end(), {"-c", d + "/support.c", "-o", d + "/support.o"});
  if (auto err = run(cc, supportCompile, log)) {
    cleanup();
    return Error{*err};
  }
  if (!external && blockEnd > 0)
    if (auto err = run(cc, {"-c", d + "/weights.s", "-o", d + "/weights.o"}, log)) {
      cleanup();
      return Error{*err};
    }
  if (kind == "exe") {
    if (!writeFile(d + "/main.c", exeMain(name))) {
      cleanup();
      return Error{"cannot write " + d + "/main.c"};
    }
    std::vector<std::string> mainCompile = ccFlags;
    mainCompile.insert(mainCompile.end(), {"-c", d + "/main.c", "-o", d + "/main.o"});
    if (auto err = run(cc, mainCompile, log)) {
      cleanup();
      return Error{*err};
    }
    objects.push_back(d + "/main.o");
  }
  if (tsan) {
    // The runtime (its thread pool above all) instrumented too: compiled
    // from its sources instead of the prebuilt archive.
    for (const char *file : {"status", "alloc", "npy", "init", "parallel", "profile"}) {
      std::vector<std::string> rtCompile = ccFlags;
      rtCompile.insert(rtCompile.end(), {"-c", std::string(KILN_RUNTIME_SOURCE_DIR) + "/" + file + ".c",
                                         "-o", d + "/rt_" + file + ".o"});
      if (auto err = run(cc, rtCompile, log)) {
        cleanup();
        return Error{"--sanitize=thread compiles kiln's runtime from its sources: " + *err};
      }
      objects.push_back(d + "/rt_" + file + ".o");
    }
  }
  std::vector<std::string> join{"-r", "-o", d + "/joined.o"};
  join.insert(join.end(), objects.begin(), objects.end());
  if (!tsan)
    join.push_back(runtime);
  if (auto err = run("ld", join, log)) {
    cleanup();
    return Error{*err};
  }
  if (kind != "exe") {
    std::vector<std::string> keep;
    for (std::string s : {"", "_workspace_size", "_scratch_size", "_strerror", "_error_site", "_init_params", "_load_weights",
                          "_tensors"})
      keep.push_back("--keep-global-symbol=" + name + s);
    keep.push_back(d + "/joined.o");
    if (auto err = run("objcopy", keep, log)) {
      cleanup();
      return Error{*err};
    }
  }
  std::optional<std::string> err;
  const std::string &out = artifact.output;
  llvm::sys::fs::remove(out);
  if (kind == "obj")
    err = run("cp", {d + "/joined.o", out}, log);
  else if (kind == "static-lib")
    err = run("ar", {"rcs", out, d + "/joined.o"}, log);
  else if (kind == "shared-lib")
    err = run(cc, {"-shared", "-o", out, d + "/joined.o", "-lm"}, log);
  else if (tsan)
    err = run(cc, {"-fsanitize=thread", "-o", out, d + "/joined.o", "-lm"}, log);
  else
    err = run(cc, {"-o", out, d + "/joined.o", "-lm"}, log);
  if (err) {
    cleanup();
    return Error{*err};
  }
  report.phaseSeconds.push_back({"link", std::chrono::duration<double>(Clock::now() - linkStart).count()});
  report.files.push_back(out);
  if (kind != "exe") {
    llvm::SmallString<256> headerPath(out);
    llvm::sys::path::remove_filename(headerPath);
    llvm::sys::path::append(headerPath, name + ".h");
    if (!writeFile(std::string(headerPath.str()), headerText)) {
      cleanup();
      return Error{"cannot write " + std::string(headerPath.str())};
    }
    report.files.push_back(std::string(headerPath.str()));
  }
  if (external) {
    std::string weights = out + ".weights";
    std::vector<int64_t> offsets;
    std::string fileHeader = externalWeightsHeader(tensors, &offsets);
    if (!writeWeightBlocks(weights, fileHeader, tensors, offsets)) {
      cleanup();
      return Error{"cannot write " + weights};
    }
    report.files.push_back(weights);
  }
  cleanup();
  report.totalSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

} // namespace kiln
