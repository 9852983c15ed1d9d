#pragma once
// What differs between the config a node runs and the one in its file now: what a reload
// (`sluice config reload`, SIGHUP; docs/reload.md) reports and acts on. Line numbers are
// left out, so moving a table in the file is no change.
//
// Thread safety: a pure function.

#include <string>
#include <vector>

#include "config/config.h"

namespace sluice::config {

struct ConfigDiff {
  std::vector<std::string> added_targets;    // in the new file's order
  std::vector<std::string> removed_targets;  // in the running config's order
  // "NAME (connection, priority)": what changed, never the values (a conninfo may hold a
  // password).
  std::vector<std::string> changed_targets;
  // "node.listen", "[journal]", "[[stream]]", "[alarms]", ...: the other settings that differ.
  std::vector<std::string> changed_settings;
  // What a reload cannot change, each with why (node.id, node.data_dir).
  std::vector<std::string> refused;

  bool empty() const {
    return added_targets.empty() && removed_targets.empty() && changed_targets.empty() &&
           changed_settings.empty() && refused.empty();
  }
};

ConfigDiff DiffConfigs(const Config& running, const Config& next);

}  // namespace sluice::config
