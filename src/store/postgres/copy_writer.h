#pragma once
// Internal to the PostgreSQL backend: builds COPY ... (FORMAT binary) data.
//
// Binary COPY is used because the server then does no text parsing at all (no strtod
// per value): a row is a field count followed by (length, big-endian bytes) per field.
// The writer appends to one buffer that the caller sends in large chunks and clears.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::store::postgres {

class CopyWriter {
 public:
  explicit CopyWriter(size_t reserve = 0) { buf_.reserve(reserve); }

  // The file header: signature, flags, header extension length.
  void Header() {
    static constexpr char kSignature[] = "PGCOPY\n\377\r\n\0";
    buf_.append(kSignature, 11);
    Put32(0);
    Put32(0);
  }
  // The file trailer: a field count of -1.
  void Trailer() { Put16(0xFFFF); }

  void Row(uint16_t fields) { Put16(fields); }
  void Null() { Put32(0xFFFFFFFFu); }
  void Int64(int64_t v) {
    Put32(8);
    Put64(static_cast<uint64_t>(v));
  }
  void Float8(double v) {
    Put32(8);
    Put64(std::bit_cast<uint64_t>(v));
  }
  void Bool(bool v) {
    Put32(1);
    buf_.push_back(v ? 1 : 0);
  }
  void Text(std::string_view v) {
    Put32(static_cast<uint32_t>(v.size()));
    buf_.append(v.data(), v.size());
  }

  // One sample row (point_id, ts, value, quality, ver, manual), written in one go: this
  // is the hot loop of the sample path. A NaN value is stored as NULL, as on SQLite.
  void SampleRow(int64_t point_id, int64_t ts, double value, int64_t quality, int64_t ver,
                 bool manual) {
    char row[2 + 12 * 5 + 5];
    char* p = row;
    const bool null_value = value != value;
    p = Be16(p, 6);
    p = Be32(p, 8);
    p = Be64(p, static_cast<uint64_t>(point_id));
    p = Be32(p, 8);
    p = Be64(p, static_cast<uint64_t>(ts));
    if (null_value) {
      p = Be32(p, 0xFFFFFFFFu);
    } else {
      p = Be32(p, 8);
      p = Be64(p, std::bit_cast<uint64_t>(value));
    }
    p = Be32(p, 8);
    p = Be64(p, static_cast<uint64_t>(quality));
    p = Be32(p, 8);
    p = Be64(p, static_cast<uint64_t>(ver));
    p = Be32(p, 1);
    *p++ = manual ? 1 : 0;
    buf_.append(row, static_cast<size_t>(p - row));
  }

  const std::string& buffer() const { return buf_; }
  size_t size() const { return buf_.size(); }
  void Clear() { buf_.clear(); }

 private:
  static char* Be16(char* p, uint16_t v) {
    v = __builtin_bswap16(v);
    std::memcpy(p, &v, 2);
    return p + 2;
  }
  static char* Be32(char* p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
    return p + 4;
  }
  static char* Be64(char* p, uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
    return p + 8;
  }
  void Put16(uint16_t v) {
    char b[2];
    buf_.append(b, static_cast<size_t>(Be16(b, v) - b));
  }
  void Put32(uint32_t v) {
    char b[4];
    buf_.append(b, static_cast<size_t>(Be32(b, v) - b));
  }
  void Put64(uint64_t v) {
    char b[8];
    buf_.append(b, static_cast<size_t>(Be64(b, v) - b));
  }

  std::string buf_;
};

}  // namespace sluice::store::postgres
