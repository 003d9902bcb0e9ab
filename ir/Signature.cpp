//===- Signature.cpp - a model's entry function and its named tensors ----===//
#include "ir/Signature.h"
#include "ir/Dialect.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace kiln::nn {

bool isTensorName(llvm::StringRef s) {
  if (s.empty() || s.size() > 256)
    return false;
  return llvm::all_of(s, [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f && c != '=' && c != '/';
  });
}

FailureOr<func::FuncOp> findEntry(ModuleOp module, StringRef name) {
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  if (!name.empty()) {
    for (func::FuncOp f : funcs)
      if (f.getSymName() == name)
        return f;
    return module.emitError() << "no function named @" << name << " in the module";
  }
  for (func::FuncOp f : funcs)
    if (f.getSymName() == "main")
      return f;
  if (funcs.size() == 1)
    return funcs.front();
  if (funcs.empty())
    return module.emitError() << "the module has no func.func to compile";
  return module.emitError() << "the module has " << funcs.size()
                            << " functions and none is @main; name the entry function";
}

static bool isSupportedElement(Type t) {
  return t.isF32() || t.isF64() || t.isInteger(32) || t.isInteger(64) || t.isInteger(1);
}

FailureOr<Signature> readSignature(func::FuncOp func) {
  Signature sig;
  sig.entry = func.getSymName().str();
  llvm::StringSet<> seen;
  auto checkType = [&](Type t, StringRef what) -> FailureOr<RankedTensorType> {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt || !rt.hasStaticShape() || !isSupportedElement(rt.getElementType()))
      return func.emitError() << what
                              << " must be a statically shaped tensor of f32, f64, i32, i64 or i1, got "
                              << t;
    return rt;
  };
  auto claim = [&](StringRef name, StringRef what) -> LogicalResult {
    if (!seen.insert(name).second)
      return func.emitError() << "the name \"" << name << "\" of " << what
                              << " is used twice; input, parameter and output names must be unique";
    return success();
  };
  if (func.isExternal())
    return func.emitError() << "the entry function @" << func.getSymName() << " has no body";
  unsigned inputs = 0, params = 0;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    ArgSpec arg;
    std::string what = "argument #" + std::to_string(i);
    auto type = checkType(func.getArgument(i).getType(), what);
    if (failed(type))
      return failure();
    arg.type = *type;
    arg.init = func.getArgAttrOfType<DictionaryAttr>(i, kParamAttr);
    arg.isParam = bool(arg.init);
    if (auto name = func.getArgAttrOfType<StringAttr>(i, kNameAttr))
      arg.name = name.str();
    else
      arg.name = arg.isParam ? "param" + std::to_string(params) : "in" + std::to_string(inputs);
    (arg.isParam ? params : inputs)++;
    if (failed(claim(arg.name, what)))
      return failure();
    sig.args.push_back(arg);
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    if (auto target = func.getResultAttrOfType<IntegerAttr>(i, kUpdatesAttr)) {
      // Written into an argument's buffer, not an output.
      unsigned arg = target.getInt();
      if (arg >= func.getNumArguments() || !sig.args[arg].isParam ||
          func.getResultTypes()[i] != func.getArgument(arg).getType())
        return func.emitError() << "result #" << i << " updates argument #" << arg
                                << ", which must be a parameter of the same type";
      continue;
    }
    ResultSpec res;
    std::string what = "result #" + std::to_string(i);
    auto type = checkType(func.getResultTypes()[i], what);
    if (failed(type))
      return failure();
    res.type = *type;
    if (auto name = func.getResultAttrOfType<StringAttr>(i, kNameAttr))
      res.name = name.str();
    else
      res.name = "out" + std::to_string(i);
    if (failed(claim(res.name, what)))
      return failure();
    sig.results.push_back(res);
  }
  if (sig.results.empty())
    return func.emitError() << "the entry function @" << func.getSymName()
                            << " returns nothing; a model needs at least one output";
  return sig;
}

} // namespace kiln::nn
