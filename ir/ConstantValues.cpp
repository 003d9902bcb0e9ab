//===- ConstantValues.cpp - read a constant's values, dense or blob -------===//
#include "ir/ConstantValues.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace kiln::nn {

namespace {
template <typename T> std::vector<double> decode(ArrayRef<char> bytes, int64_t count) {
  std::vector<double> out(count);
  for (int64_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    out[i] = double(v);
  }
  return out;
}
} // namespace

FailureOr<std::vector<double>> constantValues(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  Type elem = type.getElementType();
  int64_t count = type.getNumElements();
  if (auto blob = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *data = blob.getRawHandle().getBlob();
    if (!data)
      return failure();
    ArrayRef<char> bytes = data->getData();
    auto sized = [&](size_t size) { return int64_t(bytes.size()) == count * int64_t(size); };
    if (elem.isF32() && sized(4))
      return decode<float>(bytes, count);
    if (elem.isF64() && sized(8))
      return decode<double>(bytes, count);
    if (elem.isInteger(32) && sized(4))
      return decode<int32_t>(bytes, count);
    if (elem.isInteger(64) && sized(8))
      return decode<int64_t>(bytes, count);
    if (elem.isInteger(1) && sized(1))
      return decode<uint8_t>(bytes, count);
    return failure();
  }
  std::vector<double> out;
  out.reserve(count);
  if (isa<FloatType>(elem)) {
    for (APFloat v : attr.getValues<APFloat>())
      out.push_back(v.convertToDouble());
  } else if (elem.isInteger(1)) {
    for (APInt v : attr.getValues<APInt>())
      out.push_back(v.isZero() ? 0.0 : 1.0);
  } else if (isa<IntegerType>(elem)) {
    for (APInt v : attr.getValues<APInt>())
      out.push_back(double(v.getSExtValue()));
  } else {
    return failure();
  }
  return out;
}

} // namespace kiln::nn
