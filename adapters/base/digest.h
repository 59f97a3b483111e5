// Streaming digests (SHA-256, SM3) over OpenSSL's EVP interface.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep {

class Hasher {
 public:
  // `algorithm` is an OpenSSL digest name ("SHA256", "SM3"); check available() before use.
  explicit Hasher(const char* algorithm);
  bool available() const { return ctx_ != nullptr; }
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Lowercase hex of the digest; the hasher cannot be updated afterwards.
  std::string hex_digest();

 private:
  struct Free {
    void operator()(void* ctx) const;
  };
  std::unique_ptr<void, Free> ctx_;
};

class Sha256 : public Hasher {
 public:
  Sha256() : Hasher("SHA256") {}
};

// SHA-256 of a whole file, read in blocks.
Expected<std::string> sha256_file(const std::filesystem::path& path);

std::string to_hex(const unsigned char* data, size_t size);

}  // namespace fep
