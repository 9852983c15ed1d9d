#include "journal/format.h"

#include <algorithm>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/hex.h"
#include "common/little_endian.h"

namespace sluice::journal {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'C', 'J', 'S', 'E', 'G', '1'};
constexpr size_t kHeaderCrcOffset = 124;

}  // namespace

void EncodeSegmentHeader(const SegmentHeader& header, std::string* out) {
  char buf[kSegmentHeaderSize] = {};
  std::memcpy(buf, kMagic, sizeof(kMagic));
  PutLe<uint32_t>(buf + 8, header.version);
  PutLe<uint32_t>(buf + 12, kSegmentHeaderSize);
  std::memcpy(buf + 16, header.epoch.data(), header.epoch.size());
  PutLe<uint64_t>(buf + 32, header.number);
  PutLe<uint64_t>(buf + 40, header.first_lsn);
  PutLe<uint64_t>(buf + 48, header.prev_last_lsn);
  size_t name_len = std::min(header.stream.size(), kMaxStreamNameLength);
  PutLe<uint16_t>(buf + 56, static_cast<uint16_t>(name_len));
  std::memcpy(buf + 60, header.stream.data(), name_len);
  PutLe<uint32_t>(buf + kHeaderCrcOffset, crc32c::Mask(crc32c::Value(buf, kHeaderCrcOffset)));
  out->append(buf, sizeof(buf));
}

Result<SegmentHeader> DecodeSegmentHeader(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize) {
    return Status::Corruption(
        fmt::format("segment header is {} bytes, expected {}", bytes.size(), kSegmentHeaderSize));
  }
  const char* p = bytes.data();
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("segment header has no SLCJSEG1 magic (not a journal segment)");
  }
  uint32_t stored_crc = crc32c::Unmask(GetLe<uint32_t>(p + kHeaderCrcOffset));
  if (stored_crc != crc32c::Value(p, kHeaderCrcOffset)) {
    return Status::Corruption("segment header checksum mismatch");
  }
  uint32_t version = GetLe<uint32_t>(p + 8);
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    return Status::Corruption(
        fmt::format("segment format version {} is not supported (this build reads {} to {})",
                    version, kOldestFormatVersion, kFormatVersion));
  }
  if (GetLe<uint32_t>(p + 12) != kSegmentHeaderSize) {
    return Status::Corruption("segment header size field is wrong");
  }
  SegmentHeader h;
  h.version = version;
  std::memcpy(h.epoch.data(), p + 16, h.epoch.size());
  h.number = GetLe<uint64_t>(p + 32);
  h.first_lsn = GetLe<uint64_t>(p + 40);
  h.prev_last_lsn = GetLe<uint64_t>(p + 48);
  uint16_t name_len = GetLe<uint16_t>(p + 56);
  if (name_len > kMaxStreamNameLength) {
    return Status::Corruption(fmt::format("segment header stream name length {} exceeds {}",
                                          name_len, kMaxStreamNameLength));
  }
  h.stream.assign(p + 60, name_len);
  if (h.first_lsn == 0 || h.prev_last_lsn != h.first_lsn - 1) {
    return Status::Corruption(fmt::format(
        "segment header first LSN {} does not follow predecessor's last LSN {}", h.first_lsn,
        h.prev_last_lsn));
  }
  return h;
}

void EncodeFrame(Lsn lsn, uint16_t type, std::string_view payload, std::string* out,
                 uint16_t flags) {
  size_t start = out->size();
  out->resize(start + kFrameHeaderSize + payload.size());
  char* p = out->data() + start;
  PutLe<uint32_t>(p + 4, static_cast<uint32_t>(payload.size()));
  PutLe<uint16_t>(p + 8, type);
  PutLe<uint16_t>(p + 10, flags);
  PutLe<uint64_t>(p + 12, lsn);
  if (!payload.empty()) std::memcpy(p + kFrameHeaderSize, payload.data(), payload.size());
  uint32_t crc = crc32c::Value(p + 4, kFrameHeaderSize - 4 + payload.size());
  PutLe<uint32_t>(p, crc32c::Mask(crc));
}

void SetFrameFlags(char* frame, uint16_t flags) {
  uint32_t length = GetLe<uint32_t>(frame + 4);
  PutLe<uint16_t>(frame + 10, flags);
  PutLe<uint32_t>(frame, crc32c::Mask(crc32c::Value(frame + 4, kFrameHeaderSize - 4 + length)));
}

std::string_view FrameCheckName(FrameCheck check) {
  switch (check) {
    case FrameCheck::kOk: return "ok";
    case FrameCheck::kIncomplete: return "incomplete record";
    case FrameCheck::kBadType: return "invalid record type";
    case FrameCheck::kTooLarge: return "record length above the maximum";
    case FrameCheck::kBadChecksum: return "record checksum mismatch";
  }
  return "unknown";
}

FrameCheck DecodeFrame(std::string_view bytes, uint32_t max_payload, FrameView* out) {
  if (bytes.size() < kFrameHeaderSize) return FrameCheck::kIncomplete;
  const char* p = bytes.data();
  uint32_t length = GetLe<uint32_t>(p + 4);
  uint16_t type = GetLe<uint16_t>(p + 8);
  uint16_t flags = GetLe<uint16_t>(p + 10);
  // The length is checked before it is trusted: it may itself be damaged.
  if (type == 0 || (flags & ~kKnownFrameFlags) != 0) return FrameCheck::kBadType;
  if (length > max_payload) return FrameCheck::kTooLarge;
  if (bytes.size() - kFrameHeaderSize < length) return FrameCheck::kIncomplete;
  uint32_t stored = crc32c::Unmask(GetLe<uint32_t>(p));
  if (stored != crc32c::Value(p + 4, kFrameHeaderSize - 4 + length)) return FrameCheck::kBadChecksum;
  out->lsn = GetLe<uint64_t>(p + 12);
  out->type = type;
  out->flags = flags;
  out->payload = std::string_view(p + kFrameHeaderSize, length);
  out->frame_size = kFrameHeaderSize + length;
  return FrameCheck::kOk;
}

std::string SegmentFileName(Lsn first_lsn) { return fmt::format("{:020d}.seg", first_lsn); }

std::optional<Lsn> ParseSegmentFileName(std::string_view name) {
  if (name.size() != 24 || name.substr(20) != ".seg") return std::nullopt;
  Lsn v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    Lsn next = v * 10 + static_cast<Lsn>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  if (v == 0) return std::nullopt;
  return v;
}

std::string EpochToHex(const Epoch& epoch) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(epoch.data()), epoch.size()));
}

std::optional<Epoch> EpochFromHex(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes || bytes->size() != 16) return std::nullopt;
  Epoch e{};
  std::copy(bytes->begin(), bytes->end(), e.begin());
  return e;
}

Epoch NewRandomEpoch() {
  std::random_device rd;
  Epoch e{};
  for (size_t i = 0; i < e.size(); i += 4) {
    uint32_t v = rd();
    std::memcpy(e.data() + i, &v, 4);
  }
  return e;
}

}  // namespace sluice::journal
