#pragma once
// The operator's choices about targets that must survive a restart of sluiced: which
// targets were taken out for maintenance (`sluice target disable NAME`), and which are
// being resynced from another target (`sluice target resync NAME --from OTHER`, see
// docs/resync.md). Kept in DATA_DIR/state/targets.json, replaced atomically:
//
//   {"format": 2, "targets": {"sqlite-b": {"enabled": false, "changed_at_us": ...},
//                             "pg-c": {"resync_from": "pg-a", "resync_since_us": ...}}}
//
// A choice recorded here overrides the target's `enabled` in the config file (the
// operator acted later than the file was written); the daemon logs when it does. A
// target with `resync_from` holds an incomplete copy: its appliers must not start until
// the resync has finished. Format 1 (no resync) is read too; a file of a later format is
// refused, since skipping what it says could start the appliers of a half-copied target.
//
// Thread safety: safe from any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/file_system.h"
#include "common/status.h"

namespace sluice::cluster {

class TargetStateStore {
 public:
  // Reads `path` if it exists; kCorruption naming the file when it cannot be parsed.
  static Result<std::unique_ptr<TargetStateStore>> Open(FileSystem* fs, std::string path);

  // The operator's last choice for `target`, if any.
  std::optional<bool> enabled(const std::string& target) const;
  // Records and persists the choice (before returning OK).
  Status SetEnabled(const std::string& target, bool enabled);

  // The target a resync of `target` copies from, if one was begun and has not finished.
  std::optional<std::string> resync_from(const std::string& target) const;
  // Every target with a resync begun and not finished, and its source.
  std::map<std::string, std::string> Resyncs() const;
  // Records and persists that `target` is being resynced from `from` ("" : the resync
  // finished, the mark goes).
  Status SetResync(const std::string& target, const std::string& from);

 private:
  struct Entry {
    std::optional<bool> enabled;  // unset: the config decides
    int64_t changed_at_us = 0;
    std::string resync_from;  // "" : no resync under way
    int64_t resync_since_us = 0;
  };
  TargetStateStore(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  Status SaveLocked() const;

  FileSystem* fs_;
  const std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> targets_;  // guarded by mu_
};

}  // namespace sluice::cluster
