#pragma once
// The operator's choices about targets that must survive a restart of sluiced: which
// targets were taken out for maintenance (`sluice target disable NAME`). Kept in
// DATA_DIR/state/targets.json, replaced atomically:
//
//   {"format": 1, "targets": {"sqlite-b": {"enabled": false, "changed_at_us": ...}}}
//
// A choice recorded here overrides the target's `enabled` in the config file (the
// operator acted later than the file was written); the daemon logs when it does.
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

 private:
  struct Entry {
    bool enabled = true;
    int64_t changed_at_us = 0;
  };
  TargetStateStore(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  Status SaveLocked() const;

  FileSystem* fs_;
  const std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> targets_;  // guarded by mu_
};

}  // namespace sluice::cluster
