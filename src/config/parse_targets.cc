// [[target]]: the keys every target has, and those whose meaning depends on the role.
#include <limits>
#include <map>

#include <fmt/format.h>

#include "config/conninfo.h"
#include "config/parser.h"
#include "config/text.h"

namespace sluice::config::internal {

void Parser::ReadTargets(const toml::table& root) {
  std::vector<const toml::table*> tables = SectionArray(root, "target", "target");
  std::map<std::string, uint32_t, std::less<>> seen;  // name -> line
  for (size_t i = 0; i < tables.size(); ++i) {
    TableReader r(&diag_, *tables[i], fmt::format("target #{}", i + 1), kTargetKeys);
    TargetConfig t;
    TargetSource src;
    t.line = static_cast<int>(tables[i]->source().begin.line);
    src.table = r.TableAt();
    if (auto name = r.String("name")) {
      t.name = *name;
      src.name = r.KeyAt("name");
      if (!IsValidName(*name)) {
        r.ErrorAtValue("name", fmt::format("invalid target name \"{}\": {}", *name, kNameRules));
      } else {
        r.set_context(fmt::format("target '{}'", *name));
        auto [it, inserted] = seen.emplace(*name, src.name.begin.line);
        if (!inserted) {
          diag_.Error(src.name, "",
                      fmt::format("duplicate target name '{}' (first defined at line {})", *name,
                                  it->second));
        }
      }
    } else if (!r.Has("name")) {
      r.Missing("name");
    }

    std::optional<TargetRole> role = r.Enum<TargetRole>("role", {{"primary", TargetRole::kPrimary},
                                                                 {"replica", TargetRole::kReplica},
                                                                 {"oneway", TargetRole::kOneway}});
    if (role) {
      t.role = *role;
    } else if (!r.Has("role")) {
      r.Missing("role", "\"primary\" (can become active), \"replica\" or \"oneway\"");
    }

    if (auto dialect = r.Enum<Dialect>(
            "driver", {{"sqlite", Dialect::kSqlite}, {"postgres", Dialect::kPostgres}})) {
      t.dialect = *dialect;
    } else if (!r.Has("driver")) {
      r.Missing("driver", "\"sqlite\" or \"postgres\"");
    }

    if (role) {
      ReadTargetRoleKeys(r, t, src);
      t.retention_policy =
          t.role == TargetRole::kPrimary ? RetentionPolicy::kHold : RetentionPolicy::kDetach;
    }
    if (auto v = r.Size("retention_budget")) t.retention_budget = *v;
    src.retention_budget = r.ValueAt("retention_budget");
    if (auto v = r.Enum<RetentionPolicy>(
            "retention_policy",
            {{"hold", RetentionPolicy::kHold}, {"detach", RetentionPolicy::kDetach}})) {
      t.retention_policy = *v;
    }
    if (auto v = r.Bool("enabled")) t.enabled = *v;
    r.CheckUnknownKeys();
    config_.targets.push_back(std::move(t));
    target_src_.push_back(src);
  }
  if (tables.empty()) {
    constexpr std::string_view kNone =
        "no [[target]] is defined: at least one primary target is required";
    if (!root.contains("target")) {
      diag_.FileError(kNone);
    } else if (IsEmptyArray(root, "target")) {
      diag_.Error(root.find("target")->first.source(), "", kNone);
    }
  }
}

void Parser::ReadTargetRoleKeys(TableReader& r, TargetConfig& t, TargetSource& src) {
  const std::string_view role = TargetRoleName(t.role);
  if (t.role == TargetRole::kPrimary) {
    if (auto v = r.Integer("priority", std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max())) {
      t.priority = static_cast<int>(*v);
      src.priority = r.ValueAt("priority");
    } else if (!r.Has("priority")) {
      r.Missing("priority",
                "a primary target needs one; the highest reachable primary "
                "becomes active");
    }
  } else if (r.Has("priority")) {
    r.Error(r.KeyAt("priority"),
            fmt::format("'priority' applies only to primary targets; a {} target never "
                        "becomes active",
                        role));
  }

  if (t.role == TargetRole::kOneway) {
    if (r.Has("connection")) {
      r.Error(r.KeyAt("connection"),
              "a oneway target has no 'connection': the receiver beyond the isolation "
              "device writes the database; set 'transport' and 'destination'");
    }
    std::optional<OnewayTransport> transport = r.Enum<OnewayTransport>(
        "transport", {{"dir", OnewayTransport::kDir}, {"udp", OnewayTransport::kUdp}});
    if (transport) {
      t.transport = *transport;
    } else if (!r.Has("transport")) {
      r.Missing("transport", "\"dir\" or \"udp\"");
    }
    std::optional<std::string> destination = r.String("destination");
    if (!destination) {
      if (!r.Has("destination")) {
        r.Missing("destination", "a directory for \"dir\", host:port for \"udp\"");
      }
    } else if (destination->empty()) {
      r.ErrorAtValue("destination", "'destination' must not be empty");
    } else if (transport == OnewayTransport::kUdp) {
      Result<ListenAddress> address = ParseListenAddress(*destination);
      if (!address.ok()) {
        r.ErrorAtValue("destination", fmt::format("'destination': {}", address.status().message()));
      }
      t.destination = *destination;
    } else {
      t.destination = Resolve(*destination);
    }
    src.connection = r.ValueAt("destination");
    return;
  }

  for (std::string_view key : {"transport", "destination"}) {
    if (r.Has(key)) {
      r.Error(r.KeyAt(key), fmt::format("'{}' applies only to oneway targets", key));
    }
  }
  std::optional<std::string> connection = r.String("connection");
  src.connection = r.ValueAt("connection");
  if (!connection) {
    if (!r.Has("connection")) {
      r.Missing("connection", "SQLite: a file path; PostgreSQL: a libpq conninfo");
    }
    return;
  }
  if (t.dialect == Dialect::kSqlite) {
    if (IsBlank(*connection) || *connection == ":memory:" || connection->starts_with("file:")) {
      r.ErrorAtValue("connection",
                     fmt::format("'connection' of a SQLite target must be a file path, not "
                                 "\"{}\"",
                                 *connection));
    }
    t.connection = *connection;  // resolved against data_dir in CrossCheck
  } else {
    bool has_password = false;
    if (auto problem = CheckConninfo(*connection, &has_password)) {
      r.ErrorAtValue("connection",
                     fmt::format("'connection' is not a libpq conninfo (\"host=... dbname=...\" "
                                 "or \"postgresql://...\"): {}",
                                 *problem));
    } else if (has_password) {
      r.Warning(src.connection,
                "the connection holds a password in the config file; prefer a passfile "
                "(~/.pgpass or passfile=...)");
    }
    t.connection = *connection;
  }
}

}  // namespace sluice::config::internal
