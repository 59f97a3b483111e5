#include "tools/exchange-sim/payload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "tools/exchange-sim/answer.h"

namespace fep::sim {
namespace {

constexpr size_t kChunk = 1 << 16;

// An open payload file, closed by whoever releases the last reference (the content provider).
struct File {
  int fd = -1;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

ByteRange resolve_range(const httplib::Request& req, const std::string& etag, std::uint64_t size) {
  ByteRange whole;
  if (!req.has_header("Range")) return whole;
  // If-Range holds an ETag or a date; only our exact (strong) ETag lets the range apply.
  if (req.has_header("If-Range") && trim(req.get_header_value("If-Range")) != etag) return whole;
  const std::string range = req.get_header_value("Range");  // by value: `spec` points into it
  std::string_view spec = trim(range);
  if (!starts_with_nocase(spec, "bytes=")) return whole;
  spec.remove_prefix(6);
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: send it all
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  auto first_text = trim(spec.substr(0, dash));
  auto last_text = trim(spec.substr(dash + 1));
  auto first = parse_number(first_text);
  auto last = parse_number(last_text);
  if ((!first_text.empty() && !first) || (!last_text.empty() && !last) || (!first && !last))
    return whole;  // not a range we understand: ignored, as RFC 9110 allows

  ByteRange r{ByteRange::Kind::kPartial, 0, 0};
  if (first) {
    if (last && *last < *first) return whole;
    if (*first >= size) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    r.first = *first;
    r.last = last ? std::min(*last, size - 1) : size - 1;
  } else {  // bytes=-N: the last N bytes
    if (*last == 0 || size == 0) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    r.first = size - std::min(*last, size);
    r.last = size - 1;
  }
  return r;
}

void answer_payload(const httplib::Request& req, httplib::Response& res, const BatchInfo& batch,
                    const RequestFaults& faults, int drip_pieces, int drip_pause_ms) {
  const auto path = batch.dir / "payload";
  auto file = std::make_shared<File>();
  file->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (file->fd < 0 || ::fstat(file->fd, &st) != 0)
    return send(res, error_answer(500, "INTERNAL",
                                  "cannot open " + path.string() + ": " + std::strerror(errno)));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::string etag = "\"" + batch.sha256 + "\"";
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("ETag", etag);

  // Fault ignore_range: the whole body with 200, whatever the Range asked.
  const ByteRange range = faults.ignore_range ? ByteRange{} : resolve_range(req, etag, size);
  if (range.kind == ByteRange::Kind::kUnsatisfiable) {
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    return send(res, error_answer(416, "RANGE_NOT_SATISFIABLE",
                                  "the range starts at or past the end (" + std::to_string(size) +
                                      " bytes)"));
  }
  std::uint64_t first = 0;
  std::uint64_t length = size;
  res.status = 200;
  if (range.kind == ByteRange::Kind::kPartial) {
    first = range.first;
    length = range.last - range.first + 1;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                        std::to_string(range.last) + "/" + std::to_string(size));
  }

  // Faults. corrupt_payload: the same 16 bytes of the file (from its middle) are served flipped
  // in every answer, so resumed and fresh downloads agree with each other but not with the
  // manifest. reset_payload and short_body: the body stops half-way (offsets relative to this
  // answer). slow_drip: the body in drip_pieces pieces with a pause between them.
  const std::uint64_t corrupt_from = faults.corrupt_payload ? size / 2 : 0;
  const std::uint64_t corrupt_to = faults.corrupt_payload ? std::min(size, size / 2 + 16) : 0;
  const bool cut = faults.reset_payload || faults.short_body;
  const std::uint64_t cut_at = cut ? length / 2 : length;
  const std::uint64_t piece =
      faults.slow_drip ? std::max<std::uint64_t>(1, (length + drip_pieces - 1) / drip_pieces)
                       : kChunk;
  const bool reset = faults.reset_payload;
  const bool drip = faults.slow_drip;
  const std::string peer_addr = req.remote_addr;
  const int peer_port = req.remote_port;

  // Streamed from disk a block at a time: payloads can be far larger than memory.
  res.set_content_provider(
      static_cast<size_t>(length), "application/octet-stream",
      [=](size_t offset, size_t want, httplib::DataSink& sink) {
        if (offset >= cut_at) {
          if (reset) {
            httplib::Request who;
            who.remote_addr = peer_addr;
            who.remote_port = peer_port;
            if (int fd = connection_fd(who); fd >= 0) reset_connection(fd);
          }
          return false;  // the connection closes short of Content-Length
        }
        if (drip && offset > 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(drip_pause_ms));
        std::uint64_t n_want = std::min<std::uint64_t>({want, kChunk, piece, cut_at - offset});
        std::vector<char> buf(static_cast<size_t>(n_want));
        ssize_t n;
        do {
          n = ::pread(file->fd, buf.data(), buf.size(), static_cast<off_t>(first + offset));
        } while (n < 0 && errno == EINTR);
        if (n <= 0) return false;  // the file shrank or failed: drop the connection
        const std::uint64_t at = first + offset;
        for (std::uint64_t i = std::max(at, corrupt_from);
             i < std::min(at + static_cast<std::uint64_t>(n), corrupt_to); ++i)
          buf[static_cast<size_t>(i - at)] ^= 0x5a;
        return sink.write(buf.data(), static_cast<size_t>(n));
      });
}

}  // namespace fep::sim
