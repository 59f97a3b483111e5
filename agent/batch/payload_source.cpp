#include "agent/batch/payload_source.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "adapters/archive/raw_reader.h"

namespace fep {
namespace {

constexpr size_t kBlock = 64 * 1024;

struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// compression "none": the spooled file as is (libarchive's raw format rejects empty files).
class FileSource : public ByteSource {
 public:
  FileSource(std::unique_ptr<std::FILE, FileClose> f, std::string name)
      : f_(std::move(f)), name_(std::move(name)) {}
  Expected<size_t> read(char* buf, size_t size) override {
    size_t n = std::fread(buf, 1, size, f_.get());
    if (n == 0 && std::ferror(f_.get())) return fail(name_ + ": read error");
    return n;
  }

 private:
  std::unique_ptr<std::FILE, FileClose> f_;
  std::string name_;
};

class ArchiveSource : public ByteSource {
 public:
  explicit ArchiveSource(archive::RawReader r) : r_(std::move(r)) {}
  Expected<size_t> read(char* buf, size_t size) override { return r_.read(buf, size); }

 private:
  archive::RawReader r_;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  Expected<size_t> read(char* buf, size_t size) override {
    size_t n = std::min(size, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

struct IconvClose {
  using pointer = iconv_t;  // iconv_t is itself a pointer type
  void operator()(iconv_t cd) const { iconv_close(cd); }
};

// GB18030 -> UTF-8, block by block. A multi-byte sequence split across blocks is carried over
// (iconv reports EINVAL for it) and completed by the next block.
class Gb18030Source : public ByteSource {
 public:
  Gb18030Source(std::unique_ptr<ByteSource> inner, std::unique_ptr<void, IconvClose> cd)
      : inner_(std::move(inner)), cd_(std::move(cd)), in_(kBlock), out_(kBlock) {}

  Expected<size_t> read(char* buf, size_t size) override {
    if (out_pos_ == out_len_) {
      auto filled = fill();
      if (!filled) return Unexpected<Error>{filled.error()};
      if (out_len_ == 0) return size_t{0};
    }
    size_t n = std::min(size, out_len_ - out_pos_);
    std::memcpy(buf, out_.data() + out_pos_, n);
    out_pos_ += n;
    return n;
  }

 private:
  // Converts until some output exists or the input ends.
  Expected<bool> fill() {
    out_pos_ = out_len_ = 0;
    for (;;) {
      if (in_len_ > 0) {
        char* ip = in_.data() + in_pos_;
        size_t ileft = in_len_;
        char* op = out_.data();
        size_t oleft = out_.size();
        size_t r = iconv(cd_.get(), &ip, &ileft, &op, &oleft);
        int err = errno;
        size_t used = in_len_ - ileft;
        offset_ += used;
        in_pos_ += used;
        in_len_ = ileft;
        out_len_ = out_.size() - oleft;
        if (r == static_cast<size_t>(-1) && err == EILSEQ)
          return fail("invalid GB18030 sequence at byte offset " + std::to_string(offset_));
        if (out_len_ > 0) return true;
        // EINVAL (sequence incomplete at the block end) or nothing left: read more below.
      }
      if (eof_) {
        if (in_len_ > 0)
          return fail("truncated GB18030 sequence at byte offset " + std::to_string(offset_));
        return true;
      }
      std::memmove(in_.data(), in_.data() + in_pos_, in_len_);
      in_pos_ = 0;
      auto n = inner_->read(in_.data() + in_len_, in_.size() - in_len_);
      if (!n) return Unexpected<Error>{n.error()};
      if (*n == 0) eof_ = true;
      in_len_ += *n;
    }
  }

  std::unique_ptr<ByteSource> inner_;
  std::unique_ptr<void, IconvClose> cd_;
  std::vector<char> in_, out_;
  size_t in_pos_ = 0, in_len_ = 0, out_pos_ = 0, out_len_ = 0;
  uint64_t offset_ = 0;  // input bytes converted so far: where an error is
  bool eof_ = false;
};

}  // namespace

Expected<std::unique_ptr<ByteSource>> open_payload(const std::filesystem::path& path,
                                                   std::string_view compression,
                                                   std::string_view encoding) {
  if (encoding != "UTF-8" && encoding != "GB18030")
    return fail("unsupported payload encoding \"" + std::string(encoding) + "\"");

  std::unique_ptr<ByteSource> src;
  if (compression == "none") {
    std::unique_ptr<std::FILE, FileClose> f(std::fopen(path.c_str(), "rb"));
    if (!f) return fail(path.string() + ": " + std::strerror(errno));
    src = std::make_unique<FileSource>(std::move(f), path.string());
  } else {
    auto r = archive::RawReader::open(path, compression);
    if (!r) return Unexpected<Error>{r.error()};
    src = std::make_unique<ArchiveSource>(std::move(*r));
  }
  if (encoding == "UTF-8") return src;

  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == reinterpret_cast<iconv_t>(-1))
    return fail(std::string("iconv GB18030 -> UTF-8: ") + std::strerror(errno));
  return std::unique_ptr<ByteSource>(
      std::make_unique<Gb18030Source>(std::move(src), std::unique_ptr<void, IconvClose>(cd)));
}

std::unique_ptr<ByteSource> memory_source(std::string_view bytes) {
  return std::make_unique<MemorySource>(bytes);
}

}  // namespace fep
