// Errors: one exception type carrying a kind (which maps to an exit code) and a context
// chain (which node, which file, which field) that callers add to as it propagates.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace leancnn {

enum class ErrorKind {
  runtime,    // failure while running: exit code 1
  usage,      // bad command-line use: exit code 2
  bad_input,  // bad model, data, recipe file: exit code 3
  internal,   // a broken invariant (a bug): exit code 1
};

class Error : public std::exception {
 public:
  Error(ErrorKind kind, std::string message);

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }
  // Outermost context first, e.g. {"file 'm.onnx'", "node 'conv1' (Conv)"}.
  const std::vector<std::string>& context() const noexcept { return context_; }
  // Adds a context line; returns *this so it can be rethrown: `catch (Error& e) { e.add_context(..); throw; }`.
  Error& add_context(std::string what);
  // "context: context: message"
  const char* what() const noexcept override;

 private:
  void rebuild();
  ErrorKind kind_;
  std::string message_;
  std::vector<std::string> context_;
  std::string what_;
};

int exit_code(ErrorKind kind);

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<<.
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, const Args&... args) {
  throw Error(kind, str_cat(args...));
}

}  // namespace leancnn

// Checks an internal invariant; a failure is a bug in leancnn, reported with file and line.
#define LEANCNN_CHECK(cond, ...)                                                              \
  do {                                                                                        \
    if (!(cond))                                                                              \
      ::leancnn::fail(::leancnn::ErrorKind::internal, __FILE__, ":", __LINE__, ": check '",   \
                      #cond, "' failed. " __VA_OPT__(, ) __VA_ARGS__);                        \
  } while (0)
