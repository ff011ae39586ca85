// Element types of leancnn tensors and their sizes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace leancnn {

// b1 is 1-bit packed: sign values {-1,+1}, bit 1 = +1 (DESIGN.md §4). Its storage is
// described in tensor.h. s64 exists for ONNX shape tensors and class labels.
enum class DType : uint8_t { f32, s8, u8, s32, s64, b1 };

// Bytes per element; 0 for b1 (use Tensor::nbytes()).
size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
// Parses "f32", "s8", ... ; throws Error(bad_input) on an unknown name.
DType dtype_from_name(std::string_view name);

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<int8_t>() { return DType::s8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<int32_t>() { return DType::s32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::s64; }

}  // namespace leancnn
