#pragma once
// Reads an export bundle back (format: export/bundle.h, docs/bundle-format.md).

#include <string_view>

#include "common/status.h"
#include "export/bundle.h"

namespace sluice::oneway {

// Decodes and checks a whole bundle. The receiver has no way to ask the sender anything,
// so everything is checked here and nothing is trusted before it is: the magic, the
// checksum, the version (a later one is refused, naming it), every length against the
// bytes left (a hostile length allocates nothing), the header's fields, that each
// stream's LSNs rise and lie in its header range with the range's ends present, the
// record count, and that no bytes trail the last record. Every error is kCorruption and
// starts with "bundle NAME:", then says what is wrong and at which byte offset.
// `name_for_messages` is only used in messages (usually the bundle's file name).
Result<Bundle> DecodeBundle(std::string_view bytes, std::string_view name_for_messages);

}  // namespace sluice::oneway
