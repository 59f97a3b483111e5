#include "adapters/base/digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace fep {

void Hasher::Free::operator()(void* ctx) const {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
}

Hasher::Hasher(const char* algorithm) {
  const EVP_MD* md = EVP_get_digestbyname(algorithm);
  if (!md) return;
  ctx_.reset(EVP_MD_CTX_new());
  if (ctx_ && EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md, nullptr) != 1)
    ctx_.reset();
}

void Hasher::update(const void* data, size_t size) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_.get()), data, size);
}

std::string Hasher::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md, &len);
  return to_hex(md, len);
}

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

Expected<std::string> sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open " + path.string() + ": " + std::strerror(errno));
  Sha256 hasher;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    hasher.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return fail("cannot read " + path.string());
  return hasher.hex_digest();
}

}  // namespace fep
