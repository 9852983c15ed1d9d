#pragma once
// The row hash of `sluice verify` (docs/verify.md): the first 8 bytes of the MD5 of a
// row's canonical text, read as a big-endian signed 64-bit integer. PostgreSQL computes
// it as ('x' || substr(md5(text), 1, 16))::bit(64)::bigint; SQLite has no MD5, so its
// read connections get the application functions named here (store/sqlite registers
// them, verify/checksum_sql.h writes the SQL that calls them). MD5 is no protection
// against someone forging rows; it only has to tell different rows apart.
//
// Thread safety: pure functions.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::store {

// sluice_row_hash(text) -> integer: RowHash of the text's UTF-8 bytes (NULL for NULL).
inline constexpr char kSqliteRowHashFunction[] = "sluice_row_hash";
// sluice_sum64(integer) -> text: aggregate, the decimal text of the sum of its arguments
// modulo 2^64 as an unsigned number ("0" for no rows); PostgreSQL's numeric sum reduced
// the same way gives the same text.
inline constexpr char kSqliteSum64Function[] = "sluice_sum64";
// sluice_f64_bits(real) -> text: the 16 lower-case hex digits of the IEEE 754 bits of
// the value, big-endian (PostgreSQL: encode(float8send(x), 'hex')); NULL for NULL.
inline constexpr char kSqliteFloatBitsFunction[] = "sluice_f64_bits";

// RFC 1321 MD5 of `bytes`.
std::array<uint8_t, 16> Md5(std::string_view bytes);
// The first 8 bytes of Md5(canonical) as a big-endian two's complement integer.
int64_t RowHash(std::string_view canonical);
// The 16 lower-case hex digits of the bits of `value`, most significant first.
std::string FloatBitsHex(double value);

}  // namespace sluice::store
