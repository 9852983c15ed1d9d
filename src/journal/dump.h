#pragma once
// Read-only dumping of the journals of a data directory, for `sluice journal dump`.
// Nothing here ever writes, truncates or deletes: it may run beside a daemon that has the
// directory open. It reads the files directly, not through a Journal: beside a live
// daemon it may print records that are written but not yet fdatasync'd.
//
// Thread safety: reentrant.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/file_system.h"
#include "common/status.h"
#include "journal/format.h"

namespace sluice::journal {

using DumpCallback = std::function<void(const std::string& stream, Lsn lsn, uint16_t type,
                                        std::string_view payload)>;

// Calls `on_record` for the records of `stream` (every stream, in name order, when
// nullopt) with LSN >= `from`, in LSN order, at most `limit` per stream (0: no limit).
// Stops quietly at an invalid tail of a stream's last segment (a torn or live tail; run
// VerifyJournals to judge it). Fails with kCorruption naming file and offset on damage
// elsewhere or on a gap in the LSNs, and with kNotFound when the directory or stream
// does not exist. Records already passed to `on_record` stay delivered.
Status DumpJournal(FileSystem* fs, const std::string& data_dir,
                   const std::optional<std::string>& stream, Lsn from, uint64_t limit,
                   uint32_t max_record_bytes, const DumpCallback& on_record);

}  // namespace sluice::journal
