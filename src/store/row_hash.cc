#include "store/row_hash.h"

#include <bit>
#include <cstring>

namespace sluice::store {
namespace {

constexpr uint32_t kShift[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

// floor(abs(sin(i + 1)) * 2^32), RFC 1321 section 3.4.
constexpr uint32_t kSine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391};

struct Md5State {
  uint32_t a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;

  void Block(const uint8_t* p) {
    uint32_t m[16];
    for (int i = 0; i < 16; ++i) {
      m[i] = static_cast<uint32_t>(p[i * 4]) | static_cast<uint32_t>(p[i * 4 + 1]) << 8 |
             static_cast<uint32_t>(p[i * 4 + 2]) << 16 | static_cast<uint32_t>(p[i * 4 + 3]) << 24;
    }
    uint32_t A = a, B = b, C = c, D = d;
    for (uint32_t i = 0; i < 64; ++i) {
      uint32_t f = 0, g = 0;
      if (i < 16) {
        f = (B & C) | (~B & D);
        g = i;
      } else if (i < 32) {
        f = (D & B) | (~D & C);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = B ^ C ^ D;
        g = (3 * i + 5) % 16;
      } else {
        f = C ^ (B | ~D);
        g = (7 * i) % 16;
      }
      const uint32_t next = B + std::rotl(A + f + kSine[i] + m[g], static_cast<int>(kShift[i]));
      A = D;
      D = C;
      C = B;
      B = next;
    }
    a += A;
    b += B;
    c += C;
    d += D;
  }
};

}  // namespace

std::array<uint8_t, 16> Md5(std::string_view bytes) {
  Md5State st;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t whole = bytes.size() / 64 * 64;
  for (size_t off = 0; off < whole; off += 64) st.Block(data + off);
  // The tail, a 0x80 byte, zeros, and the length in bits (little-endian) in one or two
  // blocks.
  uint8_t tail[128] = {};
  const size_t rest = bytes.size() - whole;
  if (rest > 0) std::memcpy(tail, data + whole, rest);
  tail[rest] = 0x80;
  const size_t tail_size = rest < 56 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(bytes.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_size - 8 + i] = static_cast<uint8_t>(bits >> (8 * i));
  st.Block(tail);
  if (tail_size == 128) st.Block(tail + 64);
  std::array<uint8_t, 16> out{};
  const uint32_t words[4] = {st.a, st.b, st.c, st.d};
  for (int w = 0; w < 4; ++w) {
    for (int i = 0; i < 4; ++i) out[w * 4 + i] = static_cast<uint8_t>(words[w] >> (8 * i));
  }
  return out;
}

int64_t RowHash(std::string_view canonical) {
  const std::array<uint8_t, 16> digest = Md5(canonical);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | digest[i];
  return static_cast<int64_t>(v);
}

std::string FloatBitsHex(double value) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto bits = std::bit_cast<uint64_t>(value);
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[i] = kHex[(bits >> (60 - 4 * i)) & 0xf];
  return out;
}

}  // namespace sluice::store
