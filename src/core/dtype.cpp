// DType sizes and names.
#include "leancnn/core/dtype.h"

#include "leancnn/core/error.h"

namespace leancnn {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::s8: return 1;
    case DType::u8: return 1;
    case DType::s32: return 4;
    case DType::s64: return 8;
    case DType::b1: return 0;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::s8: return "s8";
    case DType::u8: return "u8";
    case DType::s32: return "s32";
    case DType::s64: return "s64";
    case DType::b1: return "b1";
  }
  return "?";
}

DType dtype_from_name(std::string_view name) {
  for (DType t : {DType::f32, DType::s8, DType::u8, DType::s32, DType::s64, DType::b1})
    if (dtype_name(t) == name) return t;
  fail(ErrorKind::bad_input, "unknown dtype '", name, "' (expected f32, s8, u8, s32, s64 or b1)");
}

}  // namespace leancnn
