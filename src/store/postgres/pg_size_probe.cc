#include "store/postgres/pg_size_probe.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace sluice::store::postgres {
namespace {

// pg_database_size counts the database's files in every tablespace already; the
// tablespaces its relations use (other than the default) are named in the detail with
// their whole size, which other databases may share.
constexpr char kDatabaseSizeSql[] =
    "SELECT pg_database_size(current_database()), "
    "coalesce((SELECT string_agg(t.spcname || ' ' || pg_size_pretty(pg_tablespace_size(t.oid)), "
    "', ' ORDER BY t.spcname) FROM pg_tablespace t WHERE t.oid IN (SELECT DISTINCT "
    "reltablespace FROM pg_class WHERE reltablespace <> 0)), '')";

// The statistics' live tuples of the table, or of its partitions when it is partitioned
// (the parent holds none): no scan. NULL when there is no such table.
constexpr char kRowsSql[] =
    "SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE coalesce((SELECT "
    "sum(s.n_live_tup) FROM pg_stat_user_tables s WHERE s.relid = to_regclass($1) OR s.relid "
    "IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass($1))), 0)::bigint END";

}  // namespace

Status PgSizeProbe::Connect(std::chrono::milliseconds timeout) {
  if (conn_ != nullptr && (timeout != timeout_ || conn_->broken())) conn_.reset();
  if (conn_ != nullptr) return Status::OK();
  ConnOptions o;
  o.conninfo = conninfo_;
  o.application_name = "sluice-size-probe";
  o.connect_timeout = timeout;
  o.io_timeout = timeout;
  o.tcp_user_timeout_ms = static_cast<int>(std::max<int64_t>(1000, timeout.count()));
  auto conn = PgConn::Open(o, name_);
  if (!conn.ok()) return conn.status();
  conn_ = std::move(conn).value();
  timeout_ = timeout;
  // The server cancels a statement that takes longer than we wait for it.
  auto set = conn_->Exec(fmt::format("SET statement_timeout = {}", timeout.count()),
                         "size probe: setting statement_timeout");
  if (!set.ok()) {
    conn_.reset();
    return set.status();
  }
  return Status::OK();
}

Result<PgResult> PgSizeProbe::Run(std::string_view sql, const Params& params,
                                  std::string_view context) {
  auto r = conn_->ExecParams(sql, params, context);
  if (!r.ok()) conn_.reset();
  return r;
}

Result<DatabaseSize> PgSizeProbe::MeasureDatabase(std::chrono::milliseconds timeout) {
  if (Status s = Connect(timeout); !s.ok()) return s;
  auto r = Run(kDatabaseSizeSql, Params{}, "size probe: pg_database_size");
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) != 1) {
    return Status::Internal(
        fmt::format("target '{}': pg_database_size returned {} rows", name_, PQntuples(r->get())));
  }
  DatabaseSize out;
  out.bytes = std::strtoull(PQgetvalue(r->get(), 0, 0), nullptr, 10);
  const std::string tablespaces = PQgetvalue(r->get(), 0, 1);
  if (!tablespaces.empty()) out.detail = "tablespaces: " + tablespaces;
  return out;
}

Result<uint64_t> PgSizeProbe::CountRows(const std::string& table,
                                        std::chrono::milliseconds timeout) {
  if (Status s = Connect(timeout); !s.ok()) return s;
  Params p;
  p.Add(kTextOid, table);
  auto r = Run(kRowsSql, p, fmt::format("size probe: rows of '{}'", table));
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) != 1 || PQgetisnull(r->get(), 0, 0)) {
    return Status::NotFound(fmt::format("target '{}' has no table '{}'", name_, table));
  }
  return static_cast<uint64_t>(std::strtoull(PQgetvalue(r->get(), 0, 0), nullptr, 10));
}

}  // namespace sluice::store::postgres
