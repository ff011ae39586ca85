// Error: message + context chain, formatted once per change.
#include "leancnn/core/error.h"

namespace leancnn {

Error::Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {
  rebuild();
}

Error& Error::add_context(std::string what) {
  context_.insert(context_.begin(), std::move(what));
  rebuild();
  return *this;
}

const char* Error::what() const noexcept { return what_.c_str(); }

void Error::rebuild() {
  what_.clear();
  for (const auto& c : context_) what_ += c + ": ";
  what_ += message_;
}

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::bad_input: return 3;
    case ErrorKind::runtime:
    case ErrorKind::internal: return 1;
  }
  return 1;
}

}  // namespace leancnn
