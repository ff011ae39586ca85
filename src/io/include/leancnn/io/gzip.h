// gzip (DEFLATE: LZ77 + Huffman coding, RFC 1952) of whole byte strings, through zlib: the last
// stage of Deep Compression (Han, Mao & Dally 2016 Huffman-code the pruned, quantized weights;
// DEFLATE's Huffman coding does that job on the whole file). save_onnx writes a path ending in
// ".gz" compressed and load_onnx reads a compressed file whatever its name (docs/formats.md).
#pragma once
#include <cstdint>
#include <string>

namespace leancnn::io {

// True when bytes start with the gzip magic (1f 8b).
bool is_gzip(const std::string& bytes);

// The gzip stream of bytes at zlib's best compression (level 9).
std::string gzip(const std::string& bytes);

// The bytes a gzip stream holds; Error(bad_input) when it is truncated or corrupt, or when it
// would inflate past max_bytes.
std::string gunzip(const std::string& gz, uint64_t max_bytes);

}  // namespace leancnn::io
