#pragma once
// Bytes as lowercase hexadecimal and back: the journal's epoch, resync marks, byte values
// that `sluice` prints.
//
// Thread safety: pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// Two lowercase digits per byte.
std::string HexEncode(std::string_view bytes);
// The bytes of an even number of lowercase hex digits; nullopt for anything else.
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace sluice
