// Image files as 8-bit pixels: PNG and JPEG (and the other formats Debian's stb_image reads:
// BMP, TGA, GIF's first frame, PNM), decoded by libstb; PNG and JPEG written by it (tests and
// tools make their own small images). No stb type appears here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace leancnn::io {

struct Image {
  int64_t height = 0, width = 0;
  int64_t channels = 0;         // 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), as stored
  std::vector<uint8_t> pixels;  // height × width × channels, row-major, channels interleaved
};

// Decodes an image file. Error(bad_input) naming the file and the decoder's reason for a file
// that is missing, unreadable, truncated, or in a format the decoder does not know.
Image read_image(const std::string& path);

// Whether a file name has an image extension read_image is meant for (.png, .jpg, .jpeg, .bmp,
// case-insensitive).
bool has_image_extension(const std::string& path);

// Writes an image atomically (io/file.h). Error(bad_input) on an empty image or channels
// outside 1-4; quality is JPEG's 1-100.
void write_png(const std::string& path, const Image& image);
void write_jpeg(const std::string& path, const Image& image, int quality = 95);

}  // namespace leancnn::io
