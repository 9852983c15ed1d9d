#pragma once
// A reload of sluiced's config file as the running node planned it (docs/reload.md): the
// new config, what differs, and which running target each added target is copied from.
//
// Thread safety: a value.

#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_diff.h"
#include "sluice/v1/service.pb.h"

namespace sluice::daemon {

struct ReloadResync {
  std::string target;  // added by the file
  std::string from;    // a running target it is copied from
};

struct ReloadPlan {
  config::Config next;
  config::ConfigDiff diff;
  std::vector<ReloadResync> resyncs;
  std::vector<std::string> notes;  // what else an operator should know

  // One line for the log and the event: what is added (and copied from where), removed
  // and changed; "the config file has not changed" when nothing is.
  std::string Describe() const;
  // Admin.ReloadConfig's answer.
  void Fill(bool applied, v1::ReloadConfigResponse* out) const;
};

}  // namespace sluice::daemon
