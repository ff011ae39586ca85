// Image decoding and encoding through Debian's libstb (stb_image, stb_image_write).
#include "leancnn/io/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/io/file.h"

namespace leancnn::io {

Image read_image(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) fail(ErrorKind::bad_input, "image '", path, "': no such file");
  // Decoded from memory (read_file names the file on a read error) so that the file is read once.
  const std::string bytes = read_file(path);
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) fail(ErrorKind::bad_input, "image '", path, "': file larger than 2 GiB");
  int w = 0, h = 0, c = 0;
  unsigned char* data = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                              static_cast<int>(bytes.size()), &w, &h, &c, 0);
  if (!data) {
    const char* why = stbi_failure_reason();
    fail(ErrorKind::bad_input, "image '", path, "': cannot decode (", why ? why : "unknown reason",
         "); expected a PNG or JPEG file");
  }
  Image img;
  img.height = h;
  img.width = w;
  img.channels = c;
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(c);
  img.pixels.assign(data, data + n);
  stbi_image_free(data);
  return img;
}

bool has_image_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

namespace {

void check_image(const std::string& path, const Image& image) {
  if (image.height < 1 || image.width < 1 || image.channels < 1 || image.channels > 4)
    fail(ErrorKind::bad_input, "image '", path, "': cannot write a ", image.height, "x", image.width, "x", image.channels,
         " image (needs at least 1x1 and 1-4 channels)");
  if (image.pixels.size() != static_cast<size_t>(image.height * image.width * image.channels))
    fail(ErrorKind::bad_input, "image '", path, "': ", image.pixels.size(), " pixel bytes for a ", image.height, "x",
         image.width, "x", image.channels, " image");
}

// stb_image_write's callback: appends to a string.
void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

void write_png(const std::string& path, const Image& image) {
  check_image(path, image);
  std::string bytes;
  const int stride = static_cast<int>(image.width * image.channels);
  if (!stbi_write_png_to_func(append, &bytes, static_cast<int>(image.width), static_cast<int>(image.height),
                              static_cast<int>(image.channels), image.pixels.data(), stride))
    fail(ErrorKind::runtime, "image '", path, "': PNG encoding failed");
  write_file_atomic(path, bytes);
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  check_image(path, image);
  if (quality < 1 || quality > 100) fail(ErrorKind::bad_input, "image '", path, "': JPEG quality must be 1-100, got ", quality);
  std::string bytes;
  if (!stbi_write_jpg_to_func(append, &bytes, static_cast<int>(image.width), static_cast<int>(image.height),
                              static_cast<int>(image.channels), image.pixels.data(), quality))
    fail(ErrorKind::runtime, "image '", path, "': JPEG encoding failed");
  write_file_atomic(path, bytes);
}

}  // namespace leancnn::io
