#include "agent/batch/csv_reader.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace fep {
namespace {

constexpr size_t kBlock = 64 * 1024;

// Bytes that end a run of plain characters in an unquoted field.
constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('\n')] = true;
  t[static_cast<unsigned char>('\r')] = true;
  t[static_cast<unsigned char>('"')] = true;
  return t;
}();

}  // namespace

CsvReader::CsvReader(ByteSource& source) : source_(source), buf_(kBlock) {}

Unexpected<Error> CsvReader::error(uint64_t line, std::string_view what) const {
  return fail("CSV line " + std::to_string(line) + ": " + std::string(what));
}

Expected<bool> CsvReader::more() {
  if (pos_ < len_) return true;
  if (eof_) return false;
  // Field bytes are copied out as they are scanned, so the whole buffer can be reused.
  pos_ = len_ = 0;
  auto n = source_.read(buf_.data(), buf_.size());
  if (!n) return Unexpected<Error>{n.error()};
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  len_ = *n;
  return true;
}

Status CsvReader::skip_bom() {
  // Gather three bytes even from a source that hands out one byte at a time.
  while (len_ < 3 && !eof_) {
    auto n = source_.read(buf_.data() + len_, buf_.size() - len_);
    if (!n) return Unexpected<Error>{n.error()};
    if (*n == 0) eof_ = true;
    len_ += *n;
  }
  if (len_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  return {};
}

Expected<CsvReader::End> CsvReader::terminator(bool after_quote) {
  auto m = more();
  if (!m) return Unexpected<Error>{m.error()};
  if (!*m) return End::eof;
  char c = buf_[pos_];
  if (c == ',') {
    ++pos_;
    return End::comma;
  }
  if (c == '\n') {
    ++pos_;
    ++line_;
    return End::line;
  }
  if (c == '\r') {
    ++pos_;
    m = more();
    if (!m) return Unexpected<Error>{m.error()};
    if (!*m || buf_[pos_] != '\n') return error(line_, "bare CR (carriage return without LF)");
    ++pos_;
    ++line_;
    return End::line;
  }
  if (after_quote) return error(line_, "characters after a closing quote");
  return error(line_, "quote inside an unquoted field");
}

Expected<CsvReader::End> CsvReader::unquoted(std::string& out) {
  for (;;) {
    auto m = more();
    if (!m) return Unexpected<Error>{m.error()};
    if (!*m) return End::eof;
    const char* p = buf_.data() + pos_;
    const char* e = buf_.data() + len_;
    const char* q = p;
    while (q < e && !kSpecial[static_cast<unsigned char>(*q)]) ++q;
    out.append(p, q);
    pos_ += static_cast<size_t>(q - p);
    if (q < e) return terminator(false);
  }
}

Expected<CsvReader::End> CsvReader::quoted(std::string& out, uint64_t start_line) {
  ++pos_;  // the opening quote
  for (;;) {
    auto m = more();
    if (!m) return Unexpected<Error>{m.error()};
    if (!*m) return error(start_line, "unterminated quoted field");
    const char* p = buf_.data() + pos_;
    const char* e = buf_.data() + len_;
    const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(e - p)));
    if (!q) q = e;
    line_ += static_cast<uint64_t>(std::count(p, q, '\n'));
    out.append(p, q);
    pos_ += static_cast<size_t>(q - p);
    if (q == e) continue;
    ++pos_;  // a quote: closes the field unless doubled
    m = more();
    if (!m) return Unexpected<Error>{m.error()};
    if (*m && buf_[pos_] == '"') {
      out.push_back('"');
      ++pos_;
      continue;
    }
    return terminator(true);
  }
}

Expected<bool> CsvReader::next(CsvRecord& record) {
  if (!started_) {
    started_ = true;
    if (auto s = skip_bom(); !s) return Unexpected<Error>{s.error()};
  }
  auto m = more();
  if (!m) return Unexpected<Error>{m.error()};
  if (!*m) return false;

  record.line = line_;
  size_t count = 0;
  for (;;) {
    // Reuse the fields (and their string capacity) of the previous record.
    if (count == record.fields.size()) record.fields.emplace_back();
    CsvField& field = record.fields[count++];
    field.value.clear();
    field.quoted = false;

    m = more();
    if (!m) return Unexpected<Error>{m.error()};
    Expected<End> end = End::eof;
    if (*m && buf_[pos_] == '"') {
      field.quoted = true;
      end = quoted(field.value, line_);
    } else {
      end = unquoted(field.value);
    }
    if (!end) return Unexpected<Error>{end.error()};
    if (*end != End::comma) break;
  }
  record.fields.resize(count);
  return true;
}

}  // namespace fep
