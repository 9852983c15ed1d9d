#include "common/crc32c.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/crc32c_internal.h"

namespace sluice::crc32c {
namespace {

using internal::ExtendHardware;
using internal::ExtendPortable;

// Every implementation must agree with these; each test runs all that this CPU can.
struct Implementation {
  const char* name;
  uint32_t (*extend)(uint32_t, const char*, size_t);
};

std::vector<Implementation> Implementations() {
  std::vector<Implementation> all = {{"dispatch", Extend}, {"portable", ExtendPortable}};
  if (internal::HardwareAvailable()) all.push_back({"hardware", ExtendHardware});
  return all;
}

uint32_t Crc(const Implementation& impl, const std::string& s) {
  return impl.extend(0, s.data(), s.size());
}

TEST(Crc32cTest, StandardVectors) {
  // RFC 3720 (iSCSI), appendix B.4, and the usual check value.
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  const unsigned char iscsi_read[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  std::string iscsi(reinterpret_cast<const char*>(iscsi_read), sizeof(iscsi_read));

  for (const Implementation& impl : Implementations()) {
    SCOPED_TRACE(impl.name);
    EXPECT_EQ(Crc(impl, "123456789"), 0xE3069283u);
    EXPECT_EQ(Crc(impl, zeros), 0x8A9136AAu);
    EXPECT_EQ(Crc(impl, ones), 0x62A8AB43u);
    EXPECT_EQ(Crc(impl, ascending), 0x46DD794Eu);
    EXPECT_EQ(Crc(impl, descending), 0x113FDB5Cu);
    EXPECT_EQ(Crc(impl, iscsi), 0xD9963A56u);
    EXPECT_EQ(Crc(impl, ""), 0u);
  }
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(Value(zeros.data(), zeros.size()), 0x8A9136AAu);
}

TEST(Crc32cTest, ExtendContinuesAtEverySplit) {
  const std::string data = "hello, sluice: a store-and-forward history data service";
  const uint32_t whole = Value(data);
  for (const Implementation& impl : Implementations()) {
    SCOPED_TRACE(impl.name);
    for (size_t split = 0; split <= data.size(); ++split) {
      uint32_t first = impl.extend(0, data.data(), split);
      EXPECT_EQ(impl.extend(first, data.data() + split, data.size() - split), whole) << split;
    }
  }
}

TEST(Crc32cTest, DifferentDataDifferentCrc) {
  EXPECT_NE(Value("a"), Value("foo"));
  EXPECT_NE(Value("foo"), Value("fop"));
  // A single flipped bit anywhere must change the CRC.
  std::string data(100, 'x');
  const uint32_t base = Value(data);
  for (size_t i = 0; i < data.size(); ++i) {
    std::string flipped = data;
    flipped[i] ^= 0x10;
    EXPECT_NE(Value(flipped), base) << i;
  }
}

TEST(Crc32cTest, MaskRoundTripsAndChangesTheValue) {
  const uint32_t crc = Value("foo");
  EXPECT_NE(Mask(crc), crc);
  EXPECT_NE(Mask(Mask(crc)), crc);
  EXPECT_EQ(Unmask(Mask(crc)), crc);
  EXPECT_EQ(Unmask(Unmask(Mask(Mask(crc)))), crc);
  for (uint32_t v : {0u, 1u, 0xffffffffu, 0x80000000u, 0xE3069283u}) {
    EXPECT_EQ(Unmask(Mask(v)), v);
  }
}

TEST(Crc32cTest, HardwareMatchesPortableOnRandomBuffers) {
  if (!internal::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(20240601);
  std::vector<char> buffer(70000 + 16);
  for (char& c : buffer) c = static_cast<char>(rng());
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 300; ++n) sizes.push_back(n);
  for (size_t n : {511, 512, 513, 4095, 4096, 4097, 32768, 65535, 70000}) sizes.push_back(n);
  for (size_t size : sizes) {
    for (size_t align = 0; align < 16; ++align) {
      const char* p = buffer.data() + align;
      const uint32_t init = static_cast<uint32_t>(rng());
      const uint32_t portable = ExtendPortable(init, p, size);
      ASSERT_EQ(ExtendHardware(init, p, size), portable) << "size " << size << " align " << align;
      ASSERT_EQ(Extend(init, p, size), portable) << "size " << size << " align " << align;
    }
  }
}

TEST(Crc32cTest, UsesTheHardwareWhenTheCpuHasIt) {
  EXPECT_EQ(IsHardwareAccelerated(), internal::HardwareAvailable());
#if defined(__x86_64__)
  __builtin_cpu_init();
  EXPECT_EQ(IsHardwareAccelerated(), static_cast<bool>(__builtin_cpu_supports("sse4.2")));
#endif
}

}  // namespace
}  // namespace sluice::crc32c
