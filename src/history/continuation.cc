// ReadRaw's continuation token (continuation.h).

#include "history/continuation.h"

#include <cstring>

#include <fmt/format.h>

namespace sluice::history {
namespace {

constexpr char kMagic[4] = {'S', 'L', 'H', 'C'};
constexpr uint8_t kVersion = 1;
constexpr size_t kSize = 4 + 1 + 4 + 1 + 8 + 8 + 3;

// FNV-1a, 64 bits: stable across processes and builds (std::hash is not), so a token
// survives a restart of the service or a failover to another node.
class Fnv1a {
 public:
  void Add(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      hash_ ^= (v >> (8 * i)) & 0xff;
      hash_ *= 0x100000001b3ULL;
    }
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t Get(const std::string& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[at + static_cast<size_t>(i)])) << (8 * i);
  }
  return v;
}

}  // namespace

uint64_t RawRequestHash(const v1::ReadRawRequest& request) {
  const v1::HistoryRange& range = request.range();
  Fnv1a h;
  h.Add(static_cast<uint64_t>(range.point_ids_size()));
  for (int64_t id : range.point_ids()) h.Add(static_cast<uint64_t>(id));
  h.Add(static_cast<uint64_t>(range.interval()));
  h.Add(static_cast<uint64_t>(range.start_us()));
  h.Add(static_cast<uint64_t>(range.end_us()));
  h.Add(range.include_pending() ? 1 : 0);
  h.Add(request.bounds() ? 1 : 0);
  return h.value();
}

std::string EncodeContinuation(const RawPosition& position, uint64_t request_hash) {
  std::string out(kMagic, sizeof(kMagic));
  Put(&out, kVersion, 1);
  Put(&out, position.point_index, 4);
  Put(&out, position.has_last ? 1 : 0, 1);
  Put(&out, static_cast<uint64_t>(position.last_ts_us), 8);
  Put(&out, request_hash, 8);
  Put(&out, 0, 3);
  return out;
}

Result<RawPosition> DecodeContinuation(const std::string& token, uint64_t request_hash,
                                       size_t point_count) {
  if (token.size() != kSize || std::memcmp(token.data(), kMagic, sizeof(kMagic)) != 0 ||
      Get(token, 4, 1) != kVersion || Get(token, 9, 1) > 1 || Get(token, 26, 3) != 0) {
    return Status::InvalidArgument(fmt::format(
        "continuation ({} bytes) is not a continuation token of ReadRaw", token.size()));
  }
  if (Get(token, 18, 8) != request_hash) {
    return Status::InvalidArgument(
        "continuation belongs to another request: pass the same range and bounds as the "
        "request that returned it");
  }
  RawPosition position;
  position.point_index = static_cast<uint32_t>(Get(token, 5, 4));
  position.has_last = Get(token, 9, 1) == 1;
  position.last_ts_us = static_cast<int64_t>(Get(token, 10, 8));
  if (position.point_index >= point_count) {
    return Status::InvalidArgument(
        fmt::format("continuation names point index {} of a request with {} points",
                    position.point_index, point_count));
  }
  return position;
}

}  // namespace sluice::history
