#include "journal/format.h"

#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crc32c.h"

namespace sluice::journal {
namespace {

using ::testing::HasSubstr;

// ---- leveldb-style damage helpers (db/log_test.cc).

void IncrementByte(std::string* bytes, size_t offset, int delta = 1) {
  (*bytes)[offset] = static_cast<char>((*bytes)[offset] + delta);
}

void ShrinkSize(std::string* bytes, size_t n) { bytes->resize(bytes->size() - n); }

void PutU16(std::string* bytes, size_t offset, uint16_t v) {
  for (size_t i = 0; i < 2; ++i) (*bytes)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU32(std::string* bytes, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) (*bytes)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(std::string* bytes, size_t offset, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) (*bytes)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Recomputes the header CRC so that only the field a test damaged is wrong.
void FixHeaderChecksum(std::string* header) {
  PutU32(header, 124, crc32c::Mask(crc32c::Value(header->data(), 124)));
}

// Recomputes the CRC of the frame at `offset` whose payload is `payload_len` bytes.
void FixFrameChecksum(std::string* bytes, size_t offset, size_t payload_len) {
  PutU32(bytes, offset, crc32c::Mask(crc32c::Value(bytes->data() + offset + 4, 16 + payload_len)));
}

SegmentHeader SampleHeader() {
  SegmentHeader h;
  for (size_t i = 0; i < h.epoch.size(); ++i) h.epoch[i] = static_cast<uint8_t>(0xa0 + i);
  h.number = 7;
  h.first_lsn = 1001;
  h.prev_last_lsn = 1000;
  h.stream = "samples";
  return h;
}

std::string Encoded(const SegmentHeader& h) {
  std::string out;
  EncodeSegmentHeader(h, &out);
  return out;
}

// ---- Segment header.

TEST(SegmentHeaderTest, RoundTrip) {
  SegmentHeader first;
  first.epoch = NewRandomEpoch();
  first.number = 1;
  first.first_lsn = 1;
  first.prev_last_lsn = 0;
  first.stream = "a";

  SegmentHeader big = SampleHeader();
  big.number = std::numeric_limits<uint64_t>::max();
  big.first_lsn = std::numeric_limits<uint64_t>::max();
  big.prev_last_lsn = big.first_lsn - 1;
  big.stream = std::string(kMaxStreamNameLength, 'z');

  for (const SegmentHeader& h : {first, SampleHeader(), big}) {
    std::string bytes = Encoded(h);
    ASSERT_EQ(bytes.size(), kSegmentHeaderSize);
    EXPECT_EQ(bytes.substr(0, 8), "SLCJSEG1");
    auto decoded = DecodeSegmentHeader(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->epoch, h.epoch);
    EXPECT_EQ(decoded->number, h.number);
    EXPECT_EQ(decoded->first_lsn, h.first_lsn);
    EXPECT_EQ(decoded->prev_last_lsn, h.prev_last_lsn);
    EXPECT_EQ(decoded->stream, h.stream);
  }
}

TEST(SegmentHeaderTest, EncodeAppendsAndDecodeIgnoresWhatFollows) {
  std::string out = "prefix";
  EncodeSegmentHeader(SampleHeader(), &out);
  ASSERT_EQ(out.size(), 6 + kSegmentHeaderSize);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  std::string with_records = out.substr(6) + "records follow";
  auto decoded = DecodeSegmentHeader(with_records);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->number, 7u);
}

TEST(SegmentHeaderTest, LayoutMatchesTheDocumentedOffsets) {
  std::string bytes = Encoded(SampleHeader());
  auto u64 = [&](size_t off) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(bytes[off + i])} << (8 * i);
    return v;
  };
  EXPECT_EQ(static_cast<uint8_t>(bytes[8]), kFormatVersion);
  EXPECT_EQ(static_cast<uint8_t>(bytes[12]), kSegmentHeaderSize);
  EXPECT_EQ(static_cast<uint8_t>(bytes[16]), 0xa0);
  EXPECT_EQ(u64(32), 7u);
  EXPECT_EQ(u64(40), 1001u);
  EXPECT_EQ(u64(48), 1000u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[56]), 7u);  // "samples"
  EXPECT_EQ(bytes.substr(60, 7), "samples");
  EXPECT_EQ(bytes[67], '\0');  // zero padded
}

TEST(SegmentHeaderTest, EveryDamagedByteIsDetected) {
  const std::string good = Encoded(SampleHeader());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bytes = good;
    IncrementByte(&bytes, i);
    auto decoded = DecodeSegmentHeader(bytes);
    ASSERT_FALSE(decoded.ok()) << "byte " << i;
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << "byte " << i;
  }
}

TEST(SegmentHeaderTest, BadMagicIsNamed) {
  std::string bytes = Encoded(SampleHeader());
  IncrementByte(&bytes, 3);
  FixHeaderChecksum(&bytes);
  auto decoded = DecodeSegmentHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption);
  EXPECT_THAT(decoded.status().message(), HasSubstr("magic"));
}

TEST(SegmentHeaderTest, BadChecksumIsNamed) {
  std::string bytes = Encoded(SampleHeader());
  IncrementByte(&bytes, 124);  // the CRC itself
  auto decoded = DecodeSegmentHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("checksum"));

  bytes = Encoded(SampleHeader());
  IncrementByte(&bytes, 35);  // the segment number, CRC left stale
  decoded = DecodeSegmentHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("checksum"));
}

TEST(SegmentHeaderTest, UnsupportedVersionIsNamed) {
  for (uint32_t version : {0u, 3u}) {
    std::string bytes = Encoded(SampleHeader());
    PutU32(&bytes, 8, version);
    FixHeaderChecksum(&bytes);
    auto decoded = DecodeSegmentHeader(bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kCorruption);
    EXPECT_THAT(decoded.status().message(), HasSubstr(fmt::format("version {}", version)));
  }
}

// Journals written before batch marks existed (version 1) still open.
TEST(SegmentHeaderTest, VersionOneIsStillRead) {
  SegmentHeader h = SampleHeader();
  h.version = 1;
  auto decoded = DecodeSegmentHeader(Encoded(h));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->version, 1u);
  EXPECT_EQ(DecodeSegmentHeader(Encoded(SampleHeader()))->version, kFormatVersion);
}

TEST(SegmentHeaderTest, WrongHeaderSizeFieldIsNamed) {
  std::string bytes = Encoded(SampleHeader());
  PutU32(&bytes, 12, 256);
  FixHeaderChecksum(&bytes);
  auto decoded = DecodeSegmentHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("size"));
}

TEST(SegmentHeaderTest, PredecessorMustEndJustBeforeFirstLsn) {
  {
    SegmentHeader h = SampleHeader();
    h.prev_last_lsn = 998;  // a gap of one LSN
    auto decoded = DecodeSegmentHeader(Encoded(h));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kCorruption);
    EXPECT_THAT(decoded.status().message(), HasSubstr("1001"));
    EXPECT_THAT(decoded.status().message(), HasSubstr("998"));
  }
  {
    SegmentHeader h = SampleHeader();
    h.prev_last_lsn = 1001;  // overlaps
    EXPECT_FALSE(DecodeSegmentHeader(Encoded(h)).ok());
  }
  {
    SegmentHeader h = SampleHeader();
    h.first_lsn = 0;  // LSNs start at 1
    h.prev_last_lsn = std::numeric_limits<uint64_t>::max();
    EXPECT_FALSE(DecodeSegmentHeader(Encoded(h)).ok());
  }
  {
    // The same damage written into the bytes, with a valid CRC.
    std::string bytes = Encoded(SampleHeader());
    PutU64(&bytes, 48, 5);
    FixHeaderChecksum(&bytes);
    auto decoded = DecodeSegmentHeader(bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(decoded.status().message(), HasSubstr("predecessor"));
  }
}

TEST(SegmentHeaderTest, StreamNameLengthAboveMaximumIsNamed) {
  std::string bytes = Encoded(SampleHeader());
  PutU16(&bytes, 56, kMaxStreamNameLength + 1);
  FixHeaderChecksum(&bytes);
  auto decoded = DecodeSegmentHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption);
  EXPECT_THAT(decoded.status().message(), HasSubstr("stream name length 65"));

  // The largest valid length reads 64 bytes of the name field.
  bytes = Encoded(SampleHeader());
  PutU16(&bytes, 56, kMaxStreamNameLength);
  FixHeaderChecksum(&bytes);
  auto max = DecodeSegmentHeader(bytes);
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(max->stream.size(), kMaxStreamNameLength);
  EXPECT_EQ(max->stream.substr(0, 7), "samples");
}

TEST(SegmentHeaderTest, ShortHeaderIsRejectedWithItsSize) {
  std::string bytes = Encoded(SampleHeader());
  ShrinkSize(&bytes, 1);
  auto decoded = DecodeSegmentHeader(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption);
  EXPECT_THAT(decoded.status().message(), HasSubstr("127 bytes"));
  EXPECT_FALSE(DecodeSegmentHeader("").ok());
}

TEST(SegmentHeaderTest, ZeroedHeaderIsRejected) {
  // What a torn header looks like after a crash on many filesystems.
  auto decoded = DecodeSegmentHeader(std::string(kSegmentHeaderSize, '\0'));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption);
}

// ---- Frames.

std::string OneFrame(Lsn lsn, uint16_t type, std::string_view payload) {
  std::string out;
  EncodeFrame(lsn, type, payload, &out);
  return out;
}

TEST(FrameTest, RoundTrip) {
  std::string binary("\0\x01\xff\0zero\0", 9);
  struct Case {
    Lsn lsn;
    uint16_t type;
    std::string payload;
  };
  std::vector<Case> cases = {
      {1, 1, "hello"},
      {2, 7, ""},
      {3, static_cast<uint16_t>(kIgnorableTypeBit | 3), "skippable"},
      {std::numeric_limits<Lsn>::max(), 0xffff, binary},
      {42, 2, std::string(100000, 'x')},
  };
  for (const auto& c : cases) {
    std::string bytes = OneFrame(c.lsn, c.type, c.payload);
    ASSERT_EQ(bytes.size(), kFrameHeaderSize + c.payload.size());
    FrameView f;
    ASSERT_EQ(DecodeFrame(bytes, 1 << 20, &f), FrameCheck::kOk) << "lsn " << c.lsn;
    EXPECT_EQ(f.lsn, c.lsn);
    EXPECT_EQ(f.type, c.type);
    EXPECT_EQ(f.payload, c.payload);
    EXPECT_EQ(f.frame_size, bytes.size());
  }
}

TEST(FrameTest, ConsecutiveFramesDecodeInOrder) {
  std::string bytes;
  for (Lsn lsn = 10; lsn < 20; ++lsn) {
    EncodeFrame(lsn, 1, std::string(lsn * 3, static_cast<char>('a' + lsn % 26)), &bytes);
  }
  std::string_view rest(bytes);
  for (Lsn lsn = 10; lsn < 20; ++lsn) {
    FrameView f;
    ASSERT_EQ(DecodeFrame(rest, 1 << 20, &f), FrameCheck::kOk);
    EXPECT_EQ(f.lsn, lsn);
    EXPECT_EQ(f.payload, std::string(lsn * 3, static_cast<char>('a' + lsn % 26)));
    rest.remove_prefix(f.frame_size);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(FrameTest, ChecksumCoversLengthTypeLsnAndPayload) {
  // Two frames that differ only in the LSN must have different CRCs: a stale record of a
  // reused file must not pass at another position.
  std::string a = OneFrame(5, 1, "same payload");
  std::string b = OneFrame(6, 1, "same payload");
  EXPECT_NE(a.substr(0, 4), b.substr(0, 4));
  std::string c = OneFrame(5, 2, "same payload");
  EXPECT_NE(a.substr(0, 4), c.substr(0, 4));
}

// Flipping any single bit of a frame is detected, and the reason is the right one.
TEST(FrameTest, EveryBitFlipIsDetected) {
  const std::string payload = "a payload of some thirty-seven bytes!";
  const uint32_t max_payload = 1000;
  const std::string good = OneFrame(123456789, 1, payload);
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bytes = good;
      bytes[byte] = static_cast<char>(bytes[byte] ^ (1 << bit));
      FrameView f;
      FrameCheck check = DecodeFrame(bytes, max_payload, &f);
      SCOPED_TRACE(fmt::format("byte {} bit {}", byte, bit));
      ASSERT_NE(check, FrameCheck::kOk);
      if (byte >= 4 && byte < 8) {
        uint32_t length = static_cast<uint32_t>(payload.size()) ^ (1u << (8 * (byte - 4) + bit));
        if (length > max_payload) {
          EXPECT_EQ(check, FrameCheck::kTooLarge);
        } else if (length > payload.size()) {
          EXPECT_EQ(check, FrameCheck::kIncomplete);
        } else {
          EXPECT_EQ(check, FrameCheck::kBadChecksum);
        }
      } else if (byte == 8 && bit == 0) {
        EXPECT_EQ(check, FrameCheck::kBadType);  // type 1 became 0
      } else if (byte == 10 && bit < 2) {
        EXPECT_EQ(check, FrameCheck::kBadChecksum);  // a known flag, under the checksum
      } else if (byte == 10 || byte == 11) {
        EXPECT_EQ(check, FrameCheck::kBadType);  // unknown flags set
      } else {
        EXPECT_EQ(check, FrameCheck::kBadChecksum);
      }
    }
  }
}

TEST(FrameTest, LengthAboveMaximumIsTooLarge) {
  std::string payload(1001, 'p');
  FrameView f;
  EXPECT_EQ(DecodeFrame(OneFrame(1, 1, payload), 1001, &f), FrameCheck::kOk);
  EXPECT_EQ(DecodeFrame(OneFrame(1, 1, payload), 1000, &f), FrameCheck::kTooLarge);

  // A damaged length with a matching CRC: the length is refused before it is trusted,
  // even when the bytes it claims are not there.
  std::string bytes = OneFrame(1, 1, "short");
  PutU32(&bytes, 4, 0xfffffff0u);
  FixFrameChecksum(&bytes, 0, 5);
  EXPECT_EQ(DecodeFrame(bytes, 1 << 20, &f), FrameCheck::kTooLarge);
}

TEST(FrameTest, TypeZeroIsNeverARecord) {
  FrameView f;
  EXPECT_EQ(DecodeFrame(OneFrame(1, 0, "x"), 100, &f), FrameCheck::kBadType);
  // Zero fill (a preallocated or torn tail) is not a record either.
  EXPECT_EQ(DecodeFrame(std::string(64, '\0'), 100, &f), FrameCheck::kBadType);

  std::string bytes = OneFrame(1, 1, "x");
  PutU16(&bytes, 10, 4);  // an unknown flag
  FixFrameChecksum(&bytes, 0, 1);
  EXPECT_EQ(DecodeFrame(bytes, 100, &f), FrameCheck::kBadType);
}

TEST(FrameTest, FlagsRoundTripAndCanBeRewritten) {
  std::string bytes;
  EncodeFrame(7, 1, "payload", &bytes, kFrameBatchContinues | kFrameGroupContinues);
  FrameView f;
  ASSERT_EQ(DecodeFrame(bytes, 100, &f), FrameCheck::kOk);
  EXPECT_EQ(f.flags, kFrameBatchContinues | kFrameGroupContinues);
  // The writer clears "group continues" on the last frame of a group: still valid.
  SetFrameFlags(bytes.data(), kFrameBatchContinues);
  ASSERT_EQ(DecodeFrame(bytes, 100, &f), FrameCheck::kOk);
  EXPECT_EQ(f.flags, kFrameBatchContinues);
  EXPECT_EQ(f.payload, "payload");
  EXPECT_EQ(f.lsn, 7u);
  // Without flags a frame is exactly what version 1 wrote.
  std::string plain, v1;
  EncodeFrame(7, 1, "payload", &plain);
  EncodeFrame(7, 1, "payload", &v1, 0);
  EXPECT_EQ(plain, v1);
  ASSERT_EQ(DecodeFrame(plain, 100, &f), FrameCheck::kOk);
  EXPECT_EQ(f.flags, 0);
}

TEST(FrameTest, TruncatedFrameIsIncomplete) {
  const std::string good = OneFrame(9, 3, "twelve bytes");
  for (size_t len = 0; len < good.size(); ++len) {
    std::string bytes = good;
    ShrinkSize(&bytes, good.size() - len);
    FrameView f;
    EXPECT_EQ(DecodeFrame(bytes, 1000, &f), FrameCheck::kIncomplete) << "length " << len;
  }
}

TEST(FrameTest, CheckNamesAreDistinct) {
  std::set<std::string_view> names;
  for (FrameCheck c : {FrameCheck::kOk, FrameCheck::kIncomplete, FrameCheck::kBadType,
                       FrameCheck::kTooLarge, FrameCheck::kBadChecksum}) {
    EXPECT_FALSE(FrameCheckName(c).empty());
    names.insert(FrameCheckName(c));
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_THAT(std::string(FrameCheckName(FrameCheck::kBadChecksum)), HasSubstr("checksum"));
}

// ---- Segment file names.

TEST(SegmentFileNameTest, FormatsTwentyDigits) {
  EXPECT_EQ(SegmentFileName(42), "00000000000000000042.seg");
  EXPECT_EQ(SegmentFileName(1), "00000000000000000001.seg");
  EXPECT_EQ(SegmentFileName(std::numeric_limits<Lsn>::max()), "18446744073709551615.seg");
}

TEST(SegmentFileNameTest, ParsesWhatItFormats) {
  std::mt19937_64 rng(7);
  std::vector<Lsn> lsns = {1, 9, 10, 42, 1000000, std::numeric_limits<Lsn>::max()};
  for (int i = 0; i < 100; ++i) lsns.push_back(rng() | 1);
  for (Lsn lsn : lsns) {
    auto parsed = ParseSegmentFileName(SegmentFileName(lsn));
    ASSERT_TRUE(parsed.has_value()) << lsn;
    EXPECT_EQ(*parsed, lsn);
  }
}

TEST(SegmentFileNameTest, NamesSortInLsnOrder) {
  std::vector<Lsn> lsns = {1, 2, 9, 10, 99, 100, 12345, 1u << 31, 1ull << 40};
  for (size_t i = 1; i < lsns.size(); ++i) {
    EXPECT_LT(SegmentFileName(lsns[i - 1]), SegmentFileName(lsns[i]));
  }
}

TEST(SegmentFileNameTest, RejectsOtherNames) {
  for (std::string_view name : {
           "",
           "42.seg",
           "0000000000000000042.seg",    // 19 digits
           "000000000000000000042.seg",  // 21 digits
           "00000000000000000042.log",
           "00000000000000000042.seg.tmp",
           "00000000000000000042seg",
           "0000000000000000004x.seg",
           "+0000000000000000042.seg",
           "-0000000000000000042.seg",
           " 0000000000000000042.seg",
           "00000000000000000000.seg",  // LSN 0 does not exist
           "18446744073709551616.seg",  // 2^64
           "99999999999999999999.seg",
           "EPOCH",
           "LOCK",
       }) {
    EXPECT_FALSE(ParseSegmentFileName(name).has_value()) << "'" << name << "'";
  }
}

// ---- Epochs.

TEST(EpochTest, HexRoundTrip) {
  Epoch zero{};
  Epoch ones;
  ones.fill(0xff);
  Epoch counting;
  for (size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<uint8_t>(i * 17);
  for (const Epoch& e : {zero, ones, counting, NewRandomEpoch()}) {
    std::string hex = EpochToHex(e);
    ASSERT_EQ(hex.size(), 32u);
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
    auto back = EpochFromHex(hex);
    ASSERT_TRUE(back.has_value()) << hex;
    EXPECT_EQ(*back, e);
  }
  EXPECT_EQ(EpochToHex(counting), "00112233445566778899aabbccddeeff");
}

TEST(EpochTest, RejectsMalformedHex) {
  const std::string good = "00112233445566778899aabbccddeeff";
  ASSERT_TRUE(EpochFromHex(good).has_value());
  for (const std::string& bad : {
           std::string(),
           good.substr(0, 31),
           good + "0",
           std::string("00112233445566778899AABBCCDDEEFF"),  // upper case is not written
           std::string("00112233445566778899aabbccddeefg"),
           std::string("0011223344556677 899aabbccddeeff"),
           std::string("0x112233445566778899aabbccddeeff"),
           good.substr(0, 30) + "\n",
       }) {
    EXPECT_FALSE(EpochFromHex(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(EpochTest, NewEpochsDiffer) {
  std::set<Epoch> seen;
  for (int i = 0; i < 100; ++i) seen.insert(NewRandomEpoch());
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.count(Epoch{}), 0u);
}

}  // namespace
}  // namespace sluice::journal
