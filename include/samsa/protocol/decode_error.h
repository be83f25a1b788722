#pragma once
// Thrown for malformed input on the wire or on disk: the only exception the
// protocol layer uses. Callers close the connection (or truncate the segment).
#include <stdexcept>
#include <string>

namespace samsa::protocol {

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace samsa::protocol
