// The checks between sections, made once every section is individually valid: journal
// sizes against limits, stream reservations against the budget, targets against each
// other, authentication against the listen addresses.
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/parser.h"
#include "config/text.h"

namespace sluice::config::internal {

void Parser::CrossCheck() {
  CheckJournalSizes();
  CheckStreams();
  CheckTargets();
  CheckAuth();
  CheckSampling();
  CheckHttp();
}

void Parser::CheckSampling() {
  SamplingConfig& s = config_.sampling;
  if (!s.enabled || config_.FindStream(s.stream) != nullptr) return;
  const std::string message = fmt::format(
      "[sampling] journals sampled records in stream '{}', which is not defined; define it with "
      "[[stream]], name another 'stream', or set enabled = false",
      s.stream);
  if (sampling_stream_at_) {
    diag_.Error(*sampling_stream_at_, "[sampling]", message);
  } else if (sampling_at_) {
    diag_.Error(*sampling_at_, "[sampling]", message);
  } else {
    // No [sampling] table: a config written before the sampler existed, with streams of
    // its own. It keeps working, the sampler off, and says so at every start.
    s.enabled = false;
    diag_.FileWarning(fmt::format(
        "the sampler is off: its records go to stream '{}', which is not defined; add that [[stream]] "
        "or a [sampling] table naming another stream",
        s.stream));
  }
}

void Parser::CheckJournalSizes() {
  const JournalConfig& j = config_.journal;
  const LimitsConfig& l = config_.limits;
  if (j.max_record_size > j.segment_size) {
    diag_.Error(max_record_size_at_ ? *max_record_size_at_ : segment_size_at_, "[journal]",
                fmt::format("'max_record_size' {} is larger than 'segment_size' {}; a segment "
                            "must hold at least one record",
                            FormatSize(j.max_record_size), FormatSize(j.segment_size)));
  }
  // A value in a request must fit in one journal record, and a request must be able to
  // carry the largest record.
  auto at_or = [&](const std::optional<toml::source_region>& a,
                   const std::optional<toml::source_region>& b) {
    return a ? *a : b ? *b : toml::source_region{};
  };
  if (l.max_lob_size > j.max_record_size) {
    diag_.Error(at_or(max_lob_size_at_, max_record_size_at_), "",
                fmt::format("[limits] 'max_lob_size' {} is larger than [journal] "
                            "'max_record_size' {}: such a value could never be journaled",
                            FormatSize(l.max_lob_size), FormatSize(j.max_record_size)));
  }
  if (l.max_string_length > j.max_record_size) {
    diag_.Error(at_or(max_string_length_at_, max_record_size_at_), "",
                fmt::format("[limits] 'max_string_length' {} is larger than [journal] "
                            "'max_record_size' {}",
                            l.max_string_length, FormatSize(j.max_record_size)));
  }
  if (l.max_message_size < j.max_record_size) {
    diag_.Error(at_or(max_message_size_at_, max_record_size_at_), "",
                fmt::format("[limits] 'max_message_size' {} is smaller than [journal] "
                            "'max_record_size' {}: the largest record could not be sent",
                            FormatSize(l.max_message_size), FormatSize(j.max_record_size)));
  }
}

void Parser::CheckStreams() {
  const JournalConfig& j = config_.journal;
  if (first_stream_at_ && config_.FindStream("model") == nullptr) {
    diag_.Error(*first_stream_at_, "",
                "the [[stream]] tables do not define stream 'model': synchronous writes "
                "(SQL, model updates) and switch markers are journaled in it; add a "
                "[[stream]] with name = \"model\" (or remove every [[stream]] to use the "
                "standard streams)");
  }
  if (j.budget == 0) return;
  uint64_t total = 0;
  std::vector<std::string> parts;
  for (const StreamConfig& s : config_.streams) {
    total += s.reserved;
    parts.push_back(fmt::format("{} {}", s.name, FormatSize(s.reserved)));
  }
  if (total > j.budget) {
    diag_.Error(*budget_at_, "[journal]",
                fmt::format("the streams reserve {} in total ({}), more than 'budget' {}; "
                            "lower their 'reserved' shares or raise the budget",
                            FormatSize(total), fmt::join(parts, ", "), FormatSize(j.budget)));
  }
}

void Parser::CheckTargets() {
  std::vector<TargetConfig>& targets = config_.targets;
  if (targets.empty()) return;
  const uint64_t budget = config_.journal.budget;
  std::map<int, size_t> priorities;                            // priority -> target index
  std::map<std::pair<int, std::string>, size_t> destinations;  // (kind, where) -> index
  bool any_primary = false, any_enabled_primary = false;
  for (size_t i = 0; i < targets.size(); ++i) {
    TargetConfig& t = targets[i];
    const TargetSource& src = target_src_[i];
    const std::string context = fmt::format("target '{}'", t.name);
    if (t.role == TargetRole::kPrimary) {
      any_primary = true;
      any_enabled_primary |= t.enabled;
      auto [it, inserted] = priorities.emplace(t.priority, i);
      if (!inserted) {
        const TargetConfig& first = targets[it->second];
        diag_.Error(src.priority, context,
                    fmt::format("priority {} is already used by primary target '{}' (line "
                                "{}); primaries need distinct priorities so the order of "
                                "failover is unambiguous",
                                t.priority, first.name, target_src_[it->second].name.begin.line));
      }
    }
    // Two targets on one database would share watermark rows and node claims.
    std::string where;
    int kind = 0;
    if (t.role == TargetRole::kOneway) {
      kind = 10 + static_cast<int>(t.transport);
      where = t.destination;
    } else if (t.dialect == Dialect::kSqlite) {
      t.connection = t.connection.front() == '/'
                         ? NormalPath(t.connection)
                         : NormalPath(std::filesystem::path(config_.node.data_dir) / t.connection);
      where = t.connection;
    } else {
      kind = 1;
      where = t.connection;
    }
    auto [it, inserted] = destinations.emplace(std::pair(kind, where), i);
    if (!inserted) {
      const TargetConfig& first = targets[it->second];
      diag_.Error(src.connection, context,
                  fmt::format("uses the same {} as target '{}' (line {}): every target must "
                              "be a database of its own",
                              t.role == TargetRole::kOneway ? "destination" : "database",
                              first.name, target_src_[it->second].name.begin.line));
    }
    if (budget != 0 && t.retention_budget > budget) {
      diag_.Error(src.retention_budget, context,
                  fmt::format("'retention_budget' {} is larger than the journal's 'budget' "
                              "{}: the journal would fill before this target's budget "
                              "applies",
                              FormatSize(t.retention_budget), FormatSize(budget)));
    }
  }
  if (!any_primary) {
    diag_.Error(target_src_.front().table, "",
                "no primary target: at least one [[target]] needs role = \"primary\"; reads "
                "and synchronous writes are served by the active primary");
  } else if (!any_enabled_primary) {
    diag_.Warning(target_src_.front().table, "",
                  "every primary target is disabled: the service starts isolated and "
                  "synchronous calls are refused until one is enabled");
  }
}

void Parser::CheckAuth() {
  const AuthConfig& auth = config_.auth;
  const NodeConfig& node = config_.node;
  for (size_t i = 0; i < node.listen.size(); ++i) {
    const ListenAddress& a = node.listen[i];
    const toml::source_region at = i < listen_at_.size() ? listen_at_[i] : toml::source_region{};
    if (!auth.required && !a.IsLoopback()) {
      diag_.Error(*auth_required_at_, "[auth]",
                  fmt::format("'required' = false is allowed only when sluiced listens on "
                              "loopback, but [node] listen has \"{}\" (line {}): anyone who "
                              "can reach that address could write history, run SQL and "
                              "administer the service; define [[auth.token]] entries and "
                              "remove 'required', or listen on 127.0.0.1 only",
                              a.ToString(), at.begin.line));
    }
    if (!a.IsLoopback() && !config_.tls.enabled()) {
      diag_.Warning(at, "[node]",
                    fmt::format("listening on {} without [tls]: tokens and data cross the "
                                "network in clear text",
                                a.ToString()));
    }
  }
  if (!auth.required) {
    diag_.Warning(*auth_required_at_, "[auth]",
                  "authentication is off: any local user can write history, run SQL and "
                  "administer the service");
    return;
  }
  if (auth.tokens.empty()) {
    const std::string message =
        "authentication is required (the default) but no [[auth.token]] is defined, so no "
        "client could connect; add tokens, or set [auth] required = false (allowed only "
        "when listening on loopback)";
    if (auth_at_) {
      diag_.Error(*auth_at_, "[auth]", message);
    } else {
      diag_.FileError(message);
    }
    return;
  }
  bool any_admin = false;
  for (const TokenConfig& t : auth.tokens) any_admin |= t.HasRole(TokenRole::kAdmin);
  if (!any_admin) {
    diag_.Warning(auth_at_ ? *auth_at_ : toml::source_region{}, "[auth]",
                  "no token has the \"admin\" role: `sluice` status, switch, target and "
                  "error-log commands will be refused");
  }
}

}  // namespace sluice::config::internal
